/**
 * TaskShard Durable Object (`${tenantId}/${n}`, tasks sharded by id): it holds task records and is their outbox: a task is written before the 202, handed to its priority's queue,
 * and its lease makes the alarm re-send it when the message was not taken or was lost, so an
 * accepted task never stays QUEUED. The consumer reports every attempt here; retries are sent
 * from here with their backoff as the message delay. A task with `onComplete` gets its
 * task.succeeded / task.failed event written with the final state and published from here (the
 * alarm retries, the partition dedupes by event id).
 */
import { DurableObject } from "cloudflare:workers";
import { settings } from "../../config.js";
import { matchPattern } from "../../domain/patterns.js";
import { type TraceContext, traceForId } from "../../domain/trace.js";
import { PRIORITIES, type Priority, type TaskMessage, type TaskState, type TaskStatus } from "../../schemas/task.js";
import { Alarm } from "../kit/alarm.js";
import { Meta } from "../kit/meta.js";
import { migrate } from "../kit/migrations.js";
import { sendInChunks } from "../kit/queue-send.js";
import { taskQueue } from "./client.js";
import { publishCompletions } from "./completions.js";
import { type BeganTask, isLive, MIGRATIONS, type Moved, type TaskOutcome, type TaskRow, toState } from "./sql.js";
import { type NewTask, TaskStore } from "./store.js";

/** Queues hold a delayed message for at most 12 h; a later attempt is sent by the alarm when due. */
const MAX_QUEUE_DELAY_S = 43_200;
const EVENT_RETRY_MS = 30_000;

export type RetryResult = { ok: true; value: TaskState } | { ok: false; code: "NOT_FOUND" | "INVALID_TRANSITION"; detail: string };

