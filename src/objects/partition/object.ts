/**
 * Partition Durable Object (one per tenant + partition key): the ordering and fan-out point.
 * One SQLite transaction (a single INSERT for an event nothing matched) dedupes the event id,
 * assigns the next sequence number, appends the event and writes one outbox row per matching
 * subscription, push or pull (with the previous sequence routed to that subscription). The rows
 * are the delivery state: the consumer reports every attempt back here, and the alarm re-sends
 * any row whose lease ran out (the queue never took it, or its message was lost), so a 202 means
 * delivered eventually. An ordered subscription's rows wait here, unsent, until the row before
 * them is settled. The alarm also prunes events past retention that have nothing left to deliver.
 */
import { DurableObject } from "cloudflare:workers";
import { HANDOFF_MS, STATS_FLUSH_MS, settings } from "../../config.js";
import { newId } from "../../domain/ids.js";
import type { PublishResult, StoredEventText } from "../../schemas/event.js";
import type { DeliveryMessage } from "../../schemas/messages.js";
import { directoryStub } from "../directory/client.js";
import { Alarm } from "../kit/alarm.js";
import { Meta } from "../kit/meta.js";
import { migrate } from "../kit/migrations.js";
import { sendInChunks } from "../kit/queue-send.js";
import { inSlices } from "../kit/sql-in.js";
import type { PublishItem } from "./client.js";
import {
  type BeginRequest,
  type BeginResult,
  BLOCKED_LEASE,
  backlogOf,
  begin,
  messageFor,
  OrderedRows,
  type RecordRequest,
  record,
} from "./deliveries.js";
import { LiveTail, MAX_TAILS } from "./live-tail.js";
import { type ReplayProgress, type ReplayStep, replayStep } from "./replay.js";
import { BY_IDS, type DeliveryRow, deliveryView, MIGRATIONS, type PartitionBacklog } from "./sql.js";

/** A log page stops at about this many bytes of events (`nextAfter` continues from there). */
const PAGE_BYTES = 4 * 1024 * 1024;
/** The queue's observed lag (send → consumer) extends a sent row's lease, up to this much. */
const MAX_LAG_MS = 15 * 60_000;
/** The directory's figures for this partition are refreshed at most this often while events arrive. */
const DIRECTORY_REFRESH_MS = 60_000;

