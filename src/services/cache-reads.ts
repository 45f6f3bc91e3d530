/**
 * Cache hits and misses for GET /stats, counted per isolate and per tenant and sent to the
 * tenant's Directory object at most every STATS_FLUSH_MS through `ctx.waitUntil`, so a cache read
 * never waits for a Durable Object: the first read after a quiet spell schedules one report for
 * STATS_FLUSH_MS after the previous one, and the reads in between join it. Counts an isolate has
 * not reported yet are lost if it is evicted first; a failed report is kept for the next one.
 */
import { STATS_FLUSH_MS } from "../config.js";
import { directoryStub } from "../objects/directory/client.js";

/** A scheduled report that has not run after this long was cancelled with its request: schedule anew. */
const STUCK_MS = 60_000;

interface Pending {
  hits: number;
  misses: number;
  /** When the scheduled report was set up (0: none is scheduled). */
  scheduledAt: number;
  reportedAt: number;
}

const pending = new Map<string, Pending>();

/** Records one read that answered `X-Cache-Status: HIT` (true) or `MISS` (false). */
export function countCacheRead(env: Env, ctx: Pick<ExecutionContext, "waitUntil">, tenantId: string, hit: boolean): void {
  let p = pending.get(tenantId);
  if (!p) {
    p = { hits: 0, misses: 0, scheduledAt: 0, reportedAt: 0 };
    pending.set(tenantId, p);
  }
  if (hit) p.hits += 1;
  else p.misses += 1;
  const now = Date.now();
  if (p.scheduledAt !== 0 && now - p.scheduledAt < STUCK_MS) return;
  p.scheduledAt = now;
  ctx.waitUntil(report(env, tenantId, p, Math.max(0, p.reportedAt + STATS_FLUSH_MS - now)));
}

async function report(env: Env, tenantId: string, p: Pending, delayMs: number): Promise<void> {
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  const { hits, misses } = p;
  p.hits = 0;
  p.misses = 0;
  p.scheduledAt = 0;
  p.reportedAt = Date.now();
  if (hits === 0 && misses === 0) return;
  try {
    await directoryStub(env, tenantId).countCacheReads(hits, misses);
  } catch (err) {
    p.hits += hits;
    p.misses += misses;
    console.warn(JSON.stringify({ level: "warn", message: "cache read count report failed", tenantId, error: String(err) }));
  }
}
