/** Where a webhook's delivery log and health live: one Endpoint object per subscription with a URL. */
export function endpointStub(env: Env, tenantId: string, subscriptionId: string) {
  return env.ENDPOINT.get(env.ENDPOINT.idFromName(`${tenantId}/${subscriptionId}`));
}
