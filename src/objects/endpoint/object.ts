/**
 * Endpoint Durable Object (one per subscription: a webhook, a pull subscription, or a worker's
 * gate): the per-subscription delivery index that GET …/deliveries reads (so listing never scans
 * partitions), the endpoint's health, and for a pull subscription its mailbox (mailbox.ts). The consumer writes here once per batch per endpoint, not once per attempt, so a busy
 * endpoint stays far below the per-object request rate. The Partition rows stay the truth; this
 * is the log view. An endpoint failing with no success for the configured window is disabled.
 *
 * It is also the endpoint's gate: every consumer invocation asks it before sending, so the rate
 * limit, the in-flight cap and a Retry-After pause hold across isolates (domain/endpoint-gate.ts),
 * and it keeps the endpoint's backlog as the partitions last reported it.
 */
import { DurableObject } from "cloudflare:workers";
import { settings } from "../../config.js";
import { DEFAULT_RETRY_POLICY } from "../../domain/backoff.js";
import { type Admission, EndpointGate, type GateLimit } from "../../domain/endpoint-gate.js";
import { groupBy } from "../../domain/group.js";
import type { DeliveryStatus } from "../../schemas/event.js";
import type { DeliveryMessage } from "../../schemas/messages.js";
import type { SubscriptionRecord } from "../../schemas/subscription.js";
import { activeSubscription } from "../../services/subscription-cache.js";
import { disableWebhook } from "../../services/webhooks.js";
import { META_TABLE, Meta } from "../kit/meta.js";
import { migrate } from "../kit/migrations.js";
import { partitionStub } from "../partition/client.js";
import { deferRequest, gaveBack } from "../partition/deliveries.js";
import type { BeganAttempt } from "../partition/sql.js";
import type { AttemptEntry, LogEntry, RecoverCursor } from "./log.js";
import { MAILBOX_MIGRATIONS, Mailbox, type PulledMessage, type PullOptions } from "./mailbox.js";
import { Sender, type Settled } from "./sender.js";

export type { AttemptEntry, LogEntry, RecoverCursor } from "./log.js";

/** Without a rate limit an endpoint still gets at most this many requests at once. */
const DEFAULT_MAX_IN_FLIGHT = 100;
/**
 * Deliveries the gate cannot start yet wait here (in memory) for a free slot, up to this many;
 * more go back to the queue with a delay. If the object is evicted meanwhile, their partition
 * rows' leases send them again.
 */
const LOCAL_WAIT_MAX = 2_000;
/** At most this many answers wait to be written back before new deliveries wait too. */
const MAX_UNRECORDED = 1_000;
/** The backlog the partitions report is written at most this often. */
const BACKLOG_SAVE_MS = 1_000;

const MIGRATIONS = [
  META_TABLE,
  `CREATE TABLE log (delivery_id TEXT PRIMARY KEY, event_id TEXT NOT NULL, partition_key TEXT NOT NULL,
     seq INTEGER NOT NULL, status TEXT NOT NULL, attempts TEXT NOT NULL, created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL)`,
  "CREATE INDEX log_newest ON log (created_at DESC, delivery_id DESC)",
  "CREATE INDEX log_status ON log (status, created_at)",
  "ALTER TABLE log ADD COLUMN prev_seq INTEGER NOT NULL DEFAULT 0",
  // Unsettled deliveries per partition, as the partitions last reported them.
  "CREATE TABLE backlog (partition_key TEXT PRIMARY KEY, pending INTEGER NOT NULL, oldest_at INTEGER)",
  ...MAILBOX_MIGRATIONS,
];

/**
 * A delivery handed to the endpoint: `began` when the queue consumer began its attempt already
 * (one call per partition for every endpoint of its batch), otherwise begun here before it is sent.
 */
export interface Handed {
  msg: DeliveryMessage;
  began?: BeganAttempt | undefined;
}

/** The endpoint's live state for GET /webhooks/:id. */
export interface EndpointState {
  pausedUntil: number | null;
  backlog: { pending: number; inFlight: number; oldestPendingSeconds: number };
}

export interface DeliveryLogItem {
  deliveryId: string;
  eventId: string;
  partitionKey: string;
  sequence: number;
  previousSequence: number;
  status: DeliveryStatus;
  attempts: Array<{ attempt: number; statusCode?: number; durationMs: number; error?: string; at: string }>;
}

