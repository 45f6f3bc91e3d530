/** Where a tenant's partition directory lives: one Directory object per tenant. */
export function directoryStub(env: Env, tenantId: string) {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName(tenantId));
}
