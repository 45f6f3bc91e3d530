/** Queue message bodies: references only, never event bodies (so any fan-out fits sendBatch). */
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
});

export type DeliveryMessage = z.infer<typeof DeliveryMessageSchema>;
