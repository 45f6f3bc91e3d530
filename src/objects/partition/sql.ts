/** The Partition object's SQL schema and row shapes (private to it and its tests). */
import type { DeliveryStatus, StoredEventText } from "../../schemas/event.js";
import { META_TABLE } from "../kit/meta.js";
import { STREAM_TOKENS_TABLE } from "./live-tail.js";

export const MIGRATIONS = [
  META_TABLE,
  `CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
     result TEXT NOT NULL, created_at INTEGER NOT NULL)`,
  "CREATE INDEX events_created ON events (created_at)",
  `CREATE TABLE deliveries (id TEXT PRIMARY KEY, event_id TEXT NOT NULL, seq INTEGER NOT NULL,
     subscription_id TEXT NOT NULL, subscription_name TEXT NOT NULL, status TEXT NOT NULL,
     attempts INTEGER NOT NULL, lease_until INTEGER NOT NULL, next_attempt_at INTEGER,
     last_error TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`,
  "CREATE INDEX deliveries_pending ON deliveries (status, lease_until)",
  "CREATE INDEX deliveries_event ON deliveries (event_id)",
  `CREATE TABLE attempts (delivery_id TEXT NOT NULL, attempt INTEGER NOT NULL, status_code INTEGER,
     duration_ms INTEGER NOT NULL, error TEXT, at INTEGER NOT NULL, PRIMARY KEY (delivery_id, attempt))`,
  // A redelivery gives the row a fresh attempt budget: attempts before the base do not count.
  "ALTER TABLE deliveries ADD COLUMN attempt_base INTEGER NOT NULL DEFAULT 0",
  // The previous sequence of this partition routed to the row's subscription (X-Previous-Sequence).
  "ALTER TABLE deliveries ADD COLUMN prev_seq INTEGER NOT NULL DEFAULT 0",
  // Ordered subscriptions: `blocked` rows wait, unsent, until every earlier row of their
  // subscription is settled; the ordering state lives with the rows, so it survives restarts.
  "ALTER TABLE deliveries ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0",
  "ALTER TABLE deliveries ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0",
  "CREATE INDEX deliveries_subscription ON deliveries (subscription_id, status, seq)",
  "CREATE TABLE routed (subscription_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL)",
  // A delivery created by a replay (X-Replay-Id), not by the publish.
  "ALTER TABLE deliveries ADD COLUMN replay_id TEXT",
  // Single-use tokens that open the live tail from a browser (live-tail.ts).
  STREAM_TOKENS_TABLE,
  // One index for a subscription's rows by state: finding the next blocked row of an ordered
  // subscription is a seek (it used to walk every pending row, on every begin and every record),
  // and the backlog's count and oldest time are read from the index alone.
  "DROP INDEX deliveries_subscription",
  "CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, status, blocked, seq, created_at)",
  // Attempts are kept in the endpoint's delivery log; this table was written and never read.
  "DROP TABLE attempts",
  // Both indexes hold pending rows only: settling a row removes its entries instead of moving
  // them (a settled row is read by id or by event, never through these), and the indexes stay as
  // small as the backlog. `status` stays a column so the queries that name it are covered.
  "DROP INDEX deliveries_pending",
  "CREATE INDEX deliveries_due ON deliveries (status, blocked, lease_until) WHERE status = 'PENDING'",
  "DROP INDEX deliveries_by_subscription",
  "CREATE INDEX deliveries_waiting ON deliveries (subscription_id, status, blocked, seq, created_at) WHERE status = 'PENDING'",
];

export interface DeliveryRow {
  id: string;
  event_id: string;
  seq: number;
  subscription_id: string;
  subscription_name: string;
  status: DeliveryStatus;
  attempts: number;
  lease_until: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  attempt_base: number;
  prev_seq: number;
  ordered: number;
  blocked: number;
  replay_id: string | null;
  [key: string]: SqlStorageValue;
}

export interface AttemptOutcome {
  attempt: number;
  statusCode?: number;
  durationMs: number;
  error?: string;
  /** Set when the delivery is settled by this attempt. */
  settle?: Exclude<DeliveryStatus, "PENDING">;
  /** Set when another attempt follows after this many seconds. */
  retryInSeconds?: number;
}

export interface BeganAttempt {
  event: StoredEventText;
  /** The row's lease: if the attempt has not finished by then, the partition sends it again. */
  leaseUntil: number;
  attempt: number;
  /** Attempts up to this number belong to an earlier round (before a redelivery). */
  attemptBase: number;
  subscriptionId: string;
  previousSequence: number;
  /** Set when a replay created this delivery. */
  replayId?: string;
}

/** A subscription's unsettled deliveries in one partition, for the endpoint's backlog. */
export interface PartitionBacklog {
  subscriptionId: string;
  pending: number;
  /** When the oldest pending row's event was accepted; null when none is pending. */
  oldestAt: number | null;
}

export function deliveryView(r: DeliveryRow) {
  return {
    deliveryId: r.id,
    subscriptionId: r.subscription_id,
    subscription: r.subscription_name,
    status: r.status,
    attempts: r.attempts,
    previousSequence: r.prev_seq,
    ...(r.next_attempt_at !== null && r.status === "PENDING" ? { nextAttemptAt: new Date(r.next_attempt_at).toISOString() } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
  };
}

/**
 * Statements over a list of delivery ids; `marks` is one `?` per id, bound after the other values.
 * `+status` keeps SQLite on the ids' primary key: without statistics it would pick the partial
 * index on status (every pending row) once the list has three ids.
 */
export const BY_IDS = {
  /** A queued chunk the queue refused: the short hand-off lease, if nobody moved the lease since. */
  handOffLease: (marks: string) =>
    `UPDATE deliveries SET lease_until = ? WHERE +status = 'PENDING' AND lease_until = ? AND id IN (${marks})`,
  /** Rows the queue took. MAX: never shorten a lease the consumer already extended (an attempt in flight, a backoff). */
  sentLease: (marks: string) =>
    `UPDATE deliveries SET lease_until = MAX(lease_until, ?) WHERE +status = 'PENDING' AND blocked = 0 AND id IN (${marks})`,
  /** Rows handed back to an Endpoint object without the queue. */
  handBackLease: (marks: string) =>
    `UPDATE deliveries SET lease_until = MAX(lease_until, ?) WHERE +status = 'PENDING' AND id IN (${marks})`,
  /** Outcomes that write the same values; an older attempt's late outcome never overwrites a newer attempt's state. */
  record: (marks: string) =>
    `UPDATE deliveries SET status = ?, next_attempt_at = ?, lease_until = ?, last_error = ?, updated_at = ?
     WHERE +status = 'PENDING' AND attempts = ? AND id IN (${marks}) RETURNING subscription_id`,
};
