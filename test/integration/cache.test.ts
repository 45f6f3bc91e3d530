/**
 * The two-tier cache through the worker: the cache-aside sequence (MISS, read the source, PUT, HIT), time-based expiry (exact
 * to the second, below KV's 60 s minimum), event-based and manual invalidation, tenant isolation,
 * the Cache API being filled from KV, and the limits.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { invalidateKeys } from "../../src/cache/index.js";
import { cacheCounters } from "../../src/cache/stats.js";
import { edgeUrl, kvTier } from "../../src/cache/tiers.js";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";
import { sleep } from "../helpers/hooks.js";

afterEach(() => vi.restoreAllMocks());

const put = (apiKey: string, key: string, body: unknown, headers?: Record<string, string>) =>
  call(`/cache/${key}`, { method: "PUT", key: apiKey, body, ...(headers ? { headers } : {}) });
const get = (apiKey: string, key: string) => call(`/cache/${key}`, { key: apiKey });
const del = (apiKey: string, key: string) => call(`/cache/${key}`, { method: "DELETE", key: apiKey });

async function item(apiKey: string, itemId: string, price: number) {
  expect((await call(`/catalog/items/${itemId}`, { method: "PUT", key: apiKey, body: { name: itemId, price } })).status).toBe(201);
}

describe("cache-aside", () => {
  it("GET /cache MISS → GET /orders/:id from the source → PUT /cache → GET /cache HIT", async () => {
    const { apiKey } = await newTenant();
    await item(apiKey, "item-456", 99.99);
    const created = await call("/orders", {
      method: "POST",
      key: apiKey,
      body: { id: "order-123", customerId: "cust-456", items: [{ itemId: "item-456", quantity: 1 }] },
    });
    expect(created.status).toBe(201);
    expect((await call("/orders/order-123", { method: "PATCH", key: apiKey, body: { status: "PROCESSING" } })).status).toBe(200);
    expect((await del(apiKey, "order-123")).status).toBe(204); // start from an empty cache

    const miss = await get(apiKey, "order-123");
    expect(miss.headers.get("x-cache-status")).toBe("MISS");
    await expectProblem(miss, 404, "NOT_FOUND");

    const source = await call("/orders/order-123", { key: apiKey });
    expect(source.status).toBe(200);
    expect(source.headers.get("x-cache-status")).toBe("MISS");
    const order = await json<{ id: string; status: string; total: number }>(source);
    expect(order).toMatchObject({ id: "order-123", status: "PROCESSING", total: 99.99 });

    const stored = await put(apiKey, "order-123", { id: order.id, status: order.status, total: order.total });
    expect(stored.status).toBe(200);
    expect(stored.headers.get("x-cache-status")).toBe("STORED");
    expect(await json(stored)).toMatchObject({ key: "order-123", ttlSeconds: 3600 });

    const hit = await get(apiKey, "order-123");
    expect(hit.status).toBe(200);
    expect(hit.headers.get("x-cache-status")).toBe("HIT");
    expect(hit.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await json(hit)).toEqual({ id: "order-123", status: "PROCESSING", total: 99.99 });
  });

  it("stores any JSON value, and serves it from KV (refilling the Cache API) when this location's copy is gone", async () => {
    const { tenantId, apiKey } = await newTenant();
    for (const value of ["text", 42, null, [1, { a: true }]]) {
      expect((await put(apiKey, "v", value)).status).toBe(200);
      expect(await json(await get(apiKey, "v"))).toEqual(value);
    }
    expect((await get(apiKey, "v")).headers.get("x-cache-tier")).toBe("edge");
    await caches.default.delete(edgeUrl(tenantId, "v"));
    const fromKv = await get(apiKey, "v");
    expect(fromKv.headers.get("x-cache-tier")).toBe("kv");
    expect(await json(fromKv)).toEqual([1, { a: true }]);
    expect((await get(apiKey, "v")).headers.get("x-cache-tier")).toBe("edge");
  });
});

describe("time-based invalidation", () => {
  it("max-age=2 expires after 2 s, although KV keeps the entry for its 60 s minimum", async () => {
    const { apiKey } = await newTenant();
    const res = await put(apiKey, "short", { n: 1 }, { "cache-control": "max-age=2" });
    expect(res.status).toBe(200);
    const { ttlSeconds, expiresAt } = await json<{ ttlSeconds: number; expiresAt: string }>(res);
    expect(ttlSeconds).toBe(2);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(2000);
    expect((await get(apiKey, "short")).headers.get("x-cache-status")).toBe("HIT");
    await sleep(2200);
    const expired = await get(apiKey, "short");
    expect(expired.headers.get("x-cache-status")).toBe("MISS");
    await expectProblem(expired, 404, "NOT_FOUND");
  });

  it("stores with max-age=3600 (a TTL of one hour) and refuses a malformed or out-of-range max-age", async () => {
    const { apiKey } = await newTenant();
    const res = await put(
      apiKey,
      "order-123",
      { id: "order-123", status: "PROCESSING", total: 99.99 },
      { "cache-control": "max-age=3600" },
    );
    expect(await json(res)).toMatchObject({ ttlSeconds: 3600 });
    await expectProblem(await put(apiKey, "k", 1, { "cache-control": "max-age=0" }), 400, "VALIDATION_FAILED");
    await expectProblem(await put(apiKey, "k", 1, { "cache-control": "max-age=soon" }), 400, "VALIDATION_FAILED");
  });
});

describe("manual and event-based invalidation", () => {
  it("DELETE clears the key in both tiers and answers 204 CLEARED, also for an absent key", async () => {
    const { tenantId, apiKey } = await newTenant();
    await put(apiKey, "order-123", { id: "order-123" });
    const res = await del(apiKey, "order-123");
    expect(res.status).toBe(204);
    expect(res.headers.get("x-cache-status")).toBe("CLEARED");
    expect((await get(apiKey, "order-123")).status).toBe(404);
    expect(await caches.default.match(edgeUrl(tenantId, "order-123"))).toBeUndefined();
    const absent = await del(apiKey, "never-stored");
    expect(absent.status).toBe(204);
    expect(absent.headers.get("x-cache-status")).toBe("CLEARED");
  });

  it("POST /events with cacheInvalidation.keys clears exactly the named keys and lists them", async () => {
    const { apiKey } = await newTenant();
    for (const key of ["order-123", "customer-orders-cust-456", "order-999"]) await put(apiKey, key, { key });
    const res = await call("/events", {
      method: "POST",
      key: apiKey,
      body: {
        type: "order.updated",
        data: { orderId: "order-123", status: "SHIPPED" },
        cacheInvalidation: { keys: ["order-123", "customer-orders-cust-456"] },
      },
    });
    expect(res.status).toBe(202);
    expect((await json(res)).invalidated).toEqual(["order-123", "customer-orders-cust-456"]);
    expect((await get(apiKey, "order-123")).headers.get("x-cache-status")).toBe("MISS");
    expect((await get(apiKey, "customer-orders-cust-456")).headers.get("x-cache-status")).toBe("MISS");
    expect((await get(apiKey, "order-999")).headers.get("x-cache-status")).toBe("HIT");
  });
});

describe("invalidateKeys (the hook POST /events calls)", () => {
  it("clears the named keys of one tenant in both tiers and returns them once each", async () => {
    const a = await newTenant("a");
    const b = await newTenant("b");
    for (const key of ["k1", "k2", "k3"]) await put(a.apiKey, key, { key });
    await put(b.apiKey, "k1", { key: "b" });
    expect(await invalidateKeys(env, a.tenantId, ["k1", "k2", "k1", "not/a key", "absent"])).toEqual(["k1", "k2", "absent"]);
    expect(await caches.default.match(edgeUrl(a.tenantId, "k1"))).toBeUndefined();
    expect(await env.CACHE.get(`${a.tenantId}/k1`)).toBeNull();
    expect((await get(a.apiKey, "k1")).status).toBe(404);
    expect((await get(a.apiKey, "k2")).status).toBe(404);
    expect((await get(a.apiKey, "k3")).status).toBe(200);
    expect((await get(b.apiKey, "k1")).status).toBe(200);
  });

  it("leaves out a key whose KV delete was refused (logged and counted), without throwing", async () => {
    const { tenantId, apiKey } = await newTenant();
    await put(apiKey, "k1", 1);
    vi.spyOn(kvTier, "delete").mockRejectedValueOnce(new Error("KV DELETE failed: 429 Too Many Requests"));
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const before = cacheCounters().refusedWrites;
    expect(await invalidateKeys(env, tenantId, ["k1", "k2"])).toEqual(["k2"]);
    expect(cacheCounters().refusedWrites).toBe(before + 1);
  });
});

describe("isolation and limits", () => {
  it("keeps the same key apart for two tenants", async () => {
    const a = await newTenant("a");
    const b = await newTenant("b");
    await put(a.apiKey, "shared", { owner: "a" });
    expect((await get(b.apiKey, "shared")).status).toBe(404);
    await put(b.apiKey, "shared", { owner: "b" });
    expect(await json(await get(a.apiKey, "shared"))).toEqual({ owner: "a" });
    expect(await json(await get(b.apiKey, "shared"))).toEqual({ owner: "b" });
    await del(a.apiKey, "shared");
    expect(await json(await get(b.apiKey, "shared"))).toEqual({ owner: "b" });
  });

  it("refuses values over 64 KiB (413), an empty body, a bad key and a missing API key", async () => {
    const { apiKey } = await newTenant();
    await expectProblem(await put(apiKey, "big", { blob: "x".repeat(64 * 1024) }), 413, "PAYLOAD_TOO_LARGE");
    await expectProblem(await call("/cache/empty", { method: "PUT", key: apiKey }), 400, "VALIDATION_FAILED");
    await expectProblem(
      await call("/cache/empty", { method: "PUT", key: apiKey, headers: { "content-type": "application/json" } }),
      400,
      "BAD_JSON",
    );
    await expectProblem(await put(apiKey, "a%20b", 1), 400, "VALIDATION_FAILED");
    await expectProblem(await put(apiKey, "k", 1, { "content-type": "text/plain" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    await expectProblem(await call("/cache/k", { key: null }), 401, "MISSING_API_KEY");
  });

  it("documents the routes in /openapi.json", async () => {
    const doc = await json<{ paths: Record<string, Record<string, unknown>> }>(await call("/openapi.json", { key: null }));
    expect(Object.keys(doc.paths["/cache/{key}"] ?? {}).sort()).toEqual(["delete", "get", "put"]);
    for (const path of ["/orders", "/orders/{id}", "/customers/{id}/orders", "/catalog/items/{itemId}"])
      expect(doc.paths[path]).toBeDefined();
  });

  it("answers 503 with Retry-After when KV refuses the PUT (the cache holds the only copy)", async () => {
    const { apiKey } = await newTenant();
    vi.spyOn(kvTier, "put").mockRejectedValueOnce(new Error("KV PUT failed: 429 Too Many Requests"));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const before = cacheCounters().refusedWrites;
    const res = await put(apiKey, "hot", { n: 1 });
    expect(res.headers.get("retry-after")).toBe("1");
    await expectProblem(res, 503, "UPSTREAM_UNAVAILABLE");
    expect(cacheCounters().refusedWrites).toBe(before + 1);
    expect(JSON.parse(String(warn.mock.calls[0]?.[0]))).toMatchObject({ level: "warn", op: "put", key: "hot" });
    expect((await put(apiKey, "hot", { n: 2 })).status).toBe(200);
  });
});
