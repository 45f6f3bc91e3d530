/** The event envelope (type, data, id, timestamp, source, metadata, plus routing/partition/cache fields) and publish results. */
import { z } from "@hono/zod-openapi";
import { LIMITS } from "../config.js";
import { CLIENT_ID } from "../domain/ids.js";
import { isValidEventType, isValidRoutingKey } from "../domain/patterns.js";
import { closestName } from "../domain/suggest.js";
import type { TraceContext } from "../domain/trace.js";
import { finiteNumbers, withinJsonDepth } from "./common.js";

export const EventId = z.string().regex(CLIENT_ID, "1–256 characters of letters, digits and . _ : ~ @ -");

/** Client partition keys; `_`-prefixed names are reserved for the automatic `_shard-<n>` partitions. */
export const ClientPartitionKey = z
  .string()
  .max(LIMITS.partitionKeyChars)
  .regex(CLIENT_ID, "1–256 characters of letters, digits and . _ : ~ @ -")
  .refine((k) => !k.startsWith("_"), "partition keys starting with '_' are reserved");

/** Any partition that can be read: a client key or an automatic `_shard-<n>`. */
export const PartitionName = z
  .string()
  .max(LIMITS.partitionKeyChars)
  .regex(CLIENT_ID)
  .openapi({ param: { name: "key", in: "path" }, example: "order-456" });

/** Members sometimes sent in an envelope that belong elsewhere, and where they go. */
const ELSEWHERE: Record<string, string> = {
  idempotencykey: 'send it as the Idempotency-Key header (or as "id")',
  payload: 'did you mean "data"?',
  body: 'did you mean "data"?',
  eventtype: 'did you mean "type"?',
  eventid: 'did you mean "id"?',
};

/**
 * An envelope object refuses members it does not know (they used to be dropped silently, so a
 * `routing_key` published with no routing): the message names each one and the member it is
 * probably a typo of.
 */
function unknownMembers(known: readonly string[]) {
  return (iss: z.core.$ZodRawIssue): string | undefined => {
    if (iss.code !== "unrecognized_keys") return undefined;
    const keys = iss.keys as string[];
    let unexplained = false;
    const named = keys.map((k) => {
      const close = closestName(k, known);
      const hint = close !== undefined ? `did you mean "${close}"?` : ELSEWHERE[k.toLowerCase().replace(/[_\-.]/g, "")];
      if (hint === undefined) unexplained = true;
      return keys.length === 1 ? `"${k}"${hint ? `; ${hint}` : ""}` : `"${k}"${hint ? ` (${hint})` : ""}`;
    });
    const list = keys.length === 1 ? `unknown member ${named[0]}` : `unknown members ${named.join(", ")}`;
    return unexplained ? `${list}; the members here are ${known.join(", ")}` : list;
  };
}

function jsonKind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

function envelopeObject<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape, { error: unknownMembers(Object.keys(shape)) });
}

export const PublishEventSchema = envelopeObject({
  id: EventId.optional().openapi({ example: "evt-12345" }),
  type: z
    .string({
      error: (iss) =>
        iss.input === undefined ? "is required: the event type, e.g. order.created" : `must be a string, not ${jsonKind(iss.input)}`,
    })
    .max(LIMITS.typeChars)
    .refine(isValidEventType, "lower-case dotted words, e.g. order.created")
    .openapi({ example: "order.created" }),
  timestamp: z.iso.datetime({ offset: true }).optional().openapi({ example: "2024-07-15T14:32:22Z" }),
  source: z.string().max(256).optional().openapi({ example: "order-service" }),
  subject: z
    .string()
    .max(256)
    .optional()
    .openapi({ description: "What the event is about within its source (CloudEvents `subject`).", example: "order-123" }),
  data: z
    .record(z.string(), z.unknown(), {
      error: (iss) =>
        iss.code !== "invalid_type"
          ? undefined
          : iss.input === undefined
            ? 'is required and must be a JSON object, e.g. {"orderId": "order-123"}'
            : `must be a JSON object, not ${jsonKind(iss.input)}`,
    })
    .refine(...withinJsonDepth)
    .superRefine(finiteNumbers)
    .openapi({ example: { orderId: "order-123", total: 99.95 } }),
  metadata: envelopeObject({
    correlationId: z.string().max(256).optional(),
    causationId: z.string().max(256).optional(),
    version: z.string().max(32).optional(),
    tenantId: z.string().max(128).optional(),
  }).optional(),
  routingKey: z
    .string()
    .max(LIMITS.routingKeyChars)
    .refine(isValidRoutingKey, "dotted words, e.g. order.region.us-east.status.shipped")
    .optional(),
  partitionKey: ClientPartitionKey.optional(),
  cacheInvalidation: envelopeObject({ keys: z.array(z.string().min(1).max(512)).max(LIMITS.invalidationKeys) }).optional(),
}).openapi("PublishEvent");

