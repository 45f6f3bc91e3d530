import { objectId } from "../kit/object-id.js";

/** Where a webhook's delivery log and health live: one Endpoint object per subscription with a URL. */
export function endpointStub(env: Env, tenantId: string, subscriptionId: string) {
  return env.ENDPOINT.get(objectId(env.ENDPOINT, `${tenantId}/${subscriptionId}`));
}
