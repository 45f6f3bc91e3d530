/**
 * Directory Durable Object (one per tenant): the tenant's partitions, for GET /partitions and for
 * replays over a time range, and the tenant's activity counters behind GET /stats. It is kept off
 * the publish hot path: a partition registers itself once, without waiting for the answer, and
 * refreshes its last sequence and time lazily (at most about once a minute while it receives
 * events), so listed figures may trail by that much. The counters arrive in batches too: each
 * partition reports the events it accepted, per second, at most every STATS_FLUSH_MS, and each
 * isolate its cache reads at most as often (services/cache-reads.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { migrate } from "../kit/migrations.js";
import { COUNTER_MIGRATIONS, Counters, type TenantActivity } from "./counters.js";

const MIGRATIONS = [
  `CREATE TABLE partitions (partition_key TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, last_event_at INTEGER NOT NULL,
     registered_at INTEGER NOT NULL)`,
  ...COUNTER_MIGRATIONS,
];

export interface PartitionEntry {
  partitionKey: string;
  lastSequence: number;
  lastEventAt: string;
}

export class Directory extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly counters: Counters;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.counters = new Counters(this.sql);
    ctx.blockConcurrencyWhile(async () => migrate(this.sql, MIGRATIONS));
  }

  /** A partition reports itself (idempotent; figures only move forward). */
  report(partitionKey: string, lastSeq: number, lastEventAt: number): void {
    this.sql.exec(
      `INSERT INTO partitions (partition_key, last_seq, last_event_at, registered_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (partition_key) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq),
           last_event_at = MAX(last_event_at, excluded.last_event_at)`,
      partitionKey,
      lastSeq,
      lastEventAt,
      Date.now(),
    );
  }

  /** A partition's accepted events since its last report, as [unix second, count] pairs. */
  countEvents(perSecond: Array<[number, number]>): void {
    this.counters.add("events", perSecond, Date.now());
  }

  /** An isolate's cache reads since its last report (counted at the second they arrive). */
  countCacheReads(hits: number, misses: number): void {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    this.counters.add("cache_hit", hits > 0 ? [[second, hits]] : [], now);
    this.counters.add("cache_miss", misses > 0 ? [[second, misses]] : [], now);
  }

  /** The counters over their windows, and the partitions' totals as last reported. */
  activity(): TenantActivity & { partitions: number; sequenced: number } {
    const p = this.sql.exec<{ n: number; total: number | null }>("SELECT count(*) AS n, sum(last_seq) AS total FROM partitions").one();
    return { ...this.counters.read(Date.now()), partitions: p.n, sequenced: p.total ?? 0 };
  }

  /** Partitions in key order after `cursor` (exclusive); `nextCursor` is null on the last page. */
  list(cursor: string | undefined, limit: number): { partitions: PartitionEntry[]; nextCursor: string | null } {
    const rows = this.sql
      .exec<{ partition_key: string; last_seq: number; last_event_at: number }>(
        "SELECT partition_key, last_seq, last_event_at FROM partitions WHERE partition_key > ? ORDER BY partition_key LIMIT ?",
        cursor ?? "",
        limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit);
    return {
      partitions: page.map((r) => ({
        partitionKey: r.partition_key,
        lastSequence: r.last_seq,
        lastEventAt: new Date(r.last_event_at).toISOString(),
      })),
      nextCursor: rows.length > limit ? (page.at(-1)?.partition_key ?? null) : null,
    };
  }
}
