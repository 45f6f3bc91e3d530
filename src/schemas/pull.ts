/** Pull subscriptions: the pull, ack, nack and extend bodies, and the messages a pull returns. */
import { z } from "@hono/zod-openapi";

const MAX_VISIBILITY_S = 43_200;

export const PullSchema = z
  .object({
    maxMessages: z.number().int().min(1).max(100).default(10),
    visibilityTimeoutSeconds: z.number().int().min(1).max(MAX_VISIBILITY_S).default(30),
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(20)
      .default(0)
      .openapi({ description: "Long poll: answer as soon as a message is available." }),
  })
  .strict()
  .openapi("Pull");

const AckIds = z.array(z.string().min(1).max(64)).min(1).max(1000);

export const AckSchema = z.object({ ackIds: AckIds }).strict().openapi("Ack");

export const NackSchema = z
  .object({ ackIds: AckIds, delaySeconds: z.number().int().min(0).max(MAX_VISIBILITY_S).default(0) })
  .strict()
  .openapi("Nack");

export const ExtendSchema = z
  .object({ ackIds: AckIds, visibilityTimeoutSeconds: z.number().int().min(1).max(MAX_VISIBILITY_S) })
  .strict()
  .openapi("Extend");

export const PulledSchema = z
  .object({
    messages: z.array(
      z.object({
        ackId: z.string(),
        deliveryId: z.string(),
        attempt: z.number().int(),
        replayId: z.string().optional(),
        event: z
          .object({
            id: z.string(),
            type: z.string(),
            partitionKey: z.string(),
            sequence: z.number().int(),
            previousSequence: z.number().int(),
          })
          .passthrough(),
      }),
    ),
  })
  .openapi("Pulled");
