/** Where a tenant's task statistics live: one TaskStats object per tenant. */
export function statsStub(env: Env, tenantId: string) {
  return env.TASK_STATS.get(env.TASK_STATS.idFromName(tenantId));
}
