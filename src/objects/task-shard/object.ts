/**
 * TaskShard Durable Object. As a shard (`${tenantId}/${n}`, tasks sharded by id) it holds task
 * records and is their outbox: a task is written before the 202, handed to its priority's queue,
 * and its lease makes the alarm re-send it when the message was not taken or was lost, so an
 * accepted task never stays QUEUED. The consumer reports every attempt here; retries are sent
 * from here with their backoff as the message delay. A task with `onComplete` gets its
 * task.succeeded / task.failed event written with the final state and published from here (the
 * alarm retries, the partition dedupes by event id). As `${tenantId}/stats` the same class keeps
 * the counts behind the estimate (task-stats.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { settings } from "../../config.js";
import { matchPattern } from "../../domain/patterns.js";
import { migrate } from "../kit/migrations.js";
import { eachShard, STATS_NAME, taskQueue } from "./client.js";
import { publishCompletions } from "./completions.js";
import { MIGRATIONS, isLive, toState, type BeganTask, type Moved, type TaskOutcome, type TaskRow } from "./sql.js";
import { TaskStats, type EstimateInputs, type StatsReport } from "../task-stats/tables.js";
import { TaskStore, type NewTask } from "./store.js";
import { PRIORITIES, type Priority, type TaskMessage, type TaskState, type TaskStatus } from "../../schemas/task.js";

const SEND_CHUNK = 100;
/** Queues hold a delayed message for at most 12 h; a later attempt is sent by the alarm when due. */
const MAX_QUEUE_DELAY_S = 43_200;
/** While the tenant has a backlog, the stats object re-counts it from the shards this often. */
const RECOUNT_MS = 60_000;
const EVENT_RETRY_MS = 30_000;

export type RetryResult = { ok: true; value: TaskState } | { ok: false; code: "NOT_FOUND" | "INVALID_TRANSITION"; detail: string };

export class TaskShard extends DurableObject<Env> {
  private alarmAt: number | null = null;
  private readonly sql: SqlStorage;
  private readonly store: TaskStore;
  private readonly stats: TaskStats;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.store = new TaskStore(this.sql);
    this.stats = new TaskStats(this.sql);
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, MIGRATIONS);
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  // --- shard role: tasks ---

  /** Stores a new task and hands it to its queue; an existing id returns the stored task. */
  async submit(tenantId: string, shard: number, task: NewTask): Promise<{ state: TaskState; created: boolean }> {
    this.identify(tenantId, String(shard));
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
    await this.scheduleAlarm(this.store.nextLease());
    return {
      id: row.id,
      type: row.type,
      priority: row.priority,
      dataText: row.data,
      attempt,
      maxAttempts: row.max_attempts,
      timeoutMs: row.timeout_ms,
      createdAt: row.created_at,
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
    if (rows.length > 0) await this.dispatch(rows.map((r) => this.store.get(r.id) as TaskRow), now);
    return rows.length;
  }

  liveCounts(): Record<Priority, number> {
    return this.store.liveCounts();
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
    const first = this.store.nextLease();
    await this.scheduleAlarm(first === null ? null : Math.max(first, now + 1000));
    const tenantId = this.meta("tenantId") ?? "";
    const shard = Number(this.meta("name") ?? "0");
    const leaseMs = settings(this.env).leaseMs;
    for (const priority of PRIORITIES) {
      const items = rows
        .filter((r) => r.priority === priority && r.lease_until !== null)
        .map((r) => ({ row: r, delaySeconds: Math.max(0, Math.ceil(((r.next_attempt_at ?? now) - now) / 1000)) }));
      // Too far out for a queue delay: the lease becomes the due time, and the alarm sends it then.
      const due = new Map(items.filter((i) => i.delaySeconds > MAX_QUEUE_DELAY_S).map((i) => [i.row.id, i.row.next_attempt_at ?? now]));
      this.store.setLease([...due.keys()], (id) => due.get(id) ?? now);
      const send = items.filter((i) => i.delaySeconds <= MAX_QUEUE_DELAY_S);
      for (let i = 0; i < send.length; i += SEND_CHUNK) {
        const chunk = send.slice(i, i + SEND_CHUNK);
        try {
          await this.sendToQueue(priority, chunk.map((c) => ({ body: this.message(tenantId, shard, c.row), delaySeconds: c.delaySeconds })));
          const until = new Map(chunk.map((c) => [c.row.id, now + c.delaySeconds * 1000 + leaseMs]));
          this.store.setLease([...until.keys()], (id) => until.get(id) ?? now + leaseMs);
        } catch (err) {
          console.warn(JSON.stringify({ level: "warn", message: "task sendBatch failed; the alarm will re-send", error: String(err) }));
        }
      }
    }
    // At least a second away, so a queue that keeps refusing sends never makes the alarm spin.
    const next = this.store.nextLease();
    await this.scheduleAlarm(next === null ? null : Math.max(next, Date.now() + 1000));
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
    await taskQueue(this.env, priority).sendBatch(items.map((i) => ({ body: i.body, contentType: "json" as const, delaySeconds: i.delaySeconds })));
  }

  /** Publishes pending completion events; what fails stays for the alarm. */
  private async publishPending(): Promise<boolean> {
    const tenantId = this.meta("tenantId");
    const done = tenantId ? await publishCompletions(this.env, tenantId, this.store) : true;
    if (!done) await this.scheduleAlarm(Date.now() + EVENT_RETRY_MS);
    return done;
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    if (this.meta("name") === STATS_NAME) return this.recount();
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
    const next = [this.store.nextLease(), oldest === null ? null : oldest + retentionMs, published ? null : now + EVENT_RETRY_MS];
    const at = Math.min(...next.filter((t): t is number => t !== null));
    if (Number.isFinite(at)) await this.scheduleAlarm(Math.max(at, now + 1000));
  }

  // --- stats role (the instance named `${tenantId}/stats`) ---

  async statsEnqueue(tenantId: string, priority: Priority, type: string, accepted: number): Promise<EstimateInputs> {
    this.identify(tenantId, STATS_NAME);
    const inputs = this.stats.enqueue(priority, type, accepted);
    if (accepted > 0) await this.scheduleAlarm(Date.now() + RECOUNT_MS);
    return inputs;
  }

  statsReport(tenantId: string, report: StatsReport): void {
    this.identify(tenantId, STATS_NAME);
    this.stats.report(report, Date.now());
  }

  statsSnapshot(): ReturnType<TaskStats["snapshot"]> {
    return this.stats.snapshot();
  }

  /** Replaces the approximate backlog with the shards' own counts while there is one. */
  private async recount(): Promise<void> {
    const tenantId = this.meta("tenantId");
    if (!tenantId) return;
    const counts = await eachShard(this.env, tenantId, (s) => s.liveCounts());
    const total: Record<Priority, number> = { high: 0, normal: 0, low: 0 };
    for (const c of counts) for (const p of PRIORITIES) total[p] += c[p];
    this.stats.recount(total);
    if (this.stats.totalBacklog() > 0) await this.scheduleAlarm(Date.now() + RECOUNT_MS);
  }

  // --- helpers ---

  private async scheduleAlarm(at: number | null): Promise<void> {
    if (at === null) return;
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  private identify(tenantId: string, name: string): void {
    if (this.meta("tenantId") === tenantId && this.meta("name") === name) return;
    this.setMeta("tenantId", tenantId);
    this.setMeta("name", name);
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", key).toArray()[0]?.v;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", key, value);
  }
}
