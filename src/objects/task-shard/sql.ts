/**
 * The TaskShard object's SQL schema and row shapes (private to it and its tests). The `stats_*`
 * tables belonged to the stats role this class once also played; the TaskStats object has them now.
 */
import type { TraceContext } from "../../domain/trace.js";
import type { Priority, TaskState, TaskStatus } from "../../schemas/task.js";
import { META_TABLE } from "../kit/meta.js";

export const MIGRATIONS = [
  META_TABLE,
  `CREATE TABLE tasks (id TEXT PRIMARY KEY, type TEXT NOT NULL, priority TEXT NOT NULL, status TEXT NOT NULL,
     data TEXT NOT NULL, attempts INTEGER NOT NULL, run_base INTEGER NOT NULL, runs INTEGER NOT NULL,
     max_attempts INTEGER NOT NULL, backoff_ms INTEGER NOT NULL, timeout_ms INTEGER NOT NULL,
     on_complete INTEGER NOT NULL, waiting INTEGER NOT NULL, worker_id TEXT, worker TEXT, result TEXT,
     error TEXT, lease_until INTEGER, next_attempt_at INTEGER, pending_event TEXT,
     created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, updated_at INTEGER NOT NULL)`,
  "CREATE INDEX tasks_lease ON tasks (lease_until) WHERE lease_until IS NOT NULL",
  "CREATE INDEX tasks_created ON tasks (created_at)",
  "CREATE INDEX tasks_event ON tasks (id) WHERE pending_event IS NOT NULL",
  `CREATE TABLE stats_backlog (priority TEXT PRIMARY KEY, backlog INTEGER NOT NULL, enqueued INTEGER NOT NULL,
     finished INTEGER NOT NULL)`,
  "CREATE TABLE stats_types (type TEXT PRIMARY KEY, avg_ms REAL NOT NULL, samples INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
  "DROP TABLE stats_backlog",
  "DROP TABLE stats_types",
  // W3C trace context (JSON) the task was submitted with, or the trace it started.
  "ALTER TABLE tasks ADD COLUMN trace TEXT",
];

/** Statuses in which a task still has work ahead (it holds a lease). */
export const LIVE_STATUSES: readonly TaskStatus[] = ["QUEUED", "RUNNING", "RETRYING"];
export const isLive = (s: TaskStatus) => LIVE_STATUSES.includes(s);

export interface TaskRow {
  id: string;
  type: string;
  priority: Priority;
  status: TaskStatus;
  data: string;
  /** Attempts started over the task's whole life (numbering continues after a manual retry). */
  attempts: number;
  /** `attempts` when the current run began: this run's attempts are `attempts - run_base`. */
  run_base: number;
  runs: number;
  max_attempts: number;
  backoff_ms: number;
  timeout_ms: number;
  on_complete: number;
  /** 1 while the task waits because no worker serves its type. */
  waiting: number;
  worker_id: string | null;
  worker: string | null;
  result: string | null;
  error: string | null;
  /** Null once settled; else the time after which the alarm (re-)sends the next attempt. */
  lease_until: number | null;
  next_attempt_at: number | null;
  /** JSON of a completion event not yet published (PendingEvent). */
  pending_event: string | null;
  /** JSON of the task's TraceContext; null on tasks stored before trace context existed. */
  trace: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  [key: string]: SqlStorageValue;
}

export interface PendingEvent {
  id: string;
  type: "task.succeeded" | "task.failed";
  data: Record<string, unknown>;
}

export function toState(r: TaskRow, withData = false): TaskState {
  return {
    id: r.id,
    type: r.type,
    priority: r.priority,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    worker: r.worker,
    ...(withData ? { dataText: r.data } : {}),
    // Lists leave data and result out: 16 shards × 100 rows × 64 KiB would not fit an isolate.
    resultText: withData ? r.result : null,
    error: r.error,
    onComplete: r.on_complete === 1,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    nextAttemptAt: r.next_attempt_at,
  };
}

/** What beginAttempt hands the consumer: everything needed to POST the attempt. */
export interface BeganTask {
  id: string;
  type: string;
  priority: Priority;
  dataText: string;
  attempt: number;
  maxAttempts: number;
  timeoutMs: number;
  createdAt: number;
  /** Every dispatch is a new span of this trace. */
  trace: TraceContext;
}

/** An attempt's outcome as the consumer saw it. */
export interface TaskOutcome {
  ok: boolean;
  statusCode?: number;
  durationMs: number;
  error?: string;
  /** The 2xx body as JSON text (a non-JSON body is stored as a JSON string). */
  resultText?: string;
  retryAfter?: string | null;
}

/** What an RPC that moved a task reports back (the consumer batches it to the stats object). */
export interface Moved {
  status: TaskStatus;
  priority: Priority;
  type: string;
  durationMs: number;
}
