/** /webhooks bodies: the registration shape `{url, events, secret, retryPolicy}`, the delivery log, recovery and rotation. */
import { z } from "@hono/zod-openapi";
import { DeliveryFormat } from "./cloudevent.js";
import { OrderingSchema, RateLimitSchema, RetryPolicySchema } from "./common.js";
import { DeliveryStatus } from "./event.js";
import {
  Filter,
  Name,
  RoutingPatterns,
  Secret,
  SubscriptionDetailSchema,
  SubscriptionSchema,
  TargetUrl,
  TypePatterns,
  UpdateSubscriptionSchema,
} from "./subscription.js";

export const CreateWebhookSchema = z
  .object({
    url: TargetUrl,
    events: TypePatterns.optional(),
    secret: Secret.optional(),
    retryPolicy: RetryPolicySchema.optional(),
    name: Name.optional(),
    routingKeys: RoutingPatterns.optional(),
    filter: Filter.optional(),
    ordering: OrderingSchema.optional(),
    rateLimit: RateLimitSchema.optional(),
    format: DeliveryFormat.optional(),
  })
  .strict()
  .openapi("CreateWebhook");

export const WebhookSchema = SubscriptionSchema.extend({ webhookId: z.string() }).openapi("Webhook");
export const WebhookDetailSchema = SubscriptionDetailSchema.extend({ webhookId: z.string() }).openapi("WebhookDetail");

export const WebhookCreatedSchema = WebhookSchema.extend({
  secret: z.string().optional().openapi({ description: "Present only when generated: shown once." }),
}).openapi("WebhookCreated");

export const UpdateWebhookSchema = UpdateSubscriptionSchema.extend({
  recover: z.boolean().optional().openapi({ description: "With status ACTIVE: send again what failed or was dropped while disabled." }),
}).openapi("UpdateWebhook");

export const WebhookUpdatedSchema = WebhookCreatedSchema.extend({ recovered: z.number().int().optional() }).openapi("WebhookUpdated");

export const DeliveryLogSchema = z
  .object({
    deliveries: z.array(
      z.object({
        deliveryId: z.string(),
        eventId: z.string(),
        partitionKey: z.string(),
        sequence: z.number().int(),
        previousSequence: z
          .number()
          .int()
          .openapi({ description: "The previous event of this partition routed to this subscription; 0 if none." }),
        status: DeliveryStatus,
        attempts: z.array(
          z.object({
            attempt: z.number().int(),
            statusCode: z.number().int().optional(),
            durationMs: z.number().int(),
            error: z.string().optional(),
            at: z.string(),
          }),
        ),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .openapi("DeliveryLog");

export const DeliveryLogQuery = z.object({
  status: DeliveryStatus.optional().openapi({ param: { name: "status", in: "query" } }),
  cursor: z
    .string()
    .max(512)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
});

export const RecoverSchema = z
  .object({ since: z.iso.datetime({ offset: true }) })
  .strict()
  .openapi("Recover");

export const RotateSecretSchema = z
  .object({
    secret: Secret.optional(),
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(86_400),
  })
  .strict()
  .optional()
  .openapi("RotateSecret");

export const RotatedSchema = z
  .object({ webhookId: z.string(), secret: z.string().optional(), previousSecretExpiresAt: z.string().nullable() })
  .openapi("SecretRotated");

export const TestResultSchema = z
  .object({ ok: z.boolean(), statusCode: z.number().int().optional(), durationMs: z.number().int(), error: z.string().optional() })
  .openapi("WebhookTestResult");
