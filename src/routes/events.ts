/**
 * Publishing and reading events: POST /events, POST /events/batch, GET /events/:id, partition
 * logs. Both publish routes also take CloudEvents (structured, binary and batch mode): the
 * `cloudEventsIn` middleware answers those requests itself, ahead of the envelope validator.
 * `traceparent` / `tracestate` are stored with each event (a malformed one is ignored).
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { LIMITS } from "../config.js";
import type { AppEnv } from "../context.js";
import { CLIENT_ID } from "../domain/ids.js";
import { parseTraceparent, type TraceContext, traceFrom } from "../domain/trace.js";
import { AppError, problemBody } from "../errors.js";
import {
  CLOUDEVENTS_BATCH,
  CLOUDEVENTS_JSON,
  CloudEventSchema,
  fromBinary,
  fromCloudEvent,
  isBinaryMode,
  toCloudEvent,
} from "../schemas/cloudevent.js";
import { jsonContent, problemResponses } from "../schemas/common.js";
import {
  BatchSchema,
  EventDetailSchema,
  EventPageSchema,
  PartitionName,
  type PublishEvent,
  PublishEventSchema,
  type PublishInput,
  PublishResultSchema,
} from "../schemas/event.js";
import { publishBatch, publishEvent, readEvent, readLog, readStoredEvent } from "../services/events.js";
import { deprecationHeader } from "../services/schema-cache.js";
import { tenantRoute } from "./route.js";

const BatchResultSchema = z
  .object({ results: z.array(z.union([PublishResultSchema, z.object({ index: z.number(), code: z.string() }).passthrough()])) })
  .openapi("PublishBatchResult");

export const events = new OpenAPIHono<AppEnv>();
events.openAPIRegistry.register("CloudEvent", CloudEventSchema);
const cloudEventRef = { $ref: "#/components/schemas/CloudEvent" };

// The publish routes' headers are documented here but not validated: all are optional strings,
// each read where it is used, and a header validator would copy every request header into an
// object on every publish.
const header = (name: string, description?: string) =>
  ({
    name,
    in: "header",
    required: false,
    ...(description ? { description } : {}),
    schema: { type: "string", ...(description ? { description } : {}) },
  }) as const;
const TRACEPARENT = "W3C Trace Context; sent on with a new parent id on every delivery attempt. A malformed one is ignored.";
const traceHeaders = [header("traceparent", TRACEPARENT), header("tracestate")];

/** The request's trace context when its `traceparent` is valid; otherwise each event starts its own trace. */
export function requestTrace(headers: Headers): TraceContext | undefined {
  const traceparent = headers.get("traceparent") ?? undefined;
  return parseTraceparent(traceparent) ? traceFrom(traceparent, headers.get("tracestate") ?? undefined) : undefined;
}

const isMedia = (contentType: string | undefined, media: string) => contentType?.split(";")[0]?.trim().toLowerCase() === media;

/**
 * One event's publish, for this route and the fast path (publish-fast.ts): the `Idempotency-Key`
 * header, when sent, is the event id. Returns the result with the headers its response carries
 * besides the request id.
 */
export async function publishOneEvent(env: Env, tenantId: string, input: PublishInput, idempotencyKey: string | null | undefined) {
  if (idempotencyKey != null) {
    if (!CLIENT_ID.test(idempotencyKey)) {
      throw new AppError("BAD_ID", "Idempotency-Key must be 1–256 characters of letters, digits and . _ : ~ @ -.");
    }
    if (input.id !== undefined && input.id !== idempotencyKey) {
      throw new AppError("VALIDATION_FAILED", "The body's id differs from the Idempotency-Key header.", [
        { path: "id", message: "must equal the Idempotency-Key header" },
      ]);
    }
    input.id = idempotencyKey;
  }
  const headers: Record<string, string> = {};
  const result = await publishEvent(env, tenantId, input, (at) => {
    headers.Deprecation = deprecationHeader(at);
  });
  if (result.duplicate) headers["Idempotent-Replayed"] = "true";
  return { result, headers };
}

async function publishOne(c: Context<AppEnv>, input: PublishInput) {
  const { result, headers } = await publishOneEvent(c.env, c.var.principal.tenantId, input, c.req.header("idempotency-key"));
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  return c.json(result, 202);
}

