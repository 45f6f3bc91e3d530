/**
 * What the cache could not do. KV allows one write per second per key and may refuse more (the
 * binding throws); a refused write never fails a request whose data lives elsewhere, so it is
 * logged as one JSON line (for Workers Logs / Logpush) and counted here, per isolate.
 */

export interface CacheCounters {
  /** KV puts and deletes that threw (rate limit, outage). */
  refusedWrites: number;
  /** Cache API operations that threw (the Cache API is best effort). */
  edgeErrors: number;
  /** Reads that threw and were answered as a miss. */
  readErrors: number;
}

const counters: CacheCounters = { refusedWrites: 0, edgeErrors: 0, readErrors: 0 };

export function cacheCounters(): Readonly<CacheCounters> {
  return { ...counters };
}

export function noteFailure(kind: keyof CacheCounters, detail: { op: string; tenantId: string; key: string; error: unknown }): void {
  counters[kind] += 1;
  console.warn(
    JSON.stringify({
      level: "warn",
      message:
        kind === "refusedWrites"
          ? "cache write refused by KV; the request goes on"
          : `cache ${kind === "edgeErrors" ? "edge" : "read"} error`,
      op: detail.op,
      tenantId: detail.tenantId,
      key: detail.key,
      error: String(detail.error),
      count: counters[kind],
    }),
  );
}
