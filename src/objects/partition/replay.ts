/**
 * One bounded step of a replay in a partition: the stored events in the requested range that
 * match the subscription now become new delivery rows (same event id, a new delivery id, the
 * replay's id), handed out like any other — an ordered subscription's still one at a time.
 */

import { type FilterPattern, matchFilter } from "../../domain/filters.js";
import { newId } from "../../domain/ids.js";
import { SubscriptionIndex } from "../../domain/patterns.js";
import { BLOCKED_LEASE } from "./deliveries.js";
import type { DeliveryRow } from "./sql.js";

export interface ReplayStep {
  replayId: string;
  subscription: { id: string; name: string; events: string[]; routingKeys: string[]; ordered: boolean; filter?: FilterPattern };
  /** Acceptance time range (ms), inclusive. */
  since: number;
  until: number;
  fromSequence: number;
  toSequence: number;
  /** Continue after this sequence; `previous`: the last sequence this replay matched here. */
  after: number;
  previous: number;
  limit: number;
}

export interface ReplayProgress {
  scanned: number;
  created: number;
  /** Where the next step continues; null when the partition is done. */
  after: number | null;
  previous: number;
}

export function replayStep(
  sql: SqlStorage,
  step: ReplayStep,
  now: number,
  handoffMs: number,
): { progress: ReplayProgress; rows: DeliveryRow[] } {
  const index = new SubscriptionIndex([
    { id: step.subscription.id, events: step.subscription.events, routingKeys: step.subscription.routingKeys },
  ]);
  const events = sql
    .exec<{ seq: number; id: string; body: string }>(
      `SELECT seq, id, body FROM events WHERE seq > ? AND seq >= ? AND seq <= ? AND created_at >= ? AND created_at <= ?
         ORDER BY seq LIMIT ?`,
      step.after,
      step.fromSequence,
      step.toSequence,
      step.since,
      step.until,
      step.limit,
    )
    .toArray();
  const rows: DeliveryRow[] = [];
  let previous = step.previous;
  let created = 0;
  for (const e of events) {
    const envelope = JSON.parse(e.body) as { type: string; routingKey?: string };
    if (index.match(envelope.type, envelope.routingKey).length === 0) continue;
    if (step.subscription.filter !== undefined && !matchFilter(step.subscription.filter, envelope)) continue;
    const blocked =
      step.subscription.ordered &&
      sql.exec("SELECT 1 FROM deliveries WHERE subscription_id = ? AND status = 'PENDING' LIMIT 1", step.subscription.id).toArray().length >
        0;
    const id = newId("dlv");
    sql.exec(
      `INSERT INTO deliveries (id, event_id, seq, subscription_id, subscription_name, status, attempts, lease_until, created_at,
         updated_at, prev_seq, ordered, blocked, replay_id) VALUES (?, ?, ?, ?, ?, 'PENDING', 0, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      e.id,
      e.seq,
      step.subscription.id,
      step.subscription.name,
      blocked ? BLOCKED_LEASE : now + handoffMs,
      now,
      now,
      previous,
      step.subscription.ordered ? 1 : 0,
      blocked ? 1 : 0,
      step.replayId,
    );
    previous = e.seq;
    created++;
    if (!blocked) rows.push(sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE id = ?", id).one());
  }
  const last = events.at(-1);
  return {
    progress: {
      scanned: events.length,
      created,
      after: events.length < step.limit || !last ? null : last.seq,
      previous,
    },
    rows,
  };
}