export class Partition extends DurableObject<Env> {
  private seq = 0;
  private named = false;
  /** Moving average of how long the queue takes to hand this partition's messages to a consumer. */
  private queueLagMs = 0;
  /** When this partition last told the tenant's directory its figures (0: not since it started). */
  private reportedAt = 0;
  private unreported = false;
  private lastEventAt = 0;
  /** Events accepted and not yet counted in the directory, per unix second (kept in memory only). */
  private uncounted = new Map<number, number>();
  /** When the accepted-event counts last went to the directory. */
  private countedAt = 0;
  /** The `routed` table as far as read or written since the object started: subscription id → last sequence. */
  private readonly lastRouted = new Map<string, number>();
  private readonly sql: SqlStorage;
  private readonly meta: Meta;
  private readonly timer: Alarm;
  private readonly tail: LiveTail;
  private readonly ordered: OrderedRows;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.meta = new Meta(this.sql);
    this.timer = new Alarm(ctx.storage);
    this.tail = new LiveTail(ctx, this.sql);
    this.ordered = new OrderedRows(this.sql);
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, MIGRATIONS);
      // The log's last sequence; the meta row keeps it when pruning has emptied the log.
      const last = this.sql.exec<{ s: number | null }>("SELECT max(seq) AS s FROM events").one().s ?? 0;
      this.seq = Math.max(last, Number(this.meta.get("seq") ?? 0));
      this.named = this.meta.get("partitionKey") !== undefined;
      await this.timer.load();
    });
  }

  async publish(tenantId: string, partitionKey: string, items: PublishItem[]): Promise<PublishResult[]> {
    const now = Date.now();
    const sentLease = this.sentLease(now);
    const fresh: DeliveryMessage[] = [];
    const seqBefore = this.seq;
    const appended: StoredEventText[] = [];
    let results: PublishResult[];
    const write = () => items.map((item) => this.append(item, now, sentLease, fresh, appended, tenantId, partitionKey));
    // An event that matches no subscription is one INSERT, which SQLite applies whole or not at
    // all; anything more (delivery rows, several events, the first event's meta rows) is one
    // transaction. The explicit transaction costs about as much as the insert itself.
    const single = this.named && items.length === 1 && items[0]?.targets.length === 0;
    try {
      results = single
        ? write()
        : this.ctx.storage.transactionSync(() => {
            // The alarm needs both to build queue messages; they never change for an object.
            if (!this.named) this.meta.set("tenantId", tenantId).set("partitionKey", partitionKey);
            return write();
          });
    } catch (err) {
      // Rolled back: those numbers were never used, so no gap. (A single INSERT that went through
      // has already advanced the sequence, and one that failed has not.)
      if (!single) this.seq = seqBefore;
      this.ordered.forget();
      this.lastRouted.clear();
      throw err;
    }
    this.named = true;
    this.tail.broadcast(appended);
    if (this.seq > seqBefore) {
      this.lastEventAt = now;
      const second = Math.floor(now / 1000);
      this.uncounted.set(second, (this.uncounted.get(second) ?? 0) + this.seq - seqBefore);
      await this.reportToDirectory(tenantId, partitionKey, now);
      await this.reportCounts(tenantId, now);
    }
    if (fresh.length > 0) {
      // Armed before anything is awaited, so a crash during sendBatch still wakes the object.
      await this.timer.wakeBy(sentLease);
      await this.dispatchLeased(fresh, now, sentLease);
    } else if (!this.timer.isSet) {
      await this.timer.wakeBy(this.nextPrune() ?? now + settings(this.env).retentionMs);
    }
    return results;
  }

  private append(
    item: PublishItem,
    now: number,
    sentLease: number,
    fresh: DeliveryMessage[],
    appended: StoredEventText[],
    tenantId: string,
    partitionKey: string,
  ): PublishResult {
    const { id, body } = item;
    const sequence = this.seq + 1;
    const result: PublishResult = {
      eventId: id,
      status: "PUBLISHED",
      subscribers: item.subscribers,
      ...(item.routedTo ? { routedTo: item.routedTo } : {}),
      partitionKey,
      sequence,
    };
    // The id is unique: a duplicate writes nothing and gets the original's result.
    const written = this.sql.exec(
      "INSERT INTO events (seq, id, body, result, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      sequence,
      id,
      body,
      JSON.stringify(result),
      now,
    ).rowsWritten;
    if (written === 0) {
      const existing = this.sql.exec<{ result: string }>("SELECT result FROM events WHERE id = ?", id).one();
      return { ...(JSON.parse(existing.result) as PublishResult), duplicate: true };
    }
    this.seq = sequence;
    appended.push({ body, sequence });
    for (const sub of item.targets) {
      const previous =
        this.lastRouted.get(sub.id) ??
        this.sql.exec<{ last_seq: number }>("SELECT last_seq FROM routed WHERE subscription_id = ?", sub.id).toArray()[0]?.last_seq ??
        0;
      this.lastRouted.set(sub.id, sequence);
      this.sql.exec(
        "INSERT INTO routed (subscription_id, last_seq) VALUES (?, ?) ON CONFLICT (subscription_id) DO UPDATE SET last_seq = excluded.last_seq",
        sub.id,
        sequence,
      );
      // An ordered subscription's row waits while an earlier one of its rows is unsettled.
      const blocked =
        sub.ordered &&
        this.sql.exec("SELECT 1 FROM deliveries WHERE subscription_id = ? AND status = 'PENDING' LIMIT 1", sub.id).toArray().length > 0;
      const deliveryId = newId("dlv");
      this.sql.exec(
        `INSERT INTO deliveries (id, event_id, seq, subscription_id, subscription_name, status, attempts,
           lease_until, created_at, updated_at, prev_seq, ordered, blocked) VALUES (?, ?, ?, ?, ?, 'PENDING', 0, ?, ?, ?, ?, ?, ?)`,
        deliveryId,
        id,
        sequence,
        sub.id,
        sub.name,
        blocked ? BLOCKED_LEASE : sentLease,
        now,
        now,
        previous,
        sub.ordered ? 1 : 0,
        blocked ? 1 : 0,
      );
      if (blocked) this.ordered.blocked(sub.id);
      else {
        fresh.push({ kind: "delivery", tenantId, partitionKey, deliveryId, subscriptionId: sub.id, attempt: 1, sentAt: now });
      }
    }
    return result;
  }

  /** How long a row handed to the queue now is leased: the lease plus the queue's observed lag. */
  private sentLease(now: number): number {
    return now + settings(this.env).leaseMs + Math.min(MAX_LAG_MS, 2 * this.queueLagMs);
  }

  /**
   * A publish's new rows are written already leased as sent, which saves a write (and a commit)
   * per publish: a chunk the queue refuses gets the short hand-off lease instead, so the alarm
   * sends it again soon; if the object dies before the send, the rows go when the lease runs out.
   */
  private async dispatchLeased(messages: DeliveryMessage[], now: number, sentLease: number): Promise<void> {
    let refused = false;
    await sendInChunks(
      messages,
      (chunk) => this.sendToQueue(chunk),
      () => {},
      "delivery",
      (chunk) => {
        refused = true;
        inSlices(
          chunk.map((m) => m.deliveryId),
          2,
          (ids, marks) =>
            this.sql.exec(
              // Only a lease nobody has moved since the publish (a send that failed but got through
              // may have been begun or deferred meanwhile).
              BY_IDS.handOffLease(marks),
              now + HANDOFF_MS,
              sentLease,
              ...ids,
            ),
        );
      },
    );
    if (refused) await this.timer.rearm(Date.now(), this.nextLease());
  }

  /** Hands rows to the Deliveries queue; a row the queue took is leased for the queue's lag too. */
  protected async dispatch(messages: DeliveryMessage[], now: number): Promise<void> {
    const leaseUntil = this.sentLease(now);
    await sendInChunks(
      messages.map((m) => ({ ...m, sentAt: now })),
      (chunk) => this.sendToQueue(chunk),
      (chunk) => {
        inSlices(
          chunk.map((m) => m.deliveryId),
          1,
          (ids, marks) => this.sql.exec(BY_IDS.sentLease(marks), leaseUntil, ...ids),
        );
      },
      "delivery",
    );
    await this.timer.rearm(Date.now(), this.nextLease() ?? leaseUntil);
  }

  /** The one place that talks to the queue (tests replace it to simulate a failed or lost send). */
  protected async sendToQueue(messages: DeliveryMessage[]): Promise<void> {
    await this.env.DELIVERIES.sendBatch(messages.map((body) => ({ body, contentType: "json" as const })));
  }

  /**
   * Registers the partition in the tenant's directory, or refreshes its figures, without waiting
   * for the answer and at most once a minute; what comes in between is reported by the alarm.
   */
  private async reportToDirectory(tenantId: string, partitionKey: string, now: number, due = false): Promise<void> {
    if (!due && now - this.reportedAt < DIRECTORY_REFRESH_MS) {
      if (!this.unreported) await this.timer.wakeBy(this.reportedAt + DIRECTORY_REFRESH_MS);
      this.unreported = true;
      return;
    }
    this.reportedAt = now;
    this.unreported = false;
    void directoryStub(this.env, tenantId)
      .report(partitionKey, this.seq, this.lastEventAt)
      .catch((err: unknown) => {
        this.reportedAt = 0; // the next publish or alarm tries again
        console.warn(JSON.stringify({ level: "warn", message: "partition directory report failed", partitionKey, error: String(err) }));
      });
  }

  /**
   * Sends the accepted-event counts to the tenant's directory (GET /stats) without waiting for the
   * answer and at most every STATS_FLUSH_MS; the alarm sends what is left. A failed report puts
   * its counts back for the next one. Counts not yet sent are lost if the object is evicted or
   * restarts first (the events themselves are not).
   */
  private async reportCounts(tenantId: string, now: number, due = false): Promise<void> {
    if (this.uncounted.size === 0) return;
    if (!due && now - this.countedAt < STATS_FLUSH_MS) {
      await this.timer.wakeBy(this.countedAt + STATS_FLUSH_MS);
      return;
    }
    this.countedAt = now;
    const counts = [...this.uncounted];
    this.uncounted = new Map();
    void directoryStub(this.env, tenantId)
      .countEvents(counts)
      .catch(async (err: unknown) => {
        for (const [second, n] of counts) this.uncounted.set(second, (this.uncounted.get(second) ?? 0) + n);
        console.warn(JSON.stringify({ level: "warn", message: "partition event count report failed", error: String(err) }));
        // The alarm sends them again, also when no further event arrives.
        await this.timer.wakeBy(Date.now() + STATS_FLUSH_MS).catch(() => {});
      });
  }

  override async alarm(): Promise<void> {
    this.timer.fired();
    const now = Date.now();
    if (this.unreported) await this.reportToDirectory(this.meta.get("tenantId") ?? "", this.meta.get("partitionKey") ?? "", now, true);
    if (this.uncounted.size > 0) await this.reportCounts(this.meta.get("tenantId") ?? "", now, true);
    const due = this.sql
      .exec<DeliveryRow>(
        "SELECT * FROM deliveries WHERE status = 'PENDING' AND blocked = 0 AND lease_until <= ? ORDER BY seq LIMIT 1000",
        now,
      )
      .toArray();
    if (due.length > 0) await this.dispatch(this.messages(due, now), now);
    this.prune(now);
    await this.timer.rearm(now, this.nextLease(), this.nextPrune());
  }

  private messages(rows: DeliveryRow[], now: number): DeliveryMessage[] {
    const tenantId = this.meta.get("tenantId") ?? "";
    const partitionKey = this.meta.get("partitionKey") ?? "";
    return rows.map((r) => messageFor(r, tenantId, partitionKey, now));
  }

  private prune(now: number): void {
    const cutoff = now - settings(this.env).retentionMs;
    // The sequence survives an emptied log: the next event still gets the next number.
    if (this.sql.exec("SELECT 1 FROM events WHERE created_at < ? LIMIT 1", cutoff).toArray().length > 0) {
      this.meta.set("seq", String(this.seq));
    }
    this.sql.exec(
      `DELETE FROM events WHERE created_at < ? AND NOT EXISTS
         (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = 'PENDING')`,
      cutoff,
    );
    this.sql.exec("DELETE FROM deliveries WHERE created_at < ? AND status != 'PENDING'", cutoff);
  }

  private nextLease(): number | null {
    return this.sql
      .exec<{ t: number | null }>("SELECT min(lease_until) AS t FROM deliveries WHERE status = 'PENDING' AND blocked = 0")
      .one().t;
  }

  private nextPrune(): number | null {
    const oldest = this.sql.exec<{ t: number | null }>("SELECT min(created_at) AS t FROM events").one().t;
    return oldest === null ? null : oldest + settings(this.env).retentionMs;
  }

  // --- the live tail (live-tail.ts) ---

  /** Stores a stream token for this partition, valid until `expiresAt`. */
  async issueStreamToken(token: string, expiresAt: number): Promise<void> {
    await this.tail.issueToken(token, expiresAt, Date.now());
  }

  /**
   * The WebSocket upgrade of `GET /partitions/:key/stream`, authenticated by the worker; a browser's
   * stream token (already verified there) is redeemed here, once.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response(null, { status: 426 });
    // Room is checked before a token is used up, so a refused browser can retry with the same one.
    if (this.tail.open >= MAX_TAILS) return new Response(null, { status: 429 });
    const token = request.headers.get("x-stream-token");
    if (token !== null && !(await this.tail.redeem(token, Date.now()))) return new Response(null, { status: 401 });
    const partitionKey = request.headers.get("x-partition-key") ?? this.meta.get("partitionKey") ?? "";
    return new Response(null, { status: 101, webSocket: this.tail.accept(partitionKey, this.seq) });
  }

  override webSocketMessage(): void {
    // A tail only listens; "ping" is answered by the runtime (live-tail.ts).
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  // --- reading ---

  getEvent(id: string): { event: StoredEventText; deliveries: ReturnType<typeof deliveryView>[] } | null {
    const row = this.sql.exec<{ seq: number; body: string }>("SELECT seq, body FROM events WHERE id = ?", id).toArray()[0];
    if (!row) return null;
    const deliveries = this.sql
      .exec<DeliveryRow>("SELECT * FROM deliveries WHERE event_id = ? ORDER BY subscription_name", id)
      .toArray()
      .map(deliveryView);
    return { event: { body: row.body, sequence: row.seq }, deliveries };
  }

  /** A page of the log; it stops early at PAGE_BYTES so a page always fits one RPC and one response. */
  readLog(after: number, limit: number): StoredEventText[] {
    const page: StoredEventText[] = [];
    let bytes = 0;
    for (const r of this.sql.exec<{ seq: number; body: string }>(
      "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
      after,
      limit,
    )) {
      bytes += r.body.length;
      if (page.length > 0 && bytes > PAGE_BYTES) break;
      page.push({ body: r.body, sequence: r.seq });
    }
    return page;
  }

  // --- delivery state, reported by the consumer (one call per partition per batch) ---

  /**
   * Begins, defers or drops each request's delivery. `sentAt` of the messages teaches the
   * partition the queue's lag. Returns each result and the backlog of the subscriptions touched.
   */
  async beginAttempts(requests: BeginRequest[], sentAt: number[] = []): Promise<{ results: BeginResult[]; backlog: PartitionBacklog[] }> {
    const now = Date.now();
    for (const t of sentAt) this.queueLagMs = 0.8 * this.queueLagMs + 0.2 * Math.max(0, now - t);
    const { leaseMs } = settings(this.env);
    const touched = new Set<string>();
    const released: DeliveryRow[] = [];
    const results = this.transaction(() =>
      requests.map((r) => {
        const { result, subscriptionId: sub } = begin(this.sql, r, now, leaseMs);
        if (sub) touched.add(sub);
        if (sub && "dropped" in result) released.push(...this.ordered.release(sub, now, HANDOFF_MS));
        // The subscription is no longer ordered: its waiting rows go now (no query once it has none).
        if (sub && "ordered" in r && !r.ordered) released.push(...this.ordered.release(sub, now, HANDOFF_MS, true));
        return result;
      }),
    );
    if (released.length > 0) await this.dispatch(this.messages(released, now), now);
    return { results, backlog: backlogOf(this.sql, touched) };
  }

  /**
   * Writes outcomes back. A settled row of an ordered subscription releases the next one: with
   * `handBack` (the caller is that subscription's Endpoint object) it is returned to be sent at
   * once, leased meanwhile, instead of taking a trip through the queue — so an ordered stream
   * moves at the receiver's pace, not the queue's.
   */
  async recordAttempts(requests: RecordRequest[], handBack = false): Promise<{ backlog: PartitionBacklog[]; next: DeliveryMessage[] }> {
    const now = Date.now();
    const { leaseMs } = settings(this.env);
    const touched = new Set<string>();
    const released = this.transaction(() => {
      const out: DeliveryRow[] = [];
      for (const changed of record(this.sql, requests, now, leaseMs)) {
        touched.add(changed.subscriptionId);
        if (changed.settled) out.push(...this.ordered.release(changed.subscriptionId, now, HANDOFF_MS));
      }
      return out;
    });
    let next: DeliveryMessage[] = [];
    if (released.length > 0 && handBack) {
      const leaseUntil = now + leaseMs;
      inSlices(
        released.map((r) => r.id),
        1,
        (ids, marks) => this.sql.exec(BY_IDS.handBackLease(marks), leaseUntil, ...ids),
      );
      // If the caller never begins them, the lease runs out and the alarm sends them through the queue.
      await this.timer.wakeBy(leaseUntil);
      // No sentAt: this hand-off took no queue, and must not teach the partition a queue lag of 0.
      next = this.messages(released, now).map(({ sentAt: _sent, ...m }) => m);
    } else if (released.length > 0) await this.dispatch(this.messages(released, now), now);
    return { backlog: backlogOf(this.sql, touched), next };
  }

  /** One bounded step of a replay here (replay.ts); the new deliveries are sent at once. */
  async replay(step: ReplayStep): Promise<ReplayProgress> {
    const now = Date.now();
    // The step may block rows of an ordered subscription.
    this.ordered.blocked(step.subscription.id);
    const { progress, rows } = this.transaction(() => replayStep(this.sql, step, now, HANDOFF_MS));
    if (rows.length > 0) {
      await this.timer.wakeBy(now + HANDOFF_MS);
      await this.dispatch(this.messages(rows, now), now);
    }
    return progress;
  }

  /** One SQLite transaction; if it rolls back, what the ordered rows learnt inside it is forgotten. */
  private transaction<T>(run: () => T): T {
    try {
      return this.ctx.storage.transactionSync(run);
    } catch (err) {
      this.ordered.forget();
      throw err;
    }
  }

  /**
   * Puts settled rows back to PENDING with a fresh attempt budget and sends them now — except
   * that an ordered subscription's row waits (blocked) while another of its rows is unsettled.
   */
  async redeliver(deliveryIds: string[]): Promise<string[]> {
    const now = Date.now();
    const send: DeliveryRow[] = [];
    const queued: string[] = [];
    for (const id of deliveryIds) {
      const row = this.sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE id = ? AND status != 'PENDING'", id).toArray()[0];
      if (!row) continue;
      const blocked =
        row.ordered === 1 &&
        this.sql.exec("SELECT 1 FROM deliveries WHERE subscription_id = ? AND status = 'PENDING' LIMIT 1", row.subscription_id).toArray()
          .length > 0;
      this.sql.exec(
        `UPDATE deliveries SET status = 'PENDING', attempt_base = attempts, next_attempt_at = NULL, lease_until = ?, blocked = ?,
           updated_at = ? WHERE id = ?`,
        blocked ? BLOCKED_LEASE : now + HANDOFF_MS,
        blocked ? 1 : 0,
        now,
        id,
      );
      queued.push(id);
      if (blocked) this.ordered.blocked(row.subscription_id);
      else send.push(row);
    }
    if (send.length > 0) {
      await this.timer.wakeBy(now + HANDOFF_MS);
      await this.dispatch(this.messages(send, now), now);
    }
    return queued;
  }
}
