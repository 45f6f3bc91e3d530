/**
 * Queue message bodies: references, plus (for a first attempt from a publish) a small event
 * inline, within a budget per publish so any fan-out still fits sendBatch.
 */
import { z } from "zod";

export const DeliveryMessageSchema = z.object({
  kind: z.literal("delivery"),
  tenantId: z.string(),
  partitionKey: z.string(),
  deliveryId: z.string(),
  subscriptionId: z.string(),
  /** The attempt this message is for; a message for an attempt already started is stale and skipped. */
  attempt: z.number().int().positive(),
  /** When the partition handed it to the queue (the partition learns the queue's lag from it). */
  sentAt: z.number().int().optional(),
  /**
   * The event as stored, when the partition put it in the message (a first attempt of a webhook,
   * unordered, small event): the endpoint can send at once and write the attempt's start together
   * with its outcome, instead of asking the partition for both.
   */
  event: z.object({ body: z.string(), sequence: z.number().int(), previousSequence: z.number().int() }).optional(),
});

export type DeliveryMessage = z.infer<typeof DeliveryMessageSchema>;
