/** Subscriptions and webhooks (a webhook is a subscription with a URL): bodies and records. */
import { z } from "@hono/zod-openapi";
import { LIMITS } from "../config.js";
import type { FilterPattern } from "../domain/filters.js";
import { isValidRoutingPattern, isValidTypePattern } from "../domain/patterns.js";
import { DeliveryFormat } from "./cloudevent.js";
import { OrderingSchema, RateLimitSchema, RetryPolicyPatchSchema, RetryPolicySchema } from "./common.js";

export const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "letters, digits, '.', '_' or '-', at most 100, starting with a letter or digit")
  .openapi({ example: "inventory-service" });

export const TypePatterns = z
  .array(
    z.string().max(LIMITS.typeChars).refine(isValidTypePattern, "not a valid event type pattern (dotted lower-case words, '*' or '#')"),
  )
  .max(LIMITS.patternsPerSubscription)
  .openapi({ example: ["order.created", "order.*.changed", "payment.#"] });

export const RoutingPatterns = z
  .array(z.string().max(LIMITS.routingKeyChars).refine(isValidRoutingPattern, "not a valid routing key pattern (dotted words, '*' or '#')"))
  .max(LIMITS.patternsPerSubscription)
  .openapi({ example: ["order.region.us-east.#"] });

export const TargetUrl = z.string().max(2048).openapi({ example: "https://example.com/webhook" });

/** A content filter (EventBridge event-pattern syntax); its operators and limits are checked by the service. */
export const Filter = z.record(z.string(), z.unknown()).openapi({
  description:
    "An event pattern in Amazon EventBridge's syntax over the envelope (type, source, routingKey, partitionKey, metadata, data); see docs/filters.md. At most 4 KiB, 6 levels, 100 leaves.",
  example: { data: { amount: [{ numeric: [">=", 100] }], currency: ["EUR", "USD"] } },
});

export const Secret = z.string().openapi({ example: "webhook-secret-123" });

export const CreateSubscriptionSchema = z
  .object({
    name: Name,
    events: TypePatterns.optional(),
    routingKeys: RoutingPatterns.optional(),
    filter: Filter.optional(),
    url: TargetUrl.optional(),
    secret: Secret.optional(),
    retryPolicy: RetryPolicySchema.optional(),
    ordering: OrderingSchema.optional(),
    rateLimit: RateLimitSchema.optional(),
    format: DeliveryFormat.optional(),
  })
  .strict()
  .openapi("CreateSubscription");

export const UpdateSubscriptionSchema = z
  .object({
    name: Name.optional(),
    events: TypePatterns.optional(),
    routingKeys: RoutingPatterns.optional(),
    filter: Filter.nullable().optional().openapi({ description: "null removes the filter." }),
    url: TargetUrl.optional(),
    retryPolicy: RetryPolicyPatchSchema.optional(),
    status: z.enum(["ACTIVE", "DISABLED"]).optional(),
    ordering: OrderingSchema.optional(),
    rateLimit: RateLimitSchema.nullable().optional().openapi({ description: "null removes the limit." }),
    format: DeliveryFormat.optional(),
  })
  .strict()
  .openapi("UpdateSubscription");

export type CreateSubscription = z.infer<typeof CreateSubscriptionSchema>;
export type UpdateSubscription = z.infer<typeof UpdateSubscriptionSchema>;

export const SubscriptionStatus = z.enum(["ACTIVE", "DISABLED"]);

export const SubscriptionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    events: z.array(z.string()),
    routingKeys: z.array(z.string()),
    filter: Filter.optional(),
    url: z.string().optional(),
    status: SubscriptionStatus,
    retryPolicy: RetryPolicySchema.optional(),
    ordering: OrderingSchema,
    rateLimit: RateLimitSchema.optional(),
    format: DeliveryFormat,
    disabledReason: z.string().optional(),
    disabledAt: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Subscription");

export type SubscriptionView = z.infer<typeof SubscriptionSchema>;

/** What a pending backlog looks like from the endpoint's side. */
export const BacklogSchema = z
  .object({
    pending: z.number().int().openapi({ description: "Deliveries not settled yet (waiting, in backoff, or in flight)." }),
    inFlight: z.number().int().openapi({ description: "Requests to the endpoint right now." }),
    oldestPendingSeconds: z.number().int().openapi({ description: "Age of the oldest pending delivery's event; 0 when none." }),
  })
  .openapi("Backlog");
export type Backlog = z.infer<typeof BacklogSchema>;

/** GET of one subscription or webhook: the record plus the live state of its deliveries. */
export const SubscriptionDetailSchema = SubscriptionSchema.extend({
  backlog: BacklogSchema,
  pausedUntil: z.string().optional().openapi({ description: "Set while a 429/503 with Retry-After pauses the whole endpoint." }),
}).openapi("SubscriptionDetail");

export interface SigningSecret {
  secret: string;
  /** Unix ms after which an old secret no longer signs (rotation grace); absent for the current one. */
  expiresAt?: number;
}

/** What the Tenant object stores and the isolate caches: the view plus the signing secrets. */
export interface SubscriptionRecord extends Omit<SubscriptionView, "ordering" | "format" | "filter"> {
  /** A validated content filter (JSON). */
  filter?: FilterPattern;
  /** Absent on records written before ordering existed: "none". */
  ordering?: SubscriptionView["ordering"];
  /** Absent on records written before formats existed: "json". */
  format?: SubscriptionView["format"];
  secrets: SigningSecret[];
}

export const SubscriptionListSchema = z.object({ subscriptions: z.array(SubscriptionSchema) }).openapi("SubscriptionList");

export function toView(record: SubscriptionRecord): SubscriptionView {
  const { secrets: _secrets, ...view } = record;
  return { ...view, ordering: record.ordering ?? "none", format: record.format ?? "json" };
}

export const SubscriptionCreatedSchema = SubscriptionSchema.extend({
  secret: z.string().optional().openapi({ description: "Present only when the secret was generated: shown once." }),
}).openapi("SubscriptionCreated");
