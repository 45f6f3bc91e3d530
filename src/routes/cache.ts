/**
 * /cache/:key — the key-value cache, per tenant, over two tiers (Cache API in front of KV). PUT stores
 * any JSON value for `Cache-Control: max-age=N` seconds (or the default), GET answers HIT or a 404
 * MISS, DELETE clears (204 also for an absent key). Here the cache is the only copy of the value,
 * so a write KV refuses is a 503 to retry — unlike the write-through of orders, where it is not.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  byteLength,
  CACHE_MAX_TTL_SECONDS,
  CACHE_VALUE_MAX_BYTES,
  cacheSettings,
  clearCache,
  readCache,
  writeCache,
} from "../cache/index.js";
import type { AppEnv } from "../context.js";
import { parseMaxAge } from "../domain/cache-control.js";
import { AppError } from "../errors.js";
import { CacheKeyParam, CacheStatusHeader, CacheStoredSchema, CacheValueSchema } from "../schemas/cache.js";
import { jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import { countCacheRead } from "../services/cache-reads.js";
import { tenantRoute } from "./route.js";

const tags = ["cache"];

/** KV accepts one write per second per key; the client should simply try again a second later. */
function notReplicated(key: string): AppError {
  return new AppError(
    "UPSTREAM_UNAVAILABLE",
    `The cache's KV tier refused the write to '${key}' (at most one write per second per key); retry.`,
    undefined,
    {
      "retry-after": "1",
    },
  );
}

export const cache = new OpenAPIHono<AppEnv>();

cache.openapi(
  tenantRoute({
    method: "put",
    path: "/cache/{key}",
    scope: "cache:write",
    operationId: "putCacheEntry",
    tags,
    summary: "Store a JSON value under a key",
    description: `Time to live: \`Cache-Control: max-age=N\` (1–${CACHE_MAX_TTL_SECONDS} s), else the default (CACHE_DEFAULT_TTL_SECONDS). Values are limited to ${CACHE_VALUE_MAX_BYTES} bytes serialized (413).`,
    request: {
      params: CacheKeyParam,
      headers: z.object({ "cache-control": z.string().optional().openapi({ example: "max-age=3600" }) }),
      body: jsonBody(CacheValueSchema),
    },
    responses: {
      200: { ...jsonContent(CacheStoredSchema, "Stored (X-Cache-Status: STORED)"), headers: CacheStatusHeader },
      ...problemResponses(413, 503),
    },
  }),
  async (c) => {
    const { key } = c.req.valid("param");
    const { tenantId } = c.var.principal;
    // Without a content type the body is empty (a body without one is a 415 earlier) and the
    // validator hands over {}: that must not be stored as the value.
    if (c.req.header("content-type") === undefined)
      throw new AppError("VALIDATION_FAILED", "PUT /cache/:key needs a JSON body (the value to store).");
    const value: unknown = c.req.valid("json");
    const maxAge = parseMaxAge(c.req.header("cache-control"), CACHE_MAX_TTL_SECONDS);
    if (!maxAge.ok)
      throw new AppError("VALIDATION_FAILED", `Invalid Cache-Control: ${maxAge.message}.`, [
        { path: "Cache-Control", message: maxAge.message },
      ]);
    const text = JSON.stringify(value);
    const size = byteLength(text);
    if (size > CACHE_VALUE_MAX_BYTES) {
      throw new AppError(
        "PAYLOAD_TOO_LARGE",
        `Cached values are limited to ${CACHE_VALUE_MAX_BYTES} bytes serialized; this one is ${size}.`,
      );
    }
    const ttlSeconds = maxAge.seconds ?? cacheSettings(c.env).defaultTtlSeconds;
    const { expiresAt, replicated } = await writeCache(c.env, tenantId, key, text, ttlSeconds);
    if (!replicated) throw notReplicated(key);
    c.header("X-Cache-Status", "STORED");
    return c.json({ key, ttlSeconds, expiresAt: new Date(expiresAt).toISOString() }, 200);
  },
);

cache.openapi(
  tenantRoute({
    method: "get",
    path: "/cache/{key}",
    scope: "cache:read",
    operationId: "getCacheEntry",
    tags,
    summary: "Read a cached value",
    description: "200 with the value and `X-Cache-Status: HIT` (`X-Cache-Tier`: `edge` or `kv`), or 404 with `X-Cache-Status: MISS`.",
    request: { params: CacheKeyParam },
    responses: { 200: { ...jsonContent(CacheValueSchema, "The value (X-Cache-Status: HIT)"), headers: CacheStatusHeader } },
  }),
  async (c) => {
    const { key } = c.req.valid("param");
    const hit = await readCache(c.env, c.var.principal.tenantId, key);
    countCacheRead(c.env, c.executionCtx, c.var.principal.tenantId, hit !== null);
    if (!hit)
      throw new AppError("NOT_FOUND", `Nothing cached under '${key}' (absent or expired).`, undefined, { "x-cache-status": "MISS" });
    c.header("X-Cache-Status", "HIT");
    c.header("X-Cache-Tier", hit.tier);
    const value: unknown = JSON.parse(hit.text);
    return c.json(value, 200);
  },
);

cache.openapi(
  tenantRoute({
    method: "delete",
    path: "/cache/{key}",
    scope: "cache:write",
    operationId: "deleteCacheEntry",
    tags,
    summary: "Clear a key (manual invalidation)",
    description: "204 with `X-Cache-Status: CLEARED`, also when nothing was cached under the key.",
    request: { params: CacheKeyParam },
    responses: { 204: { description: "Cleared (X-Cache-Status: CLEARED)", headers: CacheStatusHeader }, ...problemResponses(503) },
  }),
  async (c) => {
    const { key } = c.req.valid("param");
    if (!(await clearCache(c.env, c.var.principal.tenantId, key))) throw notReplicated(key);
    c.header("X-Cache-Status", "CLEARED");
    return c.body(null, 204);
  },
);