async function publishMany(c: Context<AppEnv>, raw: unknown[], parse?: (item: unknown, at: number) => PublishInput) {
  const trace = requestTrace(c.req.raw.headers);
  const outcomes = await publishBatch(c.env, c.var.principal.tenantId, raw, {
    ...(parse ? { parse } : {}),
    ...(trace ? { trace } : {}),
    onDeprecated: (at) => c.header("Deprecation", deprecationHeader(at)),
  });
  const results = outcomes.map((o, index) =>
    o instanceof AppError ? { index, ...problemBody(o.code, o.message, c.var.requestId, o.errors) } : o,
  );
  return c.json({ results }, 202);
}

/** CloudEvents requests, answered here: structured and binary mode on POST /events, batch mode on /events/batch. */
const cloudEventsIn = (route: "single" | "batch") =>
  createMiddleware<AppEnv>(async (c, next) => {
    const type = c.req.header("content-type");
    // The JSON body middleware parsed it already (undefined when the body was empty).
    const body: unknown = await c.req.bodyCache.json;
    if (route === "batch") {
      if (isMedia(type, CLOUDEVENTS_JSON)) {
        throw new AppError(
          "UNSUPPORTED_MEDIA_TYPE",
          `POST /events/batch takes ${CLOUDEVENTS_BATCH} (a JSON array of CloudEvents); send a single ${CLOUDEVENTS_JSON} event to POST /events.`,
        );
      }
      if (!isMedia(type, CLOUDEVENTS_BATCH)) return next();
      if (!Array.isArray(body) || body.length === 0 || body.length > LIMITS.batchEvents) {
        throw new AppError("VALIDATION_FAILED", `A CloudEvents batch is a JSON array of 1–${LIMITS.batchEvents} events.`, [
          { path: "(root)", message: `an array of 1–${LIMITS.batchEvents} CloudEvents` },
        ]);
      }
      return publishMany(c, body, (item, at) => fromCloudEvent(item, `CloudEvent at index ${at}`));
    }
    if (isMedia(type, CLOUDEVENTS_BATCH)) {
      throw new AppError("UNSUPPORTED_MEDIA_TYPE", `A ${CLOUDEVENTS_BATCH} body goes to POST /events/batch.`);
    }
    if (isMedia(type, CLOUDEVENTS_JSON)) return publishOne(c, fromCloudEvent(body, "CloudEvent", requestTrace(c.req.raw.headers)));
    if (isBinaryMode(c.req.raw.headers))
      return publishOne(c, fromCloudEvent(fromBinary(c.req.raw.headers, body), "CloudEvent", requestTrace(c.req.raw.headers)));
    return next();
  });

// A plain JSON publish is answered before the app by routes/publish-fast.ts, with the same
// functions: what this route checks or adds, the fast path must check or add too.
events.openapi(
  tenantRoute(
    {
      method: "post",
      path: "/events",
      scope: "events:publish",
      operationId: "publishEvent",
      tags: ["events"],
      summary: "Publish an event",
      description:
        "Stores the event in its partition (deduplicated by id, with the next sequence number) and fans it out to every matching subscription. `Idempotency-Key`, when sent, is the event id. Also takes a CloudEvent: structured (`application/cloudevents+json`) or binary mode (`ce-*` headers, the body is `data`, JSON).",
      parameters: [header("idempotency-key"), ...traceHeaders],
      request: {
        body: {
          required: true,
          content: { "application/json": { schema: PublishEventSchema }, [CLOUDEVENTS_JSON]: { schema: cloudEventRef } },
        },
      },
      responses: {
        202: jsonContent(PublishResultSchema, "Published (or a replay of the original result)"),
        ...problemResponses(403, 413, 415, 422, 429),
      },
    },
    cloudEventsIn("single"),
  ),
  async (c) => {
    // Typed by hand: the CloudEvents media type (answered by the middleware) blurs the inferred body type.
    const input = c.req.valid("json" as never) as PublishEvent;
    const trace = requestTrace(c.req.raw.headers);
    return publishOne(c, { ...input, ...(trace ? { trace } : {}) });
  },
);

