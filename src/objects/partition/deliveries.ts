/**
 * The Partition object's delivery-state transitions, as plain functions over its SQL: begin an
 * attempt (or drop the row), and record an attempt's outcome. The object runs a consumer batch's
 * worth of them in one transaction per call, so a batch costs two calls per partition, not two
 * per message.
 */
import type { AttemptOutcome, BeganAttempt, DeliveryRow } from "./sql.js";

/** Begin attempt `attempt` (lease past its timeout), or settle the row as DROPPED with a reason. */
export type BeginRequest =
  /** `inFlightMs`: how long the attempt may take from now (its timeout, times the rounds it may wait for a lane). */
  { deliveryId: string; attempt: number; inFlightMs: number } | { deliveryId: string; drop: string };

export type BeginResult =
  | { began: BeganAttempt }
  | { dropped: { eventId: string; sequence: number } }
  /** Settled already, or this attempt started elsewhere: send nothing. */
  | { stale: true };

export interface RecordRequest {
  deliveryId: string;
  outcome: AttemptOutcome;
}

export function begin(sql: SqlStorage, req: BeginRequest, now: number): BeginResult {
  const row = sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE id = ?", req.deliveryId).toArray()[0];
  if (row?.status !== "PENDING") return { stale: true };
  if ("drop" in req) {
    sql.exec("UPDATE deliveries SET status = 'DROPPED', last_error = ?, updated_at = ? WHERE id = ?", req.drop, now, req.deliveryId);
    return { dropped: { eventId: row.event_id, sequence: row.seq } };
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
    },
  };
}

/** Writes an outcome back: settled, or pending with its next attempt time and lease. */
export function record(sql: SqlStorage, { deliveryId, outcome }: RecordRequest, now: number, leaseMs: number): void {
  const nextAt = outcome.retryInSeconds === undefined ? null : now + outcome.retryInSeconds * 1000;
  sql.exec(
    `UPDATE deliveries SET status = ?, next_attempt_at = ?, lease_until = ?, last_error = ?, updated_at = ?
       WHERE id = ? AND status = 'PENDING' AND attempts = ?`,
    outcome.settle ?? "PENDING",
    nextAt,
    nextAt === null ? now : nextAt + leaseMs,
    outcome.error ?? null,
    now,
    deliveryId,
    outcome.attempt, // an older attempt's late outcome never overwrites a newer attempt's state
  );
  sql.exec(
    "INSERT OR REPLACE INTO attempts (delivery_id, attempt, status_code, duration_ms, error, at) VALUES (?, ?, ?, ?, ?, ?)",
    deliveryId,
    outcome.attempt,
    outcome.statusCode ?? null,
    outcome.durationMs,
    outcome.error ?? null,
    now,
  );
}
