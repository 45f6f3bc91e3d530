/**
 * The TaskStats object's tables: the counts behind the task estimate (queues cannot be asked
 * for their depth): per priority the backlog of unfinished tasks
 * (+1 when accepted or re-queued, −n when consumers report them finished), and per task type a
 * moving average of processing time. The counts are approximate by design; the object's alarm
 * re-counts the backlog from the shards while it is not zero, so lost reports do not accumulate.
 */
import { ewma } from "../../domain/eta.js";
import { PRIORITIES, type Priority } from "../../schemas/task.js";
import { META_TABLE } from "../kit/meta.js";

export const MIGRATIONS = [
  META_TABLE,
  `CREATE TABLE stats_backlog (priority TEXT PRIMARY KEY, backlog INTEGER NOT NULL, enqueued INTEGER NOT NULL,
     finished INTEGER NOT NULL)`,
  "CREATE TABLE stats_types (type TEXT PRIMARY KEY, avg_ms REAL NOT NULL, samples INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
];

/** The stats' name for "all types" (never a valid task type). */
const ANY = "*";

export interface EstimateInputs {
  ahead: number;
  typeAvgMs: number | null;
  anyAvgMs: number | null;
}

/** What a consumer batch reports for one tenant. */
export interface StatsReport {
  finished: Partial<Record<Priority, number>>;
  /** Processing times (ms) of successful attempts, by task type. */
  samples: Record<string, number[]>;
}

export class StatsTables {
  constructor(private readonly sql: SqlStorage) {}

  /** The inputs for a task's estimate; `accepted` adds the task itself to its priority's backlog. */
  enqueue(priority: Priority, type: string, accepted: number): EstimateInputs {
    const ahead = this.backlog(priority);
    if (accepted > 0) {
      this.sql.exec(
        `INSERT INTO stats_backlog (priority, backlog, enqueued, finished) VALUES (?, ?, ?, 0)
           ON CONFLICT (priority) DO UPDATE SET backlog = backlog + excluded.backlog, enqueued = enqueued + excluded.enqueued`,
        priority,
        accepted,
        accepted,
      );
    }
    return { ahead, typeAvgMs: this.avg(type), anyAvgMs: this.avg(ANY) };
  }

  report(r: StatsReport, now: number): void {
    for (const priority of PRIORITIES) {
      const n = r.finished[priority] ?? 0;
      if (n <= 0) continue;
      this.sql.exec(
        `INSERT INTO stats_backlog (priority, backlog, enqueued, finished) VALUES (?, 0, 0, ?)
           ON CONFLICT (priority) DO UPDATE SET backlog = max(0, backlog - excluded.finished), finished = finished + excluded.finished`,
        priority,
        n,
      );
    }
    for (const [type, samples] of Object.entries(r.samples)) {
      for (const ms of samples) {
        this.sample(type, ms, now);
        this.sample(ANY, ms, now);
      }
    }
  }

  /** Replaces the backlog with a fresh count from the shards. */
  recount(counts: Record<Priority, number>): void {
    for (const priority of PRIORITIES) {
      this.sql.exec(
        `INSERT INTO stats_backlog (priority, backlog, enqueued, finished) VALUES (?, ?, 0, 0)
           ON CONFLICT (priority) DO UPDATE SET backlog = excluded.backlog`,
        priority,
        counts[priority],
      );
    }
  }

  totalBacklog(): number {
    return this.sql.exec<{ n: number | null }>("SELECT sum(backlog) AS n FROM stats_backlog").one().n ?? 0;
  }

  snapshot(): { backlog: Record<Priority, number>; types: Record<string, { avgMs: number; samples: number }> } {
    const backlog: Record<Priority, number> = { high: 0, normal: 0, low: 0 };
    for (const p of PRIORITIES) backlog[p] = this.backlog(p);
    const types: Record<string, { avgMs: number; samples: number }> = {};
    for (const r of this.sql.exec<{ type: string; avg_ms: number; samples: number }>("SELECT type, avg_ms, samples FROM stats_types")) {
      types[r.type] = { avgMs: Math.round(r.avg_ms), samples: r.samples };
    }
    return { backlog, types };
  }

  private backlog(priority: Priority): number {
    return this.sql.exec<{ backlog: number }>("SELECT backlog FROM stats_backlog WHERE priority = ?", priority).toArray()[0]?.backlog ?? 0;
  }

  private avg(type: string): number | null {
    return this.sql.exec<{ avg_ms: number }>("SELECT avg_ms FROM stats_types WHERE type = ?", type).toArray()[0]?.avg_ms ?? null;
  }

  private sample(type: string, ms: number, now: number): void {
    const next = ewma(this.avg(type), ms);
    this.sql.exec(
      `INSERT INTO stats_types (type, avg_ms, samples, updated_at) VALUES (?, ?, 1, ?)
         ON CONFLICT (type) DO UPDATE SET avg_ms = excluded.avg_ms, samples = samples + 1, updated_at = excluded.updated_at`,
      type,
      next,
      now,
    );
  }
}
