/**
 * The Partition object's delivery-state transitions, as plain functions over its SQL: begin an
 * attempt, defer it (throttled or paused: no attempt used), drop the row, record an attempt's
 * outcome, and hand out the next row of an ordered subscription. The object runs a consumer
 * batch's worth of them in one transaction per call, so a batch costs two calls per partition,
 * not two per message.
 */
import { groupBy } from "../../domain/group.js";
import type { DeliveryMessage } from "../../schemas/messages.js";
import { inSlices } from "../kit/sql-in.js";
import { type AttemptOutcome, type BeganAttempt, BY_IDS, type DeliveryRow, type PartitionBacklog } from "./sql.js";

/** A blocked row is not sent, so its lease never runs out. */
export const BLOCKED_LEASE = Number.MAX_SAFE_INTEGER;

export type BeginRequest =
  /**
   * Begin attempt `attempt`. `inFlightMs`: how long it may take from now; `ordered`: the
   * subscription's ordering now (a change to "none" releases its waiting rows).
   */
  | { deliveryId: string; attempt: number; inFlightMs: number; ordered: boolean }
  /**
   * Not now (rate limit or a paused endpoint): no attempt is used; the row is leased until then.
   * `unbegin`: the caller began this attempt (its lease running until `leaseUntil`) and never
   * sent it, so it is given back — while that lease runs: only then can the partition not have
   * sent the row again (its alarm sends rows whose lease ran out).
   */
  | { deliveryId: string; deferUntil: number; unbegin?: { attempt: number; leaseUntil: number } }
  | { deliveryId: string; drop: string };

export type BeginResult =
  | { began: BeganAttempt }
  | { dropped: { eventId: string; sequence: number; previousSequence: number } }
  /** `unbegun`: the attempt was given back. */
  | { deferred: true; unbegun?: true }
  /** Settled already, or this attempt started elsewhere: send nothing. */
  | { stale: true };

export interface RecordRequest {
  deliveryId: string;
  outcome: AttemptOutcome;
}

/**
 * A deferral until `deferUntil`; with `began` (the caller began the attempt and never sent it)
 * the attempt is given back too.
 */
export function deferRequest(deliveryId: string, deferUntil: number, began?: BeganAttempt): BeginRequest {
  return { deliveryId, deferUntil, ...(began ? { unbegin: { attempt: began.attempt, leaseUntil: began.leaseUntil } } : {}) };
}

/** Whether a deferral gave its attempt back. */
export const gaveBack = (r: BeginResult | undefined): boolean => r !== undefined && "deferred" in r && r.unbegun === true;

/** What begin found: the result and the row's subscription (undefined: no such row). */
export interface Begun {
  result: BeginResult;
  subscriptionId?: string;
}

export function begin(sql: SqlStorage, req: BeginRequest, now: number, leaseMs: number): Begun {
  // The row and its event in one statement: a begin is on every delivery's path.
  const row = sql
    .exec<DeliveryRow & { body: string | null }>(
      "SELECT d.*, e.body AS body FROM deliveries d LEFT JOIN events e ON e.id = d.event_id WHERE d.id = ?",
      req.deliveryId,
    )
    .toArray()[0];
  if (!row) return { result: { stale: true } };
  const found = { subscriptionId: row.subscription_id };
  if (row.status !== "PENDING" || row.blocked === 1) return { result: { stale: true }, ...found };
  // A redelivered row whose event was pruned meanwhile (past retention) has nothing to send.
  if (row.body === null && !("drop" in req)) req = { deliveryId: req.deliveryId, drop: "the event is past retention and no longer stored" };
  if ("drop" in req) {
    sql.exec("UPDATE deliveries SET status = 'DROPPED', last_error = ?, updated_at = ? WHERE id = ?", req.drop, now, req.deliveryId);
    return { result: { dropped: { eventId: row.event_id, sequence: row.seq, previousSequence: row.prev_seq } }, ...found };
  }
  if ("deferUntil" in req) {
    const unbegun = req.unbegin !== undefined && row.attempts === req.unbegin.attempt && now < req.unbegin.leaseUntil;
    sql.exec(
      "UPDATE deliveries SET attempts = ?, lease_until = MAX(lease_until, ?), updated_at = ? WHERE id = ?",
      unbegun ? row.attempts - 1 : row.attempts,
      req.deferUntil + leaseMs,
      now,
      req.deliveryId,
    );
    return { result: unbegun ? { deferred: true, unbegun: true } : { deferred: true }, ...found };
  }
  if (row.attempts >= req.attempt) return { result: { stale: true }, ...found };
  const leaseUntil = now + req.inFlightMs + 30_000;
  sql.exec(
    "UPDATE deliveries SET attempts = ?, lease_until = ?, updated_at = ? WHERE id = ?",
    req.attempt,
    leaseUntil,
    now,
    req.deliveryId,
  );
  return {
    result: {
      began: {
        event: { body: row.body as string, sequence: row.seq },
        leaseUntil,
        attempt: req.attempt,
        attemptBase: row.attempt_base,
        subscriptionId: row.subscription_id,
        previousSequence: row.prev_seq,
        ...(row.replay_id !== null ? { replayId: row.replay_id } : {}),
      },
    },
    ...found,
  };
}