export class TaskShard extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly store: TaskStore;
  private readonly meta: Meta;
  private readonly timer: Alarm;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.store = new TaskStore(this.sql);
    this.meta = new Meta(this.sql);
    this.timer = new Alarm(ctx.storage);
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, MIGRATIONS);
      await this.timer.load();
    });
  }

  /** Stores a new task and hands it to its queue; an existing id returns the stored task. */
  async submit(tenantId: string, shard: number, task: NewTask): Promise<{ state: TaskState; created: boolean }> {
    this.identify(tenantId, shard);
    const existing = this.store.get(task.id);
    if (existing) return { state: toState(existing), created: false };
    const now = Date.now();
    const row = this.store.insert(task, now);
    await this.dispatch([row], now);
    return { state: toState(row), created: true };
  }

  getTask(id: string): TaskState | null {
    const row = this.store.get(id);
    return row ? toState(row, true) : null;
  }

  listTasks(filter: { status?: TaskStatus; type?: string; limit: number }): TaskState[] {
    return this.store.list(filter).map((r) => toState(r));
  }

  /** DEAD → QUEUED: another run of maxAttempts attempts. */
  async retryTask(id: string): Promise<RetryResult> {
    const row = this.store.get(id);
    if (!row) return { ok: false, code: "NOT_FOUND", detail: `No task ${id}.` };
    if (row.status !== "DEAD") {
      return { ok: false, code: "INVALID_TRANSITION", detail: `Task ${id} is ${row.status}; only a DEAD task can be retried.` };
    }
    const now = Date.now();
    const queued = this.store.requeue(id, now);
    await this.dispatch([queued], now);
    return { ok: true, value: toState(queued) };
  }

  /** Marks attempt `attempt` as started on `worker`; null when the message is stale. */
  async beginAttempt(id: string, attempt: number, worker: { id: string; name: string }): Promise<BeganTask | null> {
    const row = this.store.runnable(id, attempt);
    if (!row) return null;
    const now = Date.now();
    this.store.begin(row, attempt, worker, now);
    await this.timer.wakeBy(this.store.nextLease());
    return {
      id: row.id,
      type: row.type,
      priority: row.priority,
      dataText: row.data,
      attempt,
      maxAttempts: row.max_attempts,
      timeoutMs: row.timeout_ms,
      createdAt: row.created_at,
      trace: row.trace !== null ? (JSON.parse(row.trace) as TraceContext) : traceForId(`${this.meta.get("tenantId") ?? ""}/${row.id}`),
    };
  }

  /** Attempt `attempt` found no worker serving the type; null when the message is stale. */
  async recordNoWorker(id: string, attempt: number): Promise<Moved | null> {
    const row = this.store.runnable(id, attempt);
    if (!row) return null;
    return this.moved(this.store.noWorker(row, attempt, Date.now()), 0);
  }

  async recordOutcome(id: string, attempt: number, outcome: TaskOutcome): Promise<Moved | null> {
    const row = this.store.finish(id, attempt, outcome, Date.now());
    return row ? this.moved(row, outcome.durationMs) : null;
  }

  /** Sends the tasks waiting for a worker whose type one of `patterns` matches, now. */
  async wake(patterns: string[]): Promise<number> {
    const now = Date.now();
    const rows = this.store.waiting(1000).filter((r) => patterns.some((p) => matchPattern(p, r.type)));
    for (const r of rows) this.store.makeDue(r.id, now);
    if (rows.length > 0)
      await this.dispatch(
        rows.map((r) => this.store.get(r.id) as TaskRow),
        now,
      );
    return rows.length;
  }

  liveCounts(): Record<Priority, number> {
    return this.store.liveCounts();
  }

  /** Tasks per status in this shard, for GET /stats. */
  statusCounts(): Partial<Record<TaskStatus, number>> {
    return this.store.statusCounts();
  }

  private async moved(row: TaskRow, durationMs: number): Promise<Moved> {
    const now = Date.now();
    if (isLive(row.status)) await this.dispatch([row], now);
    if (row.pending_event !== null) await this.publishPending();
    return { status: row.status, priority: row.priority, type: row.type, durationMs };
  }

  /** Hands rows' next attempts to their queues; a row the queue took gets the full lease. */
  protected async dispatch(rows: TaskRow[], now: number): Promise<void> {
    // Armed before anything is awaited: a crash during sendBatch still wakes the shard.
    await this.timer.rearm(now, this.store.nextLease());
    const tenantId = this.meta.get("tenantId") ?? "";
    const shard = Number(this.meta.get("name") ?? "0");
    const leaseMs = settings(this.env).leaseMs;
    for (const priority of PRIORITIES) {
      const items = rows
        .filter((r) => r.priority === priority && r.lease_until !== null)
        .map((r) => ({ row: r, delaySeconds: Math.max(0, Math.ceil(((r.next_attempt_at ?? now) - now) / 1000)) }));
      // Too far out for a queue delay: the lease becomes the due time, and the alarm sends it then.
      const due = new Map(items.filter((i) => i.delaySeconds > MAX_QUEUE_DELAY_S).map((i) => [i.row.id, i.row.next_attempt_at ?? now]));
      this.store.setLease([...due.keys()], (id) => due.get(id) ?? now);
      const send = items.filter((i) => i.delaySeconds <= MAX_QUEUE_DELAY_S);
      await sendInChunks(
        send,
        (chunk) =>
          this.sendToQueue(
            priority,
            chunk.map((c) => ({ body: this.message(tenantId, shard, c.row), delaySeconds: c.delaySeconds })),
          ),
        (chunk) => {
          const until = new Map(chunk.map((c) => [c.row.id, now + c.delaySeconds * 1000 + leaseMs]));
          this.store.setLease([...until.keys()], (id) => until.get(id) ?? now + leaseMs);
        },
        "task",
      );
    }
    await this.timer.rearm(Date.now(), this.store.nextLease());
  }

  private message(tenantId: string, shard: number, r: TaskRow): TaskMessage {
    return {
      kind: "task",
      tenantId,
      shard,
      taskId: r.id,
      type: r.type,
      priority: r.priority,
      attempt: r.attempts + 1,
      ...(r.status === "RETRYING" && r.worker_id !== null ? { avoid: r.worker_id } : {}),
    };
  }

  /** The one place that talks to the queues (tests replace it to simulate a failed or lost send). */
  protected async sendToQueue(priority: Priority, items: Array<{ body: TaskMessage; delaySeconds: number }>): Promise<void> {
    await taskQueue(this.env, priority).sendBatch(
      items.map((i) => ({ body: i.body, contentType: "json" as const, delaySeconds: i.delaySeconds })),
    );
  }

  /** Publishes pending completion events; what fails stays for the alarm. */
  private async publishPending(): Promise<boolean> {
    const tenantId = this.meta.get("tenantId");
    const done = tenantId ? await publishCompletions(this.env, tenantId, this.store) : true;
    if (!done) await this.timer.wakeBy(Date.now() + EVENT_RETRY_MS);
    return done;
  }

  override async alarm(): Promise<void> {
    this.timer.fired();
    const now = Date.now();
    const resend: TaskRow[] = [];
    for (const row of this.store.expired(now, 500)) {
      // RUNNING past its lease: the attempt's outcome never came back, so it counts as failed.
      const next = row.status === "RUNNING" ? this.store.lost(row, now) : row;
      if (isLive(next.status)) resend.push(next);
    }
    if (resend.length > 0) await this.dispatch(resend, now);
    const published = await this.publishPending();
    const retentionMs = settings(this.env).retentionMs;
    this.store.prune(now - retentionMs);
    const oldest = this.store.oldestFinished();
    await this.timer.rearm(
      now,
      this.store.nextLease(),
      oldest === null ? null : oldest + retentionMs,
      published ? null : now + EVENT_RETRY_MS,
    );
  }

  /** The alarm needs both to build queue messages; they never change for an object. */
  private identify(tenantId: string, shard: number): void {
    if (this.meta.get("tenantId") === tenantId) return;
    this.meta.set("tenantId", tenantId).set("name", String(shard));
  }
}
