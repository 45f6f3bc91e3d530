import { objectId } from "../kit/object-id.js";

/** Where a tenant's partition directory lives: one Directory object per tenant. */
export function directoryStub(env: Env, tenantId: string) {
  return env.DIRECTORY.get(objectId(env.DIRECTORY, tenantId));
}