/**
 * Writes outcomes back: settled, or pending with the next attempt time and lease. Returns, for
 * each row an outcome changed (an older attempt's late outcome does not), its subscription and
 * whether it settled. Outcomes that write the same values (most often: delivered at attempt 1)
 * share one UPDATE over their ids, so a call holds at most one outcome per delivery and attempt
 * (the senders report each attempt once). The attempt itself is kept in the endpoint's delivery log.
 */
export function record(
  sql: SqlStorage,
  requests: readonly RecordRequest[],
  now: number,
  leaseMs: number,
): Array<{ subscriptionId: string; settled: boolean }> {
  const changed: Array<{ subscriptionId: string; settled: boolean }> = [];
  const alike = groupBy(requests, ({ outcome: o }) => JSON.stringify([o.attempt, o.settle, o.retryInSeconds, o.error]));
  for (const group of alike.values()) {
    const { outcome } = group[0] as RecordRequest;
    const nextAt = outcome.retryInSeconds === undefined ? null : now + outcome.retryInSeconds * 1000;
    const settled = outcome.settle !== undefined;
    inSlices(
      group.map((r) => r.deliveryId),
      6,
      (ids, marks) => {
        const rows = sql.exec<{ subscription_id: string }>(
          BY_IDS.record(marks),
          outcome.settle ?? "PENDING",
          nextAt,
          nextAt === null ? now : nextAt + leaseMs,
          outcome.error ?? null,
          now,
          outcome.attempt,
          ...ids,
        );
        for (const row of rows) changed.push({ subscriptionId: row.subscription_id, settled });
      },
    );
  }
  return changed;
}

/**
 * The ordered subscriptions' waiting rows. Knows which subscriptions have no blocked row here, so
 * settling or beginning an unordered subscription's delivery costs no query; whoever blocks a row
 * says so with `blocked`.
 */
export class OrderedRows {
  /** Subscriptions known to have no blocked row in this partition. */
  private readonly clear = new Set<string>();

  constructor(private readonly sql: SqlStorage) {}

  /** A transaction rolled back: what was learnt inside it may be false now. */
  forget(): void {
    this.clear.clear();
  }

  /** A row of this subscription was written with blocked = 1. */
  blocked(subscriptionId: string): void {
    this.clear.delete(subscriptionId);
  }

  /**
   * Unblocks the rows of `subscriptionId` that may go now and returns them (to be sent): for an
   * ordered subscription the lowest waiting row once no earlier row is unsettled; with `all`
   * (the subscription is no longer ordered) every waiting row.
   */
  release(subscriptionId: string, now: number, handoffMs: number, all = false): DeliveryRow[] {
    if (this.clear.has(subscriptionId)) return [];
    const waiting = this.sql
      .exec<DeliveryRow>(
        "SELECT * FROM deliveries WHERE subscription_id = ? AND status = 'PENDING' AND blocked = 1 ORDER BY seq LIMIT ?",
        subscriptionId,
        all ? 1000 : 1,
      )
      .toArray();
    const first = waiting[0];
    if (!first) {
      this.clear.add(subscriptionId);
      return [];
    }
    if (!all) {
      const ahead = this.sql
        .exec(
          "SELECT 1 FROM deliveries WHERE subscription_id = ? AND status = 'PENDING' AND blocked = 0 AND seq < ? LIMIT 1",
          subscriptionId,
          first.seq,
        )
        .toArray();
      if (ahead.length > 0) return [];
    }
    for (const row of waiting) {
      this.sql.exec("UPDATE deliveries SET blocked = 0, lease_until = ?, updated_at = ? WHERE id = ?", now + handoffMs, now, row.id);
    }
    // More than 1,000 waited: the next call looks again.
    return waiting;
  }
}

/** The unsettled rows of each subscription here (for the endpoints' backlog figures). */
export function backlogOf(sql: SqlStorage, subscriptionIds: Iterable<string>): PartitionBacklog[] {
  return [...new Set(subscriptionIds)].map((subscriptionId) => {
    const r = sql
      .exec<{ n: number; oldest: number | null }>(
        "SELECT count(*) AS n, min(created_at) AS oldest FROM deliveries WHERE subscription_id = ? AND status = 'PENDING'",
        subscriptionId,
      )
      .one();
    return { subscriptionId, pending: r.n, oldestAt: r.oldest };
  });
}

export function messageFor(row: DeliveryRow, tenantId: string, partitionKey: string, now: number): DeliveryMessage {
  return {
    kind: "delivery",
    tenantId,
    partitionKey,
    deliveryId: row.id,
    subscriptionId: row.subscription_id,
    attempt: row.attempts + 1,
    sentAt: now,
  };
}
