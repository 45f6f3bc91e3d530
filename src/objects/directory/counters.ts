/**
 * The Directory object's activity counters: per kind (accepted events, cache hits, cache misses)
 * one row per unix second that saw any, kept for COUNTER_WINDOW_S (an hour) and pruned as new
 * counts arrive, so a tenant has at most 3 × 3,600 rows however busy it is.
 */

export const COUNTER_MIGRATIONS = [
  "CREATE TABLE counters (kind TEXT NOT NULL, second INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, second))",
];

/** Counters older than this are dropped: "last hour" is the longest window GET /stats reports. */
export const COUNTER_WINDOW_S = 3_600;

export type CounterKind = "events" | "cache_hit" | "cache_miss";

export interface TenantActivity {
  events: { lastMinute: number; lastHour: number };
  cache: { hits: number; misses: number };
}

export class Counters {
  constructor(private readonly sql: SqlStorage) {}

  add(kind: CounterKind, perSecond: Array<[number, number]>, now: number): void {
    const oldest = Math.floor(now / 1000) - COUNTER_WINDOW_S;
    for (const [second, n] of perSecond) {
      if (!Number.isInteger(second) || !Number.isInteger(n) || n <= 0 || second <= oldest) continue;
      this.sql.exec(
        "INSERT INTO counters (kind, second, n) VALUES (?, ?, ?) ON CONFLICT (kind, second) DO UPDATE SET n = n + excluded.n",
        kind,
        second,
        n,
      );
    }
    this.sql.exec("DELETE FROM counters WHERE kind = ? AND second <= ?", kind, oldest);
  }

  /** Sums over the last 60 s and the last hour (the current second included). */
  read(now: number): TenantActivity {
    const second = Math.floor(now / 1000);
    const sum = (kind: CounterKind, seconds: number) =>
      this.sql.exec<{ n: number | null }>("SELECT sum(n) AS n FROM counters WHERE kind = ? AND second > ?", kind, second - seconds).one()
        .n ?? 0;
    return {
      events: { lastMinute: sum("events", 60), lastHour: sum("events", COUNTER_WINDOW_S) },
      cache: { hits: sum("cache_hit", COUNTER_WINDOW_S), misses: sum("cache_miss", COUNTER_WINDOW_S) },
    };
  }
}
