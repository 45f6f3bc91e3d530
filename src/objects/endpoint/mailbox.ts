/**
 * A pull subscription's mailbox, kept by its Endpoint object: the deliveries waiting to be pulled,
 * with the semantics of Google Pub/Sub pull and SQS. A pull leases messages for a visibility
 * timeout under a fresh ackId; an ack settles the delivery (DELIVERED), a nack makes it visible
 * again after a delay and counts the attempt as failed, an expired lease makes it visible again at
 * once (attempt + 1, same deliveryId), and after `maxAttempts` it is dead-lettered (FAILED). The
 * partition rows stay the delivery state: each pull begins the attempt on its partition (which
 * supplies the event) and each outcome is recorded there, so ordering (one outstanding delivery
 * per partition) and the previous sequence work exactly as for webhooks. Every change is written
 * before the call returns, so a 200 with messages means the leases are durable.
 */
import { groupBy } from "../../domain/group.js";
import { newId } from "../../domain/ids.js";
import { parseStored } from "../../schemas/event.js";
import type { DeliveryMessage } from "../../schemas/messages.js";
import { activeSubscription } from "../../services/subscription-cache.js";
import { inSlices } from "../kit/sql-in.js";
import { partitionStub } from "../partition/client.js";
import type { AttemptOutcome } from "../partition/sql.js";
import type { LogEntry } from "./log.js";

export const MAILBOX_MIGRATIONS = [
  `CREATE TABLE mailbox (delivery_id TEXT PRIMARY KEY, partition_key TEXT NOT NULL, attempt INTEGER NOT NULL,
     attempt_base INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, visible_at INTEGER NOT NULL, ack_id TEXT,
     leased_at INTEGER, lease_until INTEGER, event_id TEXT, seq INTEGER, prev_seq INTEGER, created_at INTEGER NOT NULL)`,
  "CREATE INDEX mailbox_ready ON mailbox (state, visible_at, created_at)",
  "CREATE UNIQUE INDEX mailbox_ack ON mailbox (ack_id)",
];

/**
 * Leased messages by ack id (`marks`: one `?` per id). `+state` keeps SQLite on the ack ids'
 * unique index: without statistics it would pick mailbox_ready (every leased row) once the list
 * has three ids.
 */
export const ACKED_BY_IDS = (marks: string) => `SELECT * FROM mailbox WHERE +state = 'leased' AND lease_until > ? AND ack_id IN (${marks})`;

/** While its message waits here, a partition row is not re-sent by the partition's alarm. */
const HOLD_MS = 7 * 86_400_000;

export interface PullOptions {
  maxMessages: number;
  visibilityTimeoutSeconds: number;
  maxAttempts: number;
  ordered: boolean;
}

export interface PulledMessage {
  ackId: string;
  deliveryId: string;
  attempt: number;
  /** Set when a replay created this delivery. */
  replayId?: string;
  event: Record<string, unknown> & { partitionKey: string; sequence: number; previousSequence: number };
}

interface Row {
  delivery_id: string;
  partition_key: string;
  attempt: number;
  attempt_base: number;
  state: "ready" | "leased";
  visible_at: number;
  ack_id: string | null;
  leased_at: number | null;
  lease_until: number | null;
  event_id: string | null;
  seq: number | null;
  prev_seq: number | null;
  [key: string]: SqlStorageValue;
}

