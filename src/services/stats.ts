/**
 * GET /stats: the tenant's figures, each from where it is cheapest to know exactly or nearly so.
 * - events: the tenant's Directory object (one call). Partitions count the events they accept
 *   and report them per second at most every STATS_FLUSH_MS, so the counts trail by about 5 s.
 * - deliveries: one call per subscription's Endpoint object (at most 1,000, ENDPOINT_FANOUT at a
 *   time), each counting its delivery log, backlog and mailbox in SQL.
 * - tasks: one call per TaskShard (16), each a GROUP BY status: exact, and the task state machine
 *   stays as it is (counters kept at every transition would have to be moved by each of its
 *   paths and could drift; TaskStats' backlog is approximate by design).
 * - cache: the Directory object too, which isolates report their hits and misses to
 *   (cache-reads.ts), so the figures trail by about 5 s.
 */
import { directoryStub } from "../objects/directory/client.js";
import { COUNTER_WINDOW_S } from "../objects/directory/counters.js";
import { endpointStub } from "../objects/endpoint/client.js";
import { eachShard } from "../objects/task-shard/client.js";
import type { Stats } from "../schemas/stats.js";
import { TASK_STATUSES } from "../schemas/task.js";
import { tenantSubscriptions } from "./subscription-cache.js";

/** Endpoint objects asked at once (a tenant has at most 1,000 subscriptions). */
const ENDPOINT_FANOUT = 50;

export async function tenantStats(env: Env, tenantId: string): Promise<Stats> {
  const [activity, deliveries, tasks] = await Promise.all([
    directoryStub(env, tenantId).activity(),
    deliveryCounts(env, tenantId),
    taskCounts(env, tenantId),
  ]);
  const { hits, misses } = activity.cache;
  return {
    generatedAt: new Date().toISOString(),
    events: { ...activity.events, total: activity.sequenced, partitions: activity.partitions },
    subscriptions: deliveries.subscriptions,
    deliveries: { pending: deliveries.pending, failed: deliveries.failed, delivered: deliveries.delivered },
    tasks,
    cache: {
      hits,
      misses,
      hitRatio: hits + misses > 0 ? Math.round((hits / (hits + misses)) * 10_000) / 10_000 : null,
      windowSeconds: COUNTER_WINDOW_S,
    },
  };
}

async function deliveryCounts(env: Env, tenantId: string) {
  const ids = [...(await tenantSubscriptions(env, tenantId)).byId.keys()];
  const total = { subscriptions: ids.length, pending: 0, failed: 0, delivered: 0 };
  for (let at = 0; at < ids.length; at += ENDPOINT_FANOUT) {
    const counts = await Promise.all(ids.slice(at, at + ENDPOINT_FANOUT).map((id) => endpointStub(env, tenantId, id).counts()));
    for (const c of counts) {
      total.pending += c.pending;
      total.failed += c.failed;
      total.delivered += c.delivered;
    }
  }
  return total;
}

async function taskCounts(env: Env, tenantId: string): Promise<Stats["tasks"]> {
  const out = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Stats["tasks"];
  for (const shard of await eachShard(env, tenantId, (s) => s.statusCounts())) {
    for (const s of TASK_STATUSES) out[s] += shard[s] ?? 0;
  }
  return out;
}
