/** The delivery log's entries, as the sender and the consumer report them to the Endpoint object. */
import type { DeliveryStatus } from "../../schemas/event.js";

export interface AttemptEntry {
  attempt: number;
  statusCode?: number;
  durationMs: number;
  error?: string;
  at: number;
}

/** One delivery's news from a consumer batch. */
export interface LogEntry {
  deliveryId: string;
  eventId: string;
  partitionKey: string;
  sequence: number;
  previousSequence: number;
  status: DeliveryStatus;
  attempt?: AttemptEntry;
}

/** Where a recovery continues: after this row of the log (its time and id). */
export interface RecoverCursor {
  at: number;
  id: string;
}