const PAGE = 50;

export class Endpoint extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly meta: Meta;
  private readonly gate = new EndpointGate();
  private readonly sender: Sender;
  private readonly mailbox: Mailbox;
  /** Long polls waiting for a message (resolved when one arrives or becomes visible). */
  private waiters: Array<() => void> = [];
  /** Deliveries waiting here for a slot at the gate, oldest first, with the subscription as it was sent. */
  private waiting: Array<{ tenantId: string; sub: SubscriptionRecord; msg: DeliveryMessage }> = [];
  private pumpTimer: ReturnType<typeof setTimeout> | undefined;
  /** Deliveries on their way into `waiting` (their begun attempts are being given back). */
  private givingBack = 0;
  /** Backlog figures reported by partitions and not yet written (updateBacklog). */
  private readonly unsavedBacklog = new Map<string, Settled["backlog"][number]>();
  private backlogTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * What this activation knows it wrote: whether `failing_since` is set (undefined: unknown)
   * and whether the retention alarm is set.
   */
  private health: { failing: boolean | undefined; alarmArmed: boolean } = { failing: undefined, alarmArmed: false };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.meta = new Meta(this.sql);
    this.sender = new Sender(
      env,
      this.gate,
      (tenantId, sub, settled) => this.settled(tenantId, sub, settled),
      (tenantId, sub, messages) => void this.handBack(tenantId, sub.id, messages),
      (job) => {
        this.gate.done([job.slot.token]);
        if (job.pauseUntil !== undefined) this.pause(job.pauseUntil);
        this.pump();
      },
    );
    this.mailbox = new Mailbox(
      env,
      this.sql,
      (tenantId, entries) => this.record(tenantId, "", entries, false),
      () => this.wake(),
    );
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, MIGRATIONS);
      this.gate.pause(Number(this.meta.get("paused_until") ?? 0));
    });
  }

  // --- the gate ---

  /**
   * A batch's deliveries for this endpoint: the ones the gate admits are sent from here, in the
   * background (this returns at once, so the queue batch never waits for a receiver); the
   * others come back with the time to try again (no attempt is used for them).
   */
  deliver(
    tenantId: string,
    sub: SubscriptionRecord,
    handed: Handed[],
    backlog: Settled["backlog"] = [],
  ): Array<{ deliveryId: string; until: number }> {
    const now = Date.now();
    this.updateBacklog(backlog);
    // Behind others already waiting here (or about to): keep their order.
    if (this.waiting.length === 0 && this.givingBack === 0) {
      const { admitted } = this.admitFor(sub, handed.length);
      this.sender.start(
        tenantId,
        sub,
        admitted.map((slot, k) => ({ ...(handed[k] as Handed), slot })),
      );
      handed = handed.slice(admitted.length);
    }
    // A pause sends everything back until it ends; otherwise what fits waits here for a slot.
    const paused = this.gate.pausedUntil > now;
    const room = paused ? 0 : Math.max(0, LOCAL_WAIT_MAX - this.waiting.length - this.givingBack);
    const waiting = handed.slice(0, room);
    // A delivery waits here as a reference: an attempt the consumer began for it is given back
    // first (a wait can outlast the attempt's lease, and waiting uses no attempt); it is begun
    // again when it leaves the list.
    const begun = waiting.filter((h) => h.began);
    if (begun.length === 0) this.wait(tenantId, sub, waiting);
    else void this.giveBack(tenantId, sub, waiting, begun);
    this.pump();
    const until = paused ? this.gate.pausedUntil : now + 1_000;
    return handed.slice(room).map((h) => ({ deliveryId: h.msg.deliveryId, until }));
  }

  private wait(tenantId: string, sub: SubscriptionRecord, handed: Handed[]): void {
    for (const h of handed) this.waiting.push({ tenantId, sub, msg: h.msg });
  }

  /**
   * Gives back the attempts begun for deliveries that are to wait here, then lets them wait. One
   * whose attempt could not be given back is left to its row's lease (it is sent again as the
   * next attempt), never sent from here: its attempt may have been sent again meanwhile.
   */
  private async giveBack(tenantId: string, sub: SubscriptionRecord, waiting: Handed[], begun: Handed[]): Promise<void> {
    const now = Date.now();
    const given = new Set<string>();
    this.givingBack += waiting.length;
    try {
      await Promise.all(
        [...groupBy(begun, (h) => h.msg.partitionKey)].map(async ([partitionKey, list]) => {
          try {
            const { results } = await partitionStub(this.env, tenantId, partitionKey).beginAttempts(
              list.map((h) => deferRequest(h.msg.deliveryId, now, h.began)),
            );
            list.forEach((h, k) => {
              if (gaveBack(results[k])) given.add(h.msg.deliveryId);
            });
          } catch (err) {
            console.warn(JSON.stringify({ level: "warn", message: "giving back begun attempts failed", partitionKey, error: String(err) }));
          }
        }),
      );
    } finally {
      this.givingBack -= waiting.length;
    }
    this.wait(
      tenantId,
      sub,
      waiting.filter((h) => !h.began || given.has(h.msg.deliveryId)),
    );
    this.pump();
  }

  /**
   * The next rows of an ordered stream, released by settling the ones before them: sent with the
   * subscription as it is now (a changed URL, secret or ordering applies, as it would through the
   * queue consumer). For a subscription no longer active they are left to their partition leases,
   * and the queue consumer then drops them; refused ones (the wait list is full) come back the same way.
   */
  private async handBack(tenantId: string, subscriptionId: string, messages: DeliveryMessage[]): Promise<void> {
    try {
      const sub = await activeSubscription(this.env, tenantId, subscriptionId);
      if (sub)
        this.deliver(
          tenantId,
          sub,
          messages.map((msg) => ({ msg })),
        );
    } catch (err) {
      console.warn(
        JSON.stringify({ level: "warn", message: "ordered hand-back failed; the leases send the rows again", error: String(err) }),
      );
    }
  }

  private admitFor(sub: SubscriptionRecord, count: number) {
    // Answers are written back in batches; if the partitions fall behind, new deliveries wait.
    if (this.sender.unrecorded >= MAX_UNRECORDED) return { admitted: [], retryAt: Date.now() + 100 };
    const policy = sub.retryPolicy ?? DEFAULT_RETRY_POLICY;
    const limit = { maxInFlight: DEFAULT_MAX_IN_FLIGHT, ...sub.rateLimit };
    return this.gate.admit(Date.now(), count, limit, policy.timeoutMs + 1_000, false);
  }

  /** Slots were freed: start what waits here, as far as the gate allows. */
  private pump(): void {
    while (this.waiting.length > 0) {
      const first = this.waiting[0] as (typeof this.waiting)[number];
      const same = this.waiting.findIndex((w) => w.sub.id !== first.sub.id || w.tenantId !== first.tenantId);
      const run = this.waiting.slice(0, same === -1 ? this.waiting.length : same);
      const { admitted, retryAt } = this.admitFor(first.sub, run.length);
      if (admitted.length === 0) {
        // Nothing frees a slot by itself during a pause or a full rate window: look again then.
        if (!this.pumpTimer) {
          this.pumpTimer = setTimeout(
            () => {
              this.pumpTimer = undefined;
              this.pump();
            },
            Math.max(20, (retryAt ?? Date.now() + 1_000) - Date.now()),
          );
        }
        return;
      }
      this.waiting.splice(0, admitted.length);
      this.sender.start(
        first.tenantId,
        first.sub,
        admitted.map((slot, k) => ({ msg: (run[k] as (typeof run)[number]).msg, slot })),
      );
    }
  }

  /**
   * The gate alone, for a worker endpoint's task attempts (the task consumer sends them itself):
   * admits up to `count` requests now or within the next second.
   */
  admit(count: number, limit: GateLimit | undefined, holdMs: number): Admission {
    return this.gate.admit(Date.now(), count, limit, holdMs);
  }

  /** The admitted requests of these tokens finished. */
  release(tokens: number[]): void {
    this.gate.done(tokens);
  }

  // --- pull subscriptions: the mailbox ---

  /** The queue's messages for a pull subscription: kept here until pulled and acked. */
  async enqueue(tenantId: string, messages: DeliveryMessage[]): Promise<void> {
    await this.mailbox.enqueue(tenantId, messages);
    this.wake();
  }

  /** Leases up to `maxMessages`; with `waitSeconds`, answers as soon as one is available (no polling loop). */
  async pull(tenantId: string, o: PullOptions & { waitSeconds: number }): Promise<PulledMessage[]> {
    const until = Date.now() + o.waitSeconds * 1000;
    for (;;) {
      const got = await this.mailbox.pull(tenantId, o);
      const now = Date.now();
      if (got.length > 0 || now >= until) return got;
      const next = this.mailbox.nextVisible();
      const wakeAt = Math.min(until, next !== null && next > now ? next : until);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, wakeAt - now));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
    }
  }

  ack(tenantId: string, ackIds: string[]): Promise<number> {
    return this.mailbox.ack(tenantId, ackIds);
  }

  async nack(tenantId: string, ackIds: string[], delaySeconds: number, maxAttempts: number): Promise<number> {
    const n = await this.mailbox.nack(tenantId, ackIds, delaySeconds, maxAttempts);
    if (delaySeconds === 0) this.wake();
    return n;
  }

  extend(ackIds: string[], visibilityTimeoutSeconds: number): number {
    return this.mailbox.extend(ackIds, visibilityTimeoutSeconds);
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  /** What the sender finished: slots back, pause, backlog, log and health, 410 → disabled. */
  private async settled(tenantId: string, sub: SubscriptionRecord, { jobs, backlog }: Settled): Promise<void> {
    this.gate.done(jobs.map((j) => j.slot.token));
    for (const j of jobs) if (!j.started) this.gate.skip();
    this.pump();
    const pauseUntil = Math.max(0, ...jobs.map((j) => j.pauseUntil ?? 0));
    if (pauseUntil > 0) this.pause(pauseUntil);
    this.updateBacklog(backlog);
    await this.record(
      tenantId,
      sub.id,
      jobs.flatMap((j) => (j.log ? [j.log] : [])),
    );
    if (jobs.some((j) => j.disable)) await disableWebhook(this.env, tenantId, sub.id, "the receiver answered 410 Gone");
  }

  /**
   * The partitions' latest figures are kept in memory and written at most once a second (every
   * settled batch reports them, and most reports are overwritten by the next one); reading the
   * backlog writes what is waiting first.
   */
  private updateBacklog(backlog: Settled["backlog"]): void {
    for (const b of backlog) this.unsavedBacklog.set(b.partitionKey, b);
    // A partition's last figure (nothing pending) is written at once: nothing may come to correct it.
    if (backlog.some((b) => b.pending === 0)) {
      this.saveBacklog();
      return;
    }
    if (this.unsavedBacklog.size > 0 && !this.backlogTimer) {
      this.backlogTimer = setTimeout(() => this.saveBacklog(), BACKLOG_SAVE_MS);
    }
  }

  private saveBacklog(): void {
    if (this.backlogTimer !== undefined) clearTimeout(this.backlogTimer);
    this.backlogTimer = undefined;
    for (const b of this.unsavedBacklog.values()) {
      if (b.pending === 0) this.sql.exec("DELETE FROM backlog WHERE partition_key = ?", b.partitionKey);
      else {
        this.sql.exec(
          "INSERT INTO backlog (partition_key, pending, oldest_at) VALUES (?, ?, ?) ON CONFLICT (partition_key) DO UPDATE SET pending = excluded.pending, oldest_at = excluded.oldest_at",
          b.partitionKey,
          b.pending,
          b.oldestAt,
        );
      }
    }
    this.unsavedBacklog.clear();
  }

  /** The endpoint asked to be left alone until `until` (429/503 with Retry-After). */
  pause(until: number): void {
    if (until <= this.gate.pausedUntil) return;
    this.gate.pause(until);
    this.meta.set("paused_until", String(until));
  }

  state(): EndpointState {
    this.saveBacklog();
    const now = Date.now();
    const b = this.sql
      .exec<{ n: number | null; oldest: number | null }>("SELECT sum(pending) AS n, min(oldest_at) AS oldest FROM backlog")
      .one();
    return {
      pausedUntil: this.gate.pausedUntil > now ? this.gate.pausedUntil : null,
      backlog: {
        pending: b.n ?? 0,
        inFlight: this.gate.inFlightCount(now),
        oldestPendingSeconds: b.oldest === null ? 0 : Math.max(0, Math.floor((now - b.oldest) / 1000)),
      },
    };
  }

  /**
   * This subscription's deliveries for GET /stats: `failed` (dead-lettered) and `delivered` are
   * counted in the retained log; `pending` is the largest of what the partitions last reported
   * unsettled (a webhook's backlog, updated after each attempt), the log's unsettled rows (retries
   * due) and the mailbox's waiting or leased messages (a pull subscription).
   */
  counts(): { pending: number; failed: number; delivered: number } {
    this.saveBacklog();
    // One indexed count per status (log_status), not a scan of the whole log.
    const count = (status: string) => this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM log WHERE status = ?", status).one().n;
    const log = { pending: count("PENDING"), failed: count("FAILED"), delivered: count("DELIVERED") };
    const backlog = this.sql.exec<{ n: number | null }>("SELECT sum(pending) AS n FROM backlog").one().n ?? 0;
    const mailbox = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM mailbox").one().n;
    return {
      pending: Math.max(backlog, log.pending, mailbox),
      failed: log.failed,
      delivered: log.delivered,
    };
  }

  /** Records log entries (the consumer's drops, the sender's attempts) and re-evaluates health; disables the webhook past the window. */
  async record(tenantId: string, subscriptionId: string, entries: LogEntry[], health = true): Promise<void> {
    const now = Date.now();
    for (const e of entries) this.upsert(e, now);
    // A pull subscription's failures are its consumer's doing: no health window, no disabling.
    if (!health) return;
    const attempts = entries.flatMap((e) => (e.attempt ? [{ ...e.attempt, ok: e.status === "DELIVERED" }] : []));
    if (attempts.length === 0) return;
    const lastOk = Math.max(0, ...attempts.filter((a) => a.ok).map((a) => a.at));
    if (lastOk > 0) {
      if (this.health.failing !== false) this.meta.delete("failing_since");
      this.health.failing = false;
      this.meta.set("last_success_at", String(lastOk));
    } else {
      const since = Number(this.meta.get("failing_since") ?? Math.min(...attempts.map((a) => a.at)));
      this.meta.setIfAbsent("failing_since", String(since));
      this.health.failing = true;
      if (now - since >= settings(this.env).disableAfterMs) {
        this.meta.delete("failing_since");
        this.health.failing = false;
        const days = Math.round((now - since) / 86_400_000);
        await disableWebhook(this.env, tenantId, subscriptionId, `every delivery failed for ${days} days with no success`);
      }
    }
    await this.armRetention(now);
  }

  /** The daily alarm that prunes the log; looked up once per activation, not per record. */
  private async armRetention(now: number): Promise<void> {
    if (this.health.alarmArmed) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + 86_400_000);
    this.health.alarmArmed = true;
  }

  /** One statement per entry: a new row, or the attempt appended to the row's list unless it is there already. */
  private upsert(e: LogEntry, now: number): void {
    const attempt = e.attempt ? JSON.stringify(e.attempt) : null;
    this.sql.exec(
      `INSERT INTO log (delivery_id, event_id, partition_key, seq, status, attempts, created_at, updated_at, prev_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (delivery_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
         attempts = CASE WHEN ? IS NULL OR EXISTS (SELECT 1 FROM json_each(log.attempts) WHERE json_extract(value, '$.attempt') = ?)
           THEN log.attempts ELSE json_insert(log.attempts, '$[#]', json(?)) END`,
      e.deliveryId,
      e.eventId,
      e.partitionKey,
      e.sequence,
      e.status,
      attempt === null ? "[]" : `[${attempt}]`,
      // Outcomes are written in batches: a row is as new as its first attempt, not as its batch.
      e.attempt?.at ?? now,
      now,
      e.previousSequence,
      attempt,
      e.attempt?.attempt ?? null,
      attempt,
    );
  }

  /** Newest first; `cursor` is opaque (the position after the previous page's last row). */
  list(status: DeliveryStatus | undefined, cursor: string | undefined): { deliveries: DeliveryLogItem[]; nextCursor: string | null } {
    const [at, id] = decodeCursor(cursor);
    const rows = this.sql
      .exec<{
        delivery_id: string;
        event_id: string;
        partition_key: string;
        seq: number;
        prev_seq: number;
        status: DeliveryStatus;
        attempts: string;
        created_at: number;
      }>(
        `SELECT * FROM log WHERE (? IS NULL OR status = ?) AND (created_at < ? OR (created_at = ? AND delivery_id < ?))
           ORDER BY created_at DESC, delivery_id DESC LIMIT ?`,
        status ?? null,
        status ?? null,
        at,
        at,
        id,
        PAGE + 1,
      )
      .toArray();
    const page = rows.slice(0, PAGE);
    const last = page.at(-1);
    return {
      deliveries: page.map((r) => ({
        deliveryId: r.delivery_id,
        eventId: r.event_id,
        partitionKey: r.partition_key,
        sequence: r.seq,
        previousSequence: r.prev_seq,
        status: r.status,
        // Appended as outcomes arrive, which is not always in attempt order.
        attempts: (JSON.parse(r.attempts) as AttemptEntry[])
          .sort((a, b) => a.attempt - b.attempt)
          .map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
      })),
      nextCursor: rows.length > PAGE && last ? btoa(`${last.created_at}:${last.delivery_id}`) : null,
    };
  }

  find(deliveryId: string): { partitionKey: string; status: DeliveryStatus } | null {
    const row = this.sql
      .exec<{ partition_key: string; status: DeliveryStatus }>("SELECT partition_key, status FROM log WHERE delivery_id = ?", deliveryId)
      .toArray()[0];
    return row ? { partitionKey: row.partition_key, status: row.status } : null;
  }

  /**
   * One page of the failed (and dropped) deliveries since a time, oldest first, for recovery:
   * `after` is the previous page's `next` (a position, so rows that were sent again and failed
   * again are not read twice); `next` is null on the last page.
   */
  failedSince(
    sinceMs: number,
    after: RecoverCursor | null,
    limit: number,
  ): { items: Array<{ deliveryId: string; partitionKey: string }>; next: RecoverCursor | null } {
    const rows = this.sql
      .exec<{ delivery_id: string; partition_key: string; created_at: number }>(
        `SELECT delivery_id, partition_key, created_at FROM log WHERE status IN ('FAILED', 'DROPPED') AND created_at >= ?
           AND (created_at > ? OR (created_at = ? AND delivery_id > ?)) ORDER BY created_at, delivery_id LIMIT ?`,
        sinceMs,
        after?.at ?? -1,
        after?.at ?? -1,
        after?.id ?? "",
        limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({ deliveryId: r.delivery_id, partitionKey: r.partition_key })),
      next: rows.length > limit && last ? { at: last.created_at, id: last.delivery_id } : null,
    };
  }

  /** When a delivery last succeeded (recovery after re-activation starts there), or null. */
  lastSuccessAt(): number | null {
    const v = this.meta.get("last_success_at");
    return v === undefined ? null : Number(v);
  }

  /** Marks rows as pending again (a redelivery was requested), so the log shows it at once. */
  markPending(deliveryIds: string[], requestedAt = Date.now()): void {
    // A fast delivery may have been attempted and logged already: never undo a newer outcome.
    for (const id of deliveryIds) {
      this.sql.exec(
        "UPDATE log SET status = 'PENDING', updated_at = ? WHERE delivery_id = ? AND updated_at <= ?",
        Date.now(),
        id,
        requestedAt,
      );
    }
  }

  /** The webhook was deleted: forget everything. */
  async erase(): Promise<void> {
    this.health = { failing: undefined, alarmArmed: false };
    this.sender.stop();
    clearTimeout(this.backlogTimer);
    this.backlogTimer = undefined;
    this.unsavedBacklog.clear();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    migrate(this.sql, MIGRATIONS); // a late message from a consumer batch still finds the tables
  }

  override async alarm(): Promise<void> {
    const cutoff = Date.now() - settings(this.env).retentionMs;
    this.sql.exec("DELETE FROM log WHERE updated_at < ? AND status != 'PENDING'", cutoff);
    const left = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM log").one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + 86_400_000);
    this.health.alarmArmed = left > 0;
  }
}

function decodeCursor(cursor: string | undefined): [number, string] {
  if (!cursor) return [Number.MAX_SAFE_INTEGER, "\uffff"];
  try {
    const [at, id] = atob(cursor).split(":");
    const n = Number(at);
    if (Number.isFinite(n) && id) return [n, id];
  } catch {
    // fall through: an unreadable cursor starts from the newest row
  }
  return [Number.MAX_SAFE_INTEGER, "\uffff"];
}
