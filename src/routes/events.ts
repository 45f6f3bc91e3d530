/** Publishing and reading events: POST /events, POST /events/batch, GET /events/:id, partition logs. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { LIMITS } from "../config.js";
import type { AppEnv } from "../context.js";
import { CLIENT_ID } from "../domain/ids.js";
import { AppError, problemBody } from "../errors.js";
import { jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import {
  BatchSchema,
  EventDetailSchema,
  EventPageSchema,
  PartitionName,
  PublishEventSchema,
  PublishResultSchema,
} from "../schemas/event.js";
import { publishBatch, publishEvent, readEvent, readLog } from "../services/events.js";
import { tenantRoute } from "./route.js";

const BatchResultSchema = z
  .object({ results: z.array(z.union([PublishResultSchema, z.object({ index: z.number(), code: z.string() }).passthrough()])) })
  .openapi("PublishBatchResult");

export const events = new OpenAPIHono<AppEnv>();

events.openapi(
  tenantRoute({
    method: "post",
    path: "/events",
    scope: "events:publish",
    operationId: "publishEvent",
    tags: ["events"],
    summary: "Publish an event",
    description:
      "Stores the event in its partition (deduplicated by id, with the next sequence number) and fans it out to every matching subscription. `Idempotency-Key`, when sent, is the event id.",
    request: {
      headers: z.object({ "idempotency-key": z.string().optional() }),
      body: jsonBody(PublishEventSchema),
    },
    responses: {
      202: jsonContent(PublishResultSchema, "Published (or a replay of the original result)"),
      ...problemResponses(403, 413, 429),
    },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const key = c.req.header("idempotency-key");
    if (key !== undefined) {
      if (!CLIENT_ID.test(key))
        throw new AppError("BAD_ID", "Idempotency-Key must be 1–256 characters of letters, digits and . _ : ~ @ -.");
      if (input.id !== undefined && input.id !== key) {
        throw new AppError("VALIDATION_FAILED", "The body's id differs from the Idempotency-Key header.", [
          { path: "id", message: "must equal the Idempotency-Key header" },
        ]);
      }
      input.id = key;
    }
    const result = await publishEvent(c.env, c.var.principal.tenantId, input);
    if (result.duplicate) c.header("Idempotent-Replayed", "true");
    return c.json(result, 202);
  },
);

events.openapi(
  tenantRoute({
    method: "post",
    path: "/events/batch",
    scope: "events:publish",
    operationId: "publishEventBatch",
    tags: ["events"],
    summary: `Publish up to ${LIMITS.batchEvents} events; one result per event, in order`,
    description:
      "Each event succeeds or fails on its own; a failed one is a problem object with its `index`. One round trip per partition touched. The publish quota counts each valid event; when it cannot cover them all, the whole batch is refused (429) and nothing is stored.",
    request: { body: jsonBody(BatchSchema) },
    responses: { 202: jsonContent(BatchResultSchema, "One result per event"), ...problemResponses(429) },
  }),
  async (c) => {
    const { events: raw } = c.req.valid("json");
    const outcomes = await publishBatch(c.env, c.var.principal.tenantId, raw);
    const results = outcomes.map((o, index) =>
      o instanceof AppError ? { index, ...problemBody(o.code, o.message, c.var.requestId, o.errors) } : o,
    );
    return c.json({ results }, 202);
  },
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
    responses: { 200: jsonContent(EventDetailSchema, "The event") },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { partitionKey } = c.req.valid("query");
    return c.json(await readEvent(c.env, c.var.principal.tenantId, id, partitionKey), 200);
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
