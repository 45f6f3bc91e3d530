import { objectId } from "../kit/object-id.js";

/** Where a tenant's keys and configuration live: one Tenant object per tenant id. */
export function tenantStub(env: Env, tenantId: string) {
  return env.TENANT.get(objectId(env.TENANT, tenantId));
}
