/**
 * The task table of a TaskShard and its state machine (synchronous SQL, so each change is atomic
 * inside the object): QUEUED → RUNNING → SUCCEEDED | RETRYING → RUNNING … | DEAD, and DEAD →
 * QUEUED on a manual retry. Every live row holds a lease (`lease_until`); the object's alarm
 * re-sends a row whose lease ran out. A message is for one attempt; once that attempt started,
 * the same message again is stale.
 */
import { HANDOFF_MS } from "../../config.js";
import { nextDelaySeconds } from "../../domain/backoff.js";
import { hash32 } from "../../domain/ids.js";
import type { TraceContext } from "../../domain/trace.js";
import type { Priority, TaskStatus } from "../../schemas/task.js";
import { isLive, type PendingEvent, type TaskOutcome, type TaskRow } from "./sql.js";

export const NO_WORKER = "no worker serves this task type";
/** Extra lease past an attempt's timeout before the alarm treats the attempt as lost. */
export const RUNNING_GRACE_MS = 30_000;

export interface NewTask {
  id: string;
  type: string;
  priority: Priority;
  dataText: string;
  maxAttempts: number;
  backoffMs: number;
  timeoutMs: number;
  onComplete: boolean;
  delaySeconds: number;
  trace: TraceContext;
}

interface Failure {
  error: string;
  waiting: boolean;
  statusCode?: number;
  retryAfter?: string | null;
  /** Overrides the backoff (0 after a lost attempt: its lease already waited). */
  delaySeconds?: number;
}