export type PublishEvent = z.infer<typeof PublishEventSchema>;

/** A validated event to publish, with what only CloudEvents and headers carry: its data schema and trace context. */
export type PublishInput = PublishEvent & { dataSchema?: string; trace?: TraceContext };

/** What is stored and delivered: every default filled in. */
export interface EventEnvelope {
  id: string;
  type: string;
  timestamp: string;
  source?: string;
  subject?: string;
  /** A CloudEvent's `dataschema` (a URI), kept as it came. */
  dataSchema?: string;
  data: Record<string, unknown>;
  metadata: { correlationId: string; causationId?: string; version: string; tenantId: string };
  routingKey?: string;
  partitionKey: string;
  cacheInvalidation?: { keys: string[] };
  /** W3C trace context, sent (with a new parent id) on every delivery attempt; never part of a body. */
  trace?: TraceContext;
}

export const PublishResultSchema = z
  .object({
    eventId: z.string(),
    status: z.literal("PUBLISHED"),
    subscribers: z.array(z.string()),
    routedTo: z.array(z.string()).optional(),
    partitionKey: z.string(),
    sequence: z.number().int(),
    duplicate: z.boolean().optional(),
    invalidated: z.array(z.string()).optional(),
  })
  .openapi("PublishResult");

export type PublishResult = z.infer<typeof PublishResultSchema>;

export const BatchSchema = z.object({ events: z.array(z.unknown()).min(1).max(LIMITS.batchEvents) }).openapi("PublishBatch");

export const DeliveryStatus = z.enum(["PENDING", "DELIVERED", "FAILED", "DROPPED"]);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

export const StoredEventSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    timestamp: z.string(),
    source: z.string().optional(),
    subject: z.string().optional(),
    dataSchema: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
    routingKey: z.string().optional(),
    partitionKey: z.string(),
    sequence: z.number().int(),
  })
  .openapi("StoredEvent");

export const EventDetailSchema = StoredEventSchema.extend({
  deliveries: z.array(
    z.object({
      deliveryId: z.string(),
      subscriptionId: z.string(),
      subscription: z.string(),
      status: DeliveryStatus,
      attempts: z.number().int(),
      nextAttemptAt: z.string().optional(),
      lastError: z.string().optional(),
    }),
  ),
}).openapi("EventDetail");

export const EventPageSchema = z.object({ events: z.array(StoredEventSchema), nextAfter: z.number().int() }).openapi("EventPage");

/** A stored event as it crosses RPC: the envelope as JSON text (parsed by the caller) and its sequence. */
export interface StoredEventText {
  body: string;
  sequence: number;
}

export function parseStored(e: StoredEventText): EventEnvelope & { sequence: number } {
  return { ...(JSON.parse(e.body) as EventEnvelope), sequence: e.sequence };
}

export type StoredEvent = EventEnvelope & { sequence: number };

/** A stored event as clients see it (read or delivered): without its cache instructions and trace context. */
export function publicEvent(e: StoredEvent): Omit<StoredEvent, "cacheInvalidation" | "trace"> {
  const { cacheInvalidation: _ci, trace: _trace, ...event } = e;
  return event;
}
