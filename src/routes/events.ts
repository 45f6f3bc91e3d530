/** Publishing and reading events: POST /events, POST /events/batch, GET /events/:id, partition logs. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { LIMITS } from "../config.js";
import { AppError, problemBody, validationError, type Problem } from "../errors.js";
import { CLIENT_ID } from "../domain/ids.js";
import { partitionFor, partitionStub, publishEnvelopes, toEnvelope } from "../services/publish.js";
import { invalidateKeys } from "../cache/index.js";
import { jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import {
  BatchSchema,
  EventDetailSchema,
  EventPageSchema,
  PartitionName,
  PublishEventSchema,
  PublishResultSchema,
  parseStored,
  type EventEnvelope,
  type PublishResult,
} from "../schemas/event.js";
import { tenantRoute } from "./route.js";
import type { AppEnv } from "../context.js";

const BatchResultSchema = z
  .object({ results: z.array(z.union([PublishResultSchema, z.object({ index: z.number(), code: z.string() }).passthrough()])) })
  .openapi("PublishBatchResult");

export const events = new OpenAPIHono<AppEnv>();

events.openapi(
  tenantRoute({
    method: "post",
    path: "/events",
    tags: ["events"],
    summary: "Publish an event",
    description:
      "Stores the event in its partition (deduplicated by id, with the next sequence number) and fans it out to every matching subscription. `Idempotency-Key`, when sent, is the event id.",
    request: {
      headers: z.object({ "idempotency-key": z.string().optional() }),
      body: jsonBody(PublishEventSchema),
    },
    responses: { 202: jsonContent(PublishResultSchema, "Published (or a replay of the original result)"), ...problemResponses(403, 413) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const key = c.req.header("idempotency-key");
    if (key !== undefined) {
      if (!CLIENT_ID.test(key)) throw new AppError("BAD_ID", "Idempotency-Key must be 1–256 characters of letters, digits and . _ : ~ @ -.");
      if (input.id !== undefined && input.id !== key) {
        throw new AppError("VALIDATION_FAILED", "The body's id differs from the Idempotency-Key header.", [
          { path: "id", message: "must equal the Idempotency-Key header" },
        ]);
      }
      input.id = key;
    }
    const { tenantId } = c.var.principal;
    const [result] = (await publishEnvelopes(c.env, tenantId, [toEnvelope(input, tenantId)])) as [PublishResult];
    if (result.duplicate) c.header("Idempotent-Replayed", "true");
    // Committed first, then invalidated, then the 202; a duplicate repeats no side effect.
    const keys = input.cacheInvalidation?.keys;
    const invalidated = keys && !result.duplicate ? await invalidateKeys(c.env, tenantId, keys) : undefined;
    return c.json({ ...result, ...(invalidated ? { invalidated } : {}) }, 202);
  },
);

events.openapi(
  tenantRoute({
    method: "post",
    path: "/events/batch",
    tags: ["events"],
    summary: `Publish up to ${LIMITS.batchEvents} events; one result per event, in order`,
    description: "Each event succeeds or fails on its own; a failed one is a problem object with its `index`. One round trip per partition touched.",
    request: { body: jsonBody(BatchSchema) },
    responses: { 202: jsonContent(BatchResultSchema, "One result per event") },
  }),
  async (c) => {
    const { events: raw } = c.req.valid("json");
    const { tenantId } = c.var.principal;
    const requestId = c.var.requestId;
    const results: Array<PublishResult | (Problem & { index: number })> = new Array(raw.length);
    const valid: Array<{ at: number; envelope: EventEnvelope }> = [];
    raw.forEach((item, at) => {
      try {
        const parsed = PublishEventSchema.safeParse(item);
        if (!parsed.success) throw validationError(parsed.error, `events.${at}`);
        valid.push({ at, envelope: toEnvelope(parsed.data, tenantId) });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        results[at] = { index: at, ...problemBody(err.code, err.message, requestId, err.errors) };
      }
    });
    if (valid.length > 0) {
      const distinct = new Set(valid.flatMap((v) => v.envelope.cacheInvalidation?.keys ?? []));
      if (distinct.size > LIMITS.batchInvalidationKeys) {
        throw new AppError("VALIDATION_FAILED", `A batch may invalidate at most ${LIMITS.batchInvalidationKeys} distinct cache keys; this one names ${distinct.size}.`, [
          { path: "events", message: "too many cacheInvalidation.keys in total" },
        ]);
      }
      const published = await publishEnvelopes(c.env, tenantId, valid.map((v) => v.envelope));
      // Each key is cleared once for the whole batch (new events only: a duplicate repeats nothing).
      const wanted = new Set(valid.flatMap((v, i) => ((published[i] as PublishResult).duplicate ? [] : v.envelope.cacheInvalidation?.keys ?? [])));
      const cleared = new Set(wanted.size > 0 ? await invalidateKeys(c.env, tenantId, [...wanted]) : []);
      valid.forEach((v, i) => {
        const result = published[i] as PublishResult;
        const keys = v.envelope.cacheInvalidation?.keys;
        const invalidated = keys && !result.duplicate ? keys.filter((k) => cleared.has(k)) : undefined;
        results[v.at] = { ...result, ...(invalidated ? { invalidated } : {}) };
      });
    }
    return c.json({ results }, 202);
  },
);

events.openapi(
  tenantRoute({
    method: "get",
    path: "/events/{id}",
    tags: ["events"],
    summary: "Read a stored event with its sequence and per-subscription delivery status",
    request: {
      params: z.object({ id: z.string().regex(CLIENT_ID).openapi({ param: { name: "id", in: "path" } }) }),
      query: z.object({ partitionKey: PartitionName.optional().openapi({ param: { name: "partitionKey", in: "query" } }) }),
    },
    responses: { 200: jsonContent(EventDetailSchema, "The event") },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { partitionKey } = c.req.valid("query");
    const { tenantId } = c.var.principal;
    const partition = partitionFor(id, partitionKey);
    const found = await partitionStub(c.env, tenantId, partition).getEvent(id);
    if (!found) {
      throw new AppError("NOT_FOUND", `No event ${id} in partition ${partition}${partitionKey ? "" : " (pass ?partitionKey= if it was published with one)"}.`);
    }
    const { cacheInvalidation: _ci, ...event } = parseStored(found.event);
    return c.json({ ...event, deliveries: found.deliveries }, 200);
  },
);

events.openapi(
  tenantRoute({
    method: "get",
    path: "/partitions/{key}/events",
    tags: ["events"],
    summary: "Read a partition's log in sequence order",
    description: "`nextAfter` is the sequence to pass as `after` for the next page (the last one returned, or `after` when the page is empty).",
    request: {
      params: z.object({ key: PartitionName }),
      query: z.object({
        after: z.coerce.number().int().min(0).default(0).openapi({ param: { name: "after", in: "query" } }),
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
    const page = await partitionStub(c.env, c.var.principal.tenantId, key).readLog(after, limit);
    const events = page.map(parseStored).map(({ cacheInvalidation: _ci, ...e }) => e);
    return c.json({ events, nextAfter: events.at(-1)?.sequence ?? after }, 200);
  },
);