export class TaskStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly random: () => number = Math.random,
  ) {}

  get(id: string): TaskRow | undefined {
    return this.sql.exec<TaskRow>("SELECT * FROM tasks WHERE id = ?", id).toArray()[0];
  }

  insert(t: NewTask, now: number): TaskRow {
    const due = now + t.delaySeconds * 1000;
    this.sql.exec(
      `INSERT INTO tasks (id, type, priority, status, data, attempts, run_base, runs, max_attempts, backoff_ms,
         timeout_ms, on_complete, waiting, lease_until, next_attempt_at, created_at, updated_at, trace)
         VALUES (?, ?, ?, 'QUEUED', ?, 0, 0, 1, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
      t.id,
      t.type,
      t.priority,
      t.dataText,
      t.maxAttempts,
      t.backoffMs,
      t.timeoutMs,
      t.onComplete ? 1 : 0,
      due + HANDOFF_MS,
      due,
      now,
      now,
      JSON.stringify(t.trace),
    );
    return this.get(t.id) as TaskRow;
  }

  list(filter: { status?: TaskStatus; type?: string; limit: number }): TaskRow[] {
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (filter.status) {
      where.push("status = ?");
      args.push(filter.status);
    }
    if (filter.type) {
      where.push("type = ?");
      args.push(filter.type);
    }
    const cond = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    return this.sql.exec<TaskRow>(`SELECT * FROM tasks ${cond} ORDER BY created_at DESC, id LIMIT ?`, ...args, filter.limit).toArray();
  }

  /** DEAD → QUEUED for another run of `max_attempts` attempts; attempt numbers keep counting. */
  requeue(id: string, now: number): TaskRow {
    this.sql.exec(
      `UPDATE tasks SET status = 'QUEUED', run_base = attempts, runs = runs + 1, waiting = 0, result = NULL,
         error = NULL, started_at = NULL, finished_at = NULL, next_attempt_at = ?, lease_until = ?, updated_at = ?
         WHERE id = ?`,
      now,
      now + HANDOFF_MS,
      now,
      id,
    );
    return this.get(id) as TaskRow;
  }

  /** The row if a message for `attempt` may run now, else undefined (settled, or already started). */
  runnable(id: string, attempt: number): TaskRow | undefined {
    const row = this.get(id);
    if (!row || !isLive(row.status) || row.attempts >= attempt) return undefined;
    if (attempt - row.run_base > row.max_attempts) return undefined;
    return row;
  }

  begin(row: TaskRow, attempt: number, worker: { id: string; name: string }, now: number): void {
    this.sql.exec(
      `UPDATE tasks SET status = 'RUNNING', attempts = ?, waiting = 0, worker_id = ?, worker = ?,
         started_at = coalesce(started_at, ?), lease_until = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?`,
      attempt,
      worker.id,
      worker.name,
      now,
      now + row.timeout_ms + RUNNING_GRACE_MS,
      now,
      row.id,
    );
  }

  /** Applies an attempt's outcome; null when it no longer applies (a newer attempt owns the row). */
  finish(id: string, attempt: number, outcome: TaskOutcome, now: number): TaskRow | null {
    const row = this.get(id);
    if (!row || row.attempts !== attempt) return null;
    const accepts = row.status === "RUNNING" || (outcome.ok && row.status === "RETRYING");
    if (!accepts) return null;
    if (outcome.ok) return this.succeed(row, outcome.resultText ?? "null", now);
    return this.fail(
      row,
      attempt,
      {
        error: outcome.error ?? "attempt failed",
        waiting: false,
        ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
        retryAfter: outcome.retryAfter ?? null,
      },
      now,
    );
  }

  /** Attempt `attempt` found no worker for the type: it counts, and the task waits (QUEUED). */
  noWorker(row: TaskRow, attempt: number, now: number): TaskRow {
    this.sql.exec("UPDATE tasks SET attempts = ?, worker_id = NULL, worker = NULL WHERE id = ?", attempt, row.id);
    return this.fail({ ...row, attempts: attempt }, attempt, { error: NO_WORKER, waiting: true }, now);
  }

  /** The alarm found a RUNNING row past its lease: the attempt's outcome never came back. */
  lost(row: TaskRow, now: number): TaskRow {
    const error = `attempt ${row.attempts} got no outcome within ${Math.round((row.timeout_ms + RUNNING_GRACE_MS) / 1000)} s`;
    return this.fail(row, row.attempts, { error, waiting: false, delaySeconds: 0 }, now);
  }

  private succeed(row: TaskRow, resultText: string, now: number): TaskRow {
    const event = row.on_complete === 1 ? this.completion(row, "task.succeeded", { result: JSON.parse(resultText) as unknown }) : null;
    this.sql.exec(
      `UPDATE tasks SET status = 'SUCCEEDED', result = ?, error = NULL, waiting = 0, lease_until = NULL,
         next_attempt_at = NULL, finished_at = ?, pending_event = coalesce(?, pending_event), updated_at = ? WHERE id = ?`,
      resultText,
      now,
      event,
      now,
      row.id,
    );
    return this.get(row.id) as TaskRow;
  }

  private fail(row: TaskRow, attempt: number, f: Failure, now: number): TaskRow {
    if (attempt - row.run_base >= row.max_attempts) {
      const event = row.on_complete === 1 ? this.completion({ ...row, attempts: attempt }, "task.failed", { error: f.error }) : null;
      this.sql.exec(
        `UPDATE tasks SET status = 'DEAD', error = ?, waiting = ?, lease_until = NULL, next_attempt_at = NULL,
           finished_at = ?, pending_event = coalesce(?, pending_event), updated_at = ? WHERE id = ?`,
        f.error,
        f.waiting ? 1 : 0,
        now,
        event,
        now,
        row.id,
      );
      return this.get(row.id) as TaskRow;
    }
    const delay =
      f.delaySeconds ??
      nextDelaySeconds({
        attempt: attempt - row.run_base,
        policy: { backoffMs: row.backoff_ms },
        ...(f.statusCode !== undefined ? { status: f.statusCode } : {}),
        retryAfter: f.retryAfter ?? null,
        nowMs: now,
        random: this.random,
      });
    const due = now + delay * 1000;
    this.sql.exec(
      `UPDATE tasks SET status = ?, error = ?, waiting = ?, next_attempt_at = ?, lease_until = ?, updated_at = ? WHERE id = ?`,
      f.waiting ? "QUEUED" : "RETRYING",
      f.error,
      f.waiting ? 1 : 0,
      due,
      due + HANDOFF_MS,
      now,
      row.id,
    );
    return this.get(row.id) as TaskRow;
  }

  /** The completion event, written with the state change so that it is published at least once. */
  private completion(row: TaskRow, type: PendingEvent["type"], outcome: Record<string, unknown>): string {
    const event: PendingEvent = {
      id: `${eventIdBase(row.id)}.run${row.runs}.${type === "task.succeeded" ? "succeeded" : "failed"}`,
      type,
      data: {
        taskId: row.id,
        type: row.type,
        status: type === "task.succeeded" ? "SUCCEEDED" : "DEAD",
        ...outcome,
        attempts: row.attempts,
      },
    };
    return JSON.stringify(event);
  }

  // --- what the alarm and the dispatcher need ---

  /** Live rows whose lease ran out (oldest first). */
  expired(now: number, limit: number): TaskRow[] {
    return this.sql.exec<TaskRow>("SELECT * FROM tasks WHERE lease_until <= ? ORDER BY lease_until LIMIT ?", now, limit).toArray();
  }

  setLease(ids: readonly string[], until: (id: string) => number): void {
    for (const id of ids) this.sql.exec("UPDATE tasks SET lease_until = ? WHERE id = ? AND lease_until IS NOT NULL", until(id), id);
  }

  /** Tasks waiting for a worker (a newly registered one may serve them). */
  waiting(limit: number): TaskRow[] {
    return this.sql.exec<TaskRow>("SELECT * FROM tasks WHERE status = 'QUEUED' AND waiting = 1 LIMIT ?", limit).toArray();
  }

  makeDue(id: string, now: number): void {
    this.sql.exec("UPDATE tasks SET next_attempt_at = ?, lease_until = ? WHERE id = ?", now, now + HANDOFF_MS, id);
  }

  pendingEvents(limit: number): Array<{ id: string; pending_event: string }> {
    return this.sql
      .exec<{ id: string; pending_event: string }>("SELECT id, pending_event FROM tasks WHERE pending_event IS NOT NULL LIMIT ?", limit)
      .toArray();
  }

  clearEvent(id: string, json: string): void {
    this.sql.exec("UPDATE tasks SET pending_event = NULL WHERE id = ? AND pending_event = ?", id, json);
  }

  nextLease(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT min(lease_until) AS t FROM tasks").one().t;
  }

  liveCounts(): Record<Priority, number> {
    const out: Record<Priority, number> = { high: 0, normal: 0, low: 0 };
    const rows = this.sql.exec<{ priority: Priority; n: number }>(
      "SELECT priority, count(*) AS n FROM tasks WHERE lease_until IS NOT NULL GROUP BY priority",
    );
    for (const r of rows) out[r.priority] = r.n;
    return out;
  }

  /** How many tasks this shard holds in each status (settled ones until they are pruned). */
  statusCounts(): Partial<Record<TaskStatus, number>> {
    const out: Partial<Record<TaskStatus, number>> = {};
    for (const r of this.sql.exec<{ status: TaskStatus; n: number }>("SELECT status, count(*) AS n FROM tasks GROUP BY status")) {
      out[r.status] = r.n;
    }
    return out;
  }

  /** Removes settled tasks finished before `cutoff` whose completion event is out. */
  prune(cutoff: number): void {
    this.sql.exec("DELETE FROM tasks WHERE lease_until IS NULL AND finished_at < ? AND pending_event IS NULL", cutoff);
  }

  oldestFinished(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT min(finished_at) AS t FROM tasks WHERE lease_until IS NULL").one().t;
  }
}

/** Keeps a completion event's id within the 256-character id rule (a long task id is cut and hashed). */
function eventIdBase(id: string): string {
  return id.length <= 200 ? id : `${id.slice(0, 190)}~${hash32(id).toString(36)}`;
}
