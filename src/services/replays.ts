/**
 * Replays — a subscription's stored events delivered again, as new deliveries with the same
 * event ids and `X-Replay-Id` — and the partition directory they walk.
 */

import { newId } from "../domain/ids.js";
import { AppError } from "../errors.js";
import { directoryStub } from "../objects/directory/client.js";
import { replayStub } from "../objects/replay/client.js";
import type { ReplayState } from "../objects/replay/object.js";
import { getSubscription } from "./subscriptions.js";

export interface ReplayInput {
  since: string;
  until?: string;
  partitionKey?: string;
  fromSequence?: number;
  toSequence?: number;
}

export async function startReplay(env: Env, tenantId: string, subscriptionId: string, input: ReplayInput): Promise<ReplayState> {
  const sub = await getSubscription(env, tenantId, subscriptionId);
  const replayId = newId("rpl");
  return replayStub(env, tenantId, replayId).start({
    tenantId,
    replayId,
    // Matched as the subscription is now (its current patterns and filter).
    subscription: {
      id: sub.id,
      name: sub.name,
      events: sub.events,
      routingKeys: sub.routingKeys,
      ordered: sub.ordering === "partition",
      ...(sub.filter !== undefined ? { filter: sub.filter } : {}),
    },
    since: Date.parse(input.since),
    until: input.until !== undefined ? Date.parse(input.until) : Date.now(),
    ...(input.partitionKey !== undefined ? { partitionKey: input.partitionKey } : {}),
    fromSequence: input.fromSequence ?? 0,
    toSequence: input.toSequence ?? Number.MAX_SAFE_INTEGER,
  });
}

export async function getReplay(env: Env, tenantId: string, replayId: string): Promise<ReplayState> {
  const state = await replayStub(env, tenantId, replayId).get(tenantId);
  if (!state) throw new AppError("NOT_FOUND", `No replay ${replayId}.`);
  return state;
}

export async function cancelReplay(env: Env, tenantId: string, replayId: string): Promise<ReplayState> {
  const state = await replayStub(env, tenantId, replayId).cancel(tenantId);
  if (!state) throw new AppError("NOT_FOUND", `No replay ${replayId}.`);
  return state;
}

export async function listPartitions(env: Env, tenantId: string, cursor: string | undefined, limit: number) {
  return directoryStub(env, tenantId).list(cursor, limit);
}
