/** Where a replay lives: one Replay object per replay, named by tenant and replay id. */
export function replayStub(env: Env, tenantId: string, replayId: string) {
  return env.REPLAY.get(env.REPLAY.idFromName(`${tenantId}/${replayId}`));
}