events.openapi(
  tenantRoute(
    {
      method: "post",
      path: "/events/batch",
      scope: "events:publish",
      operationId: "publishEventBatch",
      tags: ["events"],
      summary: `Publish up to ${LIMITS.batchEvents} events; one result per event, in order`,
      description: `Each event succeeds or fails on its own; a failed one is a problem object with its \`index\`. One round trip per partition touched. Also takes a CloudEvents batch (\`${CLOUDEVENTS_BATCH}\`: a JSON array of structured events).`,
      parameters: traceHeaders,
      request: {
        body: {
          required: true,
          content: {
            "application/json": { schema: BatchSchema },
            [CLOUDEVENTS_BATCH]: { schema: { type: "array", items: cloudEventRef } },
          },
        },
      },
      responses: { 202: jsonContent(BatchResultSchema, "One result per event"), ...problemResponses(415, 429) },
    },
    cloudEventsIn("batch"),
  ),
  async (c) => publishMany(c, (c.req.valid("json" as never) as z.infer<typeof BatchSchema>).events),
);

events.openapi(
  tenantRoute({
    method: "get",
    path: "/events/{id}",
    scope: "events:read",
    operationId: "getEvent",
    tags: ["events"],
    summary: "Read a stored event with its sequence and per-subscription delivery status",
    request: {
      params: z.object({
        id: z
          .string()
          .regex(CLIENT_ID)
          .openapi({ param: { name: "id", in: "path" } }),
      }),
      query: z.object({ partitionKey: PartitionName.optional().openapi({ param: { name: "partitionKey", in: "query" } }) }),
    },
    description: `With \`Accept: ${CLOUDEVENTS_JSON}\` the event alone, as a structured CloudEvent (with \`sequence\` and \`partitionkey\`).`,
    responses: {
      200: {
        description: "The event",
        content: { "application/json": { schema: EventDetailSchema }, [CLOUDEVENTS_JSON]: { schema: cloudEventRef } },
      },
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { partitionKey } = c.req.valid("query");
    const { tenantId } = c.var.principal;
    if (wantsCloudEvent(c.req.header("accept"))) {
      const event = await readStoredEvent(c.env, tenantId, id, partitionKey);
      return c.body(JSON.stringify(toCloudEvent(event)), 200, { "content-type": CLOUDEVENTS_JSON });
    }
    return c.json(await readEvent(c.env, tenantId, id, partitionKey), 200);
  },
);

events.openapi(
  tenantRoute({
    method: "get",
    path: "/partitions/{key}/events",
    scope: "events:read",
    operationId: "listPartitionEvents",
    tags: ["events"],
    summary: "Read a partition's log in sequence order",
    description:
      "`nextAfter` is the sequence to pass as `after` for the next page (the last one returned, or `after` when the page is empty).",
    request: {
      params: z.object({ key: PartitionName }),
      query: z.object({
        after: z.coerce
          .number()
          .int()
          .min(0)
          .default(0)
          .openapi({ param: { name: "after", in: "query" } }),
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(LIMITS.partitionPageMax)
          .default(LIMITS.partitionPageDefault)
          .openapi({ param: { name: "limit", in: "query" } }),
      }),
    },
    responses: { 200: jsonContent(EventPageSchema, "A page of the log") },
  }),
  async (c) => {
    const { key } = c.req.valid("param");
    const { after, limit } = c.req.valid("query");
    return c.json(await readLog(c.env, c.var.principal.tenantId, key, after, limit), 200);
  },
);

/** True when the Accept header prefers a CloudEvent to the plain JSON view (by q-value, first listed on a tie). */
function wantsCloudEvent(accept: string | undefined): boolean {
  if (!accept) return false;
  let best: { media: string; q: number } | undefined;
  for (const part of accept.split(",")) {
    const [media = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    if (media !== CLOUDEVENTS_JSON && media !== "application/json") continue;
    const q = Number(params.find((p) => p.startsWith("q="))?.slice(2) ?? "1");
    if (best === undefined || q > best.q) best = { media, q: Number.isFinite(q) ? q : 0 };
  }
  return best?.media === CLOUDEVENTS_JSON && best.q > 0;
}