export class Mailbox {
  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
    private readonly log: (tenantId: string, entries: LogEntry[]) => Promise<void>,
    /** Messages became pullable (long polls waiting here may answer). */
    private readonly arrived: () => void,
  ) {}

  /** Takes the queue's messages for this subscription; the partition rows are held meanwhile. */
  async enqueue(tenantId: string, messages: DeliveryMessage[]): Promise<void> {
    const now = Date.now();
    for (const m of messages) {
      this.sql.exec(
        `INSERT OR IGNORE INTO mailbox (delivery_id, partition_key, attempt, state, visible_at, created_at)
           VALUES (?, ?, ?, 'ready', ?, ?)`,
        m.deliveryId,
        m.partitionKey,
        m.attempt - 1,
        now,
        now,
      );
    }
    await Promise.all(
      [...groupBy(messages, (m) => m.partitionKey)].map(([partitionKey, list]) =>
        partitionStub(this.env, tenantId, partitionKey).beginAttempts(
          list.map((m) => ({ deliveryId: m.deliveryId, deferUntil: now + HOLD_MS })),
        ),
      ),
    );
  }

  /** Gives claimed rows back in the state they were selected in (a pull that failed before handing them out). */
  private unclaim(rows: Row[]): void {
    for (const r of rows) {
      this.sql.exec(
        "UPDATE mailbox SET state = ?, ack_id = ?, lease_until = ? WHERE delivery_id = ?",
        r.state,
        r.ack_id,
        r.lease_until,
        r.delivery_id,
      );
    }
  }

  /** The earliest time a message becomes pullable (for long polls), or null. */
  nextVisible(): number | null {
    const r = this.sql
      .exec<{ t: number | null }>("SELECT min(CASE WHEN state = 'ready' THEN visible_at ELSE lease_until END) AS t FROM mailbox")
      .one();
    return r.t;
  }

  async pull(tenantId: string, o: PullOptions): Promise<PulledMessage[]> {
    const now = Date.now();
    const due = this.sql
      .exec<Row>(
        `SELECT * FROM mailbox WHERE (state = 'ready' AND visible_at <= ?) OR (state = 'leased' AND lease_until <= ?)
           ORDER BY created_at, delivery_id LIMIT ?`,
        now,
        now,
        o.maxMessages,
      )
      .toArray();
    if (due.length === 0) return [];
    // Claimed before anything is awaited: a concurrent pull (the object takes other calls while
    // this one waits on the partitions) must not hand out, or drop, the same rows.
    const claimUntil = now + o.visibilityTimeoutSeconds * 1000;
    inSlices(
      due.map((r) => r.delivery_id),
      1,
      (ids, marks) =>
        this.sql.exec(
          `UPDATE mailbox SET state = 'leased', ack_id = NULL, lease_until = ? WHERE delivery_id IN (${marks})`,
          claimUntil,
          ...ids,
        ),
    );
    // An expired lease counts as a failed attempt; past maxAttempts the delivery is dead-lettered.
    const expired = due.filter((r) => r.state === "leased");
    const exhausted = expired.filter((r) => r.attempt - r.attempt_base >= o.maxAttempts);
    const go = due.filter((r) => !exhausted.includes(r));
    try {
      await this.settle(tenantId, exhausted, now, { settle: "FAILED", error: "visibility timeout expired" });
      await this.logFailures(
        tenantId,
        expired.filter((r) => !exhausted.includes(r)),
        now,
        "visibility timeout expired",
      );
    } catch (err) {
      // Nothing was handed out: the claimed rows are visible again for the next pull.
      this.unclaim(go);
      throw err;
    }
    const out: PulledMessage[] = [];
    await Promise.all(
      [...groupBy(go, (r) => r.partition_key)].map(async ([partitionKey, rows]) => {
        let results: Awaited<ReturnType<ReturnType<typeof partitionStub>["beginAttempts"]>>["results"];
        try {
          ({ results } = await partitionStub(this.env, tenantId, partitionKey).beginAttempts(
            rows.map((r) => ({
              deliveryId: r.delivery_id,
              attempt: r.attempt + 1,
              inFlightMs: o.visibilityTimeoutSeconds * 1000,
              ordered: o.ordered,
            })),
          ));
        } catch (err) {
          // Not begun: the claimed rows are given back as they were, for the next pull.
          this.unclaim(rows);
          console.error(JSON.stringify({ level: "error", message: "pull could not begin deliveries", partitionKey, error: String(err) }));
          return;
        }
        rows.forEach((r, k) => {
          const result = results[k];
          if (!result || !("began" in result)) {
            // Settled meanwhile (or begun elsewhere): nothing to hand out.
            this.sql.exec("DELETE FROM mailbox WHERE delivery_id = ?", r.delivery_id);
            return;
          }
          const { began } = result;
          const { cacheInvalidation: _ci, ...event } = parseStored(began.event);
          const ackId = newId("ack");
          this.sql.exec(
            `UPDATE mailbox SET state = 'leased', attempt = ?, attempt_base = ?, ack_id = ?, leased_at = ?, lease_until = ?,
               event_id = ?, seq = ?, prev_seq = ? WHERE delivery_id = ?`,
            began.attempt,
            began.attemptBase,
            ackId,
            now,
            now + o.visibilityTimeoutSeconds * 1000,
            event.id,
            event.sequence,
            began.previousSequence,
            r.delivery_id,
          );
          out.push({
            ackId,
            deliveryId: r.delivery_id,
            attempt: began.attempt,
            ...(began.replayId ? { replayId: began.replayId } : {}),
            event: { ...event, previousSequence: began.previousSequence },
          });
        });
      }),
    );
    return out.sort((a, b) => a.event.partitionKey.localeCompare(b.event.partitionKey) || a.event.sequence - b.event.sequence);
  }

  async ack(tenantId: string, ackIds: string[]): Promise<number> {
    const rows = this.leased(ackIds);
    await this.settle(tenantId, rows, Date.now(), { settle: "DELIVERED" });
    return rows.length;
  }

  /** Visible again after `delaySeconds`; the attempt counts as failed (the last one dead-letters). */
  async nack(tenantId: string, ackIds: string[], delaySeconds: number, maxAttempts: number): Promise<number> {
    const now = Date.now();
    const rows = this.leased(ackIds);
    const exhausted = rows.filter((r) => r.attempt - r.attempt_base >= maxAttempts);
    await this.settle(tenantId, exhausted, now, { settle: "FAILED", error: "nacked" });
    const again = rows.filter((r) => !exhausted.includes(r));
    for (const r of again) {
      this.sql.exec(
        "UPDATE mailbox SET state = 'ready', ack_id = NULL, visible_at = ?, lease_until = NULL WHERE delivery_id = ?",
        now + delaySeconds * 1000,
        r.delivery_id,
      );
    }
    await this.record(tenantId, again, now, { retryInSeconds: delaySeconds, error: "nacked" });
    await this.logFailures(tenantId, again, now, "nacked");
    return rows.length;
  }

  extend(ackIds: string[], visibilityTimeoutSeconds: number): number {
    const now = Date.now();
    const rows = this.leased(ackIds);
    for (const r of rows)
      this.sql.exec("UPDATE mailbox SET lease_until = ? WHERE delivery_id = ?", now + visibilityTimeoutSeconds * 1000, r.delivery_id);
    return rows.length;
  }

  /** Leases still held (an ackId is valid only for the lease that returned it). */
  private leased(ackIds: string[]): Row[] {
    const now = Date.now();
    const unique = [...new Set(ackIds)];
    if (unique.length === 0) return [];
    const rows: Row[] = [];
    inSlices(unique, 1, (slice, marks) => rows.push(...this.sql.exec<Row>(ACKED_BY_IDS(marks), now, ...slice).toArray()));
    return rows;
  }

  /** Settles rows on their partitions and in the log, and forgets them here. */
  private async settle(
    tenantId: string,
    rows: Row[],
    now: number,
    outcome: { settle: "DELIVERED" | "FAILED"; error?: string },
  ): Promise<void> {
    if (rows.length === 0) return;
    for (const r of rows) this.sql.exec("DELETE FROM mailbox WHERE delivery_id = ?", r.delivery_id);
    await this.record(tenantId, rows, now, outcome);
    await this.log(
      tenantId,
      rows.map((r) => this.entry(r, outcome.settle, now, outcome.error)),
    );
  }

  private async record(tenantId: string, rows: Row[], now: number, extra: Omit<AttemptOutcome, "attempt" | "durationMs">): Promise<void> {
    const released: DeliveryMessage[] = [];
    await Promise.all(
      [...groupBy(rows, (r) => r.partition_key)].map(async ([partitionKey, list]) => {
        const { next } = await partitionStub(this.env, tenantId, partitionKey).recordAttempts(
          list.map((r) => ({
            deliveryId: r.delivery_id,
            outcome: { attempt: r.attempt, durationMs: now - (r.leased_at ?? now), ...extra },
          })),
          true,
        );
        released.push(...next);
      }),
    );
    // An ordered subscription's next messages come straight here, not through the queue — unless
    // the subscription is no longer active: then their leases run out and the consumer drops them.
    const live =
      released.length > 0 ? await activeSubscription(this.env, tenantId, (released[0] as DeliveryMessage).subscriptionId) : undefined;
    if (live) {
      await this.enqueue(tenantId, released);
      this.arrived();
    }
  }

  private async logFailures(tenantId: string, rows: Row[], now: number, error: string): Promise<void> {
    if (rows.length > 0)
      await this.log(
        tenantId,
        rows.map((r) => this.entry(r, "PENDING", now, error)),
      );
  }

  private entry(r: Row, status: LogEntry["status"], now: number, error?: string): LogEntry {
    return {
      deliveryId: r.delivery_id,
      eventId: r.event_id ?? "",
      partitionKey: r.partition_key,
      sequence: r.seq ?? 0,
      previousSequence: r.prev_seq ?? 0,
      status,
      attempt: { attempt: r.attempt, durationMs: now - (r.leased_at ?? now), at: now, ...(error ? { error } : {}) },
    };
  }
}
