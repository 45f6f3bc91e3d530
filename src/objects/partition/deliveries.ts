/**
 * The Partition object's delivery-state transitions, as plain functions over its SQL: begin an
 * attempt, defer it (throttled or paused: no attempt used), drop the row, record an attempt's
 * outcome, and hand out the next row of an ordered subscription. The object runs a consumer
 * batch's worth of them in one transaction per call, so a batch costs two calls per partition,
 * not two per message.
 */
import type { DeliveryMessage } from "../../schemas/messages.js";
import type { AttemptOutcome, BeganAttempt, DeliveryRow, PartitionBacklog } from "./sql.js";

/** A blocked row is not sent, so its lease never runs out. */
export const BLOCKED_LEASE = Number.MAX_SAFE_INTEGER;

export type BeginRequest =
  /**
   * Begin attempt `attempt`. `inFlightMs`: how long it may take from now; `ordered`: the
   * subscription's ordering now (a change to "none" releases its waiting rows).
   */
  | { deliveryId: string; attempt: number; inFlightMs: number; ordered: boolean }
  /** Not now (rate limit or a paused endpoint): no attempt is used; the row is leased until then. */
  | { deliveryId: string; deferUntil: number }
  | { deliveryId: string; drop: string };

export type BeginResult =
  | { began: BeganAttempt }
  | { dropped: { eventId: string; sequence: number; previousSequence: number } }
  | { deferred: true }
  /** Settled already, or this attempt started elsewhere: send nothing. */
  | { stale: true };

export interface RecordRequest {
  deliveryId: string;
  outcome: AttemptOutcome;
}

export function begin(sql: SqlStorage, req: BeginRequest, now: number, leaseMs: number): BeginResult {
  const row = sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE id = ?", req.deliveryId).toArray()[0];
  if (row?.status !== "PENDING" || row.blocked === 1) return { stale: true };
  if ("drop" in req) {
    sql.exec("UPDATE deliveries SET status = 'DROPPED', last_error = ?, updated_at = ? WHERE id = ?", req.drop, now, req.deliveryId);
    return { dropped: { eventId: row.event_id, sequence: row.seq, previousSequence: row.prev_seq } };
  }
  if ("deferUntil" in req) {
    sql.exec(
      "UPDATE deliveries SET lease_until = MAX(lease_until, ?), updated_at = ? WHERE id = ?",
      req.deferUntil + leaseMs,
      now,
      req.deliveryId,
    );
    return { deferred: true };
  }
  if (row.attempts >= req.attempt) return { stale: true };
  sql.exec(
    "UPDATE deliveries SET attempts = ?, lease_until = ?, updated_at = ? WHERE id = ?",
    req.attempt,
    now + req.inFlightMs + 30_000,
    now,
    req.deliveryId,
  );
  const ev = sql.exec<{ seq: number; body: string }>("SELECT seq, body FROM events WHERE id = ?", row.event_id).one();
  return {
    began: {
      event: { body: ev.body, sequence: ev.seq },
      attempt: req.attempt,
      attemptBase: row.attempt_base,
      subscriptionId: row.subscription_id,
      previousSequence: row.prev_seq,
      ...(row.replay_id !== null ? { replayId: row.replay_id } : {}),
    },
  };
}

/** Writes an outcome back: settled, or pending with its next attempt time and lease. True when it settled the row. */
export function record(sql: SqlStorage, { deliveryId, outcome }: RecordRequest, now: number, leaseMs: number): boolean {
  const nextAt = outcome.retryInSeconds === undefined ? null : now + outcome.retryInSeconds * 1000;
  const updated = sql.exec(
    `UPDATE deliveries SET status = ?, next_attempt_at = ?, lease_until = ?, last_error = ?, updated_at = ?
       WHERE id = ? AND status = 'PENDING' AND attempts = ?`,
    outcome.settle ?? "PENDING",
    nextAt,
    nextAt === null ? now : nextAt + leaseMs,
    outcome.error ?? null,
    now,
    deliveryId,
    outcome.attempt, // an older attempt's late outcome never overwrites a newer attempt's state
  ).rowsWritten;
  sql.exec(
    "INSERT OR REPLACE INTO attempts (delivery_id, attempt, status_code, duration_ms, error, at) VALUES (?, ?, ?, ?, ?, ?)",
    deliveryId,
    outcome.attempt,
    outcome.statusCode ?? null,
    outcome.durationMs,
    outcome.error ?? null,
    now,
  );
  return updated > 0 && outcome.settle !== undefined;
}

/**
 * Unblocks the rows of `subscriptionId` that may go now and returns them (to be sent): for an
 * ordered subscription the lowest waiting row once no earlier row is unsettled; with `all`
 * (the subscription is no longer ordered) every waiting row.
 */
export function release(sql: SqlStorage, subscriptionId: string, now: number, handoffMs: number, all = false): DeliveryRow[] {
  const waiting = sql
    .exec<DeliveryRow>(
      "SELECT * FROM deliveries WHERE subscription_id = ? AND status = 'PENDING' AND blocked = 1 ORDER BY seq LIMIT ?",
      subscriptionId,
      all ? 1000 : 1,
    )
    .toArray();
  const first = waiting[0];
  if (!first) return [];
  if (!all) {
    const ahead = sql
      .exec(
        "SELECT 1 FROM deliveries WHERE subscription_id = ? AND status = 'PENDING' AND blocked = 0 AND seq < ? LIMIT 1",
        subscriptionId,
        first.seq,
      )
      .toArray();
    if (ahead.length > 0) return [];
  }
  for (const row of waiting) {
    sql.exec("UPDATE deliveries SET blocked = 0, lease_until = ?, updated_at = ? WHERE id = ?", now + handoffMs, now, row.id);
  }
  return waiting;
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
