/**
 * Orders through the worker: totals in cents, write-through on create and on status change,
 * cache-aside reads with the version check, the customer list and its invalidation, status rules,
 * order events reaching a webhook, and the Store's alarm re-publishing an event whose publish failed.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cacheCounters } from "../../src/cache/stats.js";
import { kvTier } from "../../src/cache/tiers.js";
import { orderShardName } from "../../src/objects/store/client.js";
import { Store } from "../../src/objects/store/object.js";
import type { EventEnvelope } from "../../src/schemas/event.js";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";
import { bucket, received, waitFor } from "../helpers/hooks.js";

type Order = {
  id: string;
  status: string;
  total: number;
  customerId: string;
  items: Array<{ itemId: string; quantity: number; price: number }>;
  createdAt: string;
  updatedAt: string;
};
type PublishPending = (tenantId: string, envelopes: EventEnvelope[]) => Promise<void>;
/** publishPending is the Store's one hand-off to the bus; tests replace it to simulate a failed publish. */
const publishSpy = () => vi.spyOn(Store.prototype as unknown as { publishPending: PublishPending }, "publishPending");

afterEach(() => vi.restoreAllMocks());

async function shop(prices: Record<string, number> = { "item-456": 29.99, "item-dime": 0.1 }) {
  const tenant = await newTenant();
  for (const [itemId, price] of Object.entries(prices)) {
    const res = await call(`/catalog/items/${itemId}`, { method: "PUT", key: tenant.apiKey, body: { name: `Item ${itemId}`, price } });
    expect(res.status).toBe(201);
  }
  return tenant;
}

const order = (apiKey: string, body: unknown) => call("/orders", { method: "POST", key: apiKey, body });
const patch = (apiKey: string, id: string, status: string) => call(`/orders/${id}`, { method: "PATCH", key: apiKey, body: { status } });

async function create(apiKey: string, items: Array<{ itemId: string; quantity: number }>, customerId = "cust-123") {
  const res = await order(apiKey, { customerId, items });
  expect(res.status).toBe(201);
  return json<Order>(res);
}

describe("catalog", () => {
  it("creates, replaces and reads items; prices have at most two decimals", async () => {
    const { apiKey } = await shop();
    const got = await call("/catalog/items/item-456", { key: apiKey });
    expect(await json(got)).toMatchObject({ itemId: "item-456", name: "Item item-456", price: 29.99 });
    const replaced = await call("/catalog/items/item-456", { method: "PUT", key: apiKey, body: { name: "Mug", price: 30 } });
    expect(replaced.status).toBe(200);
    expect(await json(replaced)).toMatchObject({ name: "Mug", price: 30 });
    await expectProblem(
      await call("/catalog/items/x", { method: "PUT", key: apiKey, body: { name: "X", price: 1.001 } }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call("/catalog/items/x", { method: "PUT", key: apiKey, body: { name: "X", price: -1 } }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(await call("/catalog/items/nope", { key: apiKey }), 404, "NOT_FOUND");
  });
});

describe("POST /orders", () => {
  it("computes totals in cents (2 × 29.99 = 59.98, 3 × 0.1 = 0.3) and writes the order through to the cache", async () => {
    const { apiKey } = await shop();
    const res = await order(apiKey, { customerId: "cust-123", items: [{ itemId: "item-456", quantity: 2 }] });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-cache-status")).toBe("UPDATED");
    const created = await json<Order>(res);
    expect(created).toMatchObject({
      status: "CREATED",
      total: 59.98,
      customerId: "cust-123",
      items: [{ itemId: "item-456", quantity: 2, price: 29.99 }],
    });
    expect(created.id).toMatch(/^order-/);
    expect(created.createdAt).toBe(created.updatedAt);
    expect((await create(apiKey, [{ itemId: "item-dime", quantity: 3 }])).total).toBe(0.3);

    const cached = await call(`/cache/${created.id}`, { key: apiKey });
    expect(cached.headers.get("x-cache-status")).toBe("HIT");
    expect(await json(cached)).toEqual(created);
    const read = await call(`/orders/${created.id}`, { key: apiKey });
    expect(read.headers.get("x-cache-status")).toBe("HIT");
    expect(await json(read)).toEqual(created);
  });

  it("refuses unknown items (422), empty items and bad quantities (400), and a repeated id (409)", async () => {
    const { apiKey } = await shop();
    const unknown = await expectProblem(
      await order(apiKey, {
        customerId: "c",
        items: [
          { itemId: "item-456", quantity: 1 },
          { itemId: "ghost", quantity: 1 },
        ],
      }),
      422,
      "UNPROCESSABLE",
    );
    expect(unknown.errors).toEqual([{ path: "items.1.itemId", message: "no catalog item ghost" }]);
    await expectProblem(await order(apiKey, { customerId: "c", items: [] }), 400, "VALIDATION_FAILED");
    for (const quantity of [0, -1, 1.5, "2"]) {
      await expectProblem(await order(apiKey, { customerId: "c", items: [{ itemId: "item-456", quantity }] }), 400, "VALIDATION_FAILED");
    }
    await expectProblem(await order(apiKey, { items: [{ itemId: "item-456", quantity: 1 }] }), 400, "VALIDATION_FAILED");
    expect((await order(apiKey, { id: "order-1", customerId: "c", items: [{ itemId: "item-456", quantity: 1 }] })).status).toBe(201);
    await expectProblem(
      await order(apiKey, { id: "order-1", customerId: "c", items: [{ itemId: "item-456", quantity: 1 }] }),
      409,
      "CONFLICT",
    );
  });

  it("still answers 201 when KV refuses the write-through (logged and counted)", async () => {
    const { apiKey } = await shop();
    vi.spyOn(kvTier, "put").mockRejectedValue(new Error("KV PUT failed: 429 Too Many Requests"));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const before = cacheCounters().refusedWrites;
    const created = await create(apiKey, [{ itemId: "item-456", quantity: 1 }]);
    expect(cacheCounters().refusedWrites).toBe(before + 1);
    expect(warn.mock.calls.map((c) => JSON.parse(String(c[0])) as { op: string; key: string })).toContainEqual(
      expect.objectContaining({ op: "put", key: created.id }),
    );
    // This location's Cache API still has it; the order itself is safe in the Store.
    expect((await call(`/orders/${created.id}`, { key: apiKey })).status).toBe(200);
  });
});

describe("GET /orders/:id and PATCH /orders/:id", () => {
  it("is cache-aside: MISS reads the Store and fills the cache, then HIT", async () => {
    const { apiKey } = await shop();
    const created = await create(apiKey, [{ itemId: "item-456", quantity: 1 }]);
    await call(`/cache/${created.id}`, { method: "DELETE", key: apiKey });
    const miss = await call(`/orders/${created.id}`, { key: apiKey });
    expect(miss.headers.get("x-cache-status")).toBe("MISS");
    expect(await json(miss)).toEqual(created);
    expect((await call(`/cache/${created.id}`, { key: apiKey })).headers.get("x-cache-status")).toBe("HIT");
    expect((await call(`/orders/${created.id}`, { key: apiKey })).headers.get("x-cache-status")).toBe("HIT");
    const absent = await call("/orders/order-nope", { key: apiKey });
    expect(absent.headers.get("x-cache-status")).toBe("MISS");
    await expectProblem(absent, 404, "NOT_FOUND");
  });

  it("never serves a cached copy whose version is not the Store's (a value PUT under the order's id)", async () => {
    const { apiKey } = await shop();
    const created = await create(apiKey, [{ itemId: "item-456", quantity: 1 }]);
    await call(`/cache/${created.id}`, { method: "PUT", key: apiKey, body: { id: created.id, status: "DELIVERED", total: 0 } });
    const read = await call(`/orders/${created.id}`, { key: apiKey });
    expect(read.headers.get("x-cache-status")).toBe("MISS");
    expect(await json(read)).toEqual(created);
    expect((await call(`/orders/${created.id}`, { key: apiKey })).headers.get("x-cache-status")).toBe("HIT");
  });

  it("writes status changes through; forward moves may skip steps; other moves are 409", async () => {
    const { apiKey } = await shop();
    const created = await create(apiKey, [{ itemId: "item-456", quantity: 2 }]);
    const shipped = await patch(apiKey, created.id, "SHIPPED");
    expect(shipped.status).toBe(200);
    expect(shipped.headers.get("x-cache-status")).toBe("UPDATED");
    const body = await json<Order>(shipped);
    expect(body).toMatchObject({ id: created.id, status: "SHIPPED", total: 59.98, createdAt: created.createdAt });
    expect(await json(await call(`/cache/${created.id}`, { key: apiKey }))).toEqual(body);
    const read = await call(`/orders/${created.id}`, { key: apiKey });
    expect(read.headers.get("x-cache-status")).toBe("HIT");
    expect(await json(read)).toMatchObject({ status: "SHIPPED" });

    for (const status of ["CANCELLED", "PROCESSING", "SHIPPED"])
      await expectProblem(await patch(apiKey, created.id, status), 409, "INVALID_TRANSITION");
    expect((await patch(apiKey, created.id, "DELIVERED")).status).toBe(200);
    await expectProblem(await patch(apiKey, created.id, "CANCELLED"), 409, "INVALID_TRANSITION");

    const other = await create(apiKey, [{ itemId: "item-456", quantity: 1 }]);
    expect((await patch(apiKey, other.id, "PROCESSING")).status).toBe(200);
    expect((await patch(apiKey, other.id, "CANCELLED")).status).toBe(200);
    await expectProblem(await patch(apiKey, other.id, "SHIPPED"), 409, "INVALID_TRANSITION");
    await expectProblem(await patch(apiKey, other.id, "LOST"), 400, "VALIDATION_FAILED");
    await expectProblem(await patch(apiKey, "order-nope", "SHIPPED"), 404, "NOT_FOUND");
  });

  it("keeps tenants apart: another tenant's order id is a 404", async () => {
    const a = await shop();
    const b = await newTenant();
    const created = await create(a.apiKey, [{ itemId: "item-456", quantity: 1 }]);
    await expectProblem(await call(`/orders/${created.id}`, { key: b.apiKey }), 404, "NOT_FOUND");
    await expectProblem(await patch(b.apiKey, created.id, "SHIPPED"), 404, "NOT_FOUND");
    await expectProblem(await call("/catalog/items/item-456", { key: b.apiKey }), 404, "NOT_FOUND");
  });
});

describe("GET /customers/:id/orders", () => {
  it("is cached under customer-orders-<id>, and order writes invalidate it", async () => {
    const { apiKey } = await shop();
    const first = await create(apiKey, [{ itemId: "item-456", quantity: 1 }], "cust-456");
    await create(apiKey, [{ itemId: "item-456", quantity: 1 }], "someone-else");
    const list = async () => {
      const res = await call("/customers/cust-456/orders", { key: apiKey });
      expect(res.status).toBe(200);
      return { status: res.headers.get("x-cache-status"), body: await json<{ customerId: string; orders: Order[] }>(res) };
    };
    expect(await list()).toMatchObject({ status: "MISS", body: { customerId: "cust-456", orders: [first] } });
    expect((await list()).status).toBe("HIT");
    expect((await call("/cache/customer-orders-cust-456", { key: apiKey })).status).toBe(200);

    const second = await create(apiKey, [{ itemId: "item-dime", quantity: 3 }], "cust-456");
    const after = await list();
    expect(after.status).toBe("MISS");
    expect(after.body.orders.map((o) => o.id)).toEqual([second.id, first.id]);

    expect((await patch(apiKey, first.id, "PROCESSING")).status).toBe(200);
    const changed = await list();
    expect(changed.status).toBe("MISS");
    expect(changed.body.orders.find((o) => o.id === first.id)?.status).toBe("PROCESSING");
  });
});

describe("order events", () => {
  it("order.created and order.status.changed reach a subscribed webhook with the order id", async () => {
    const { apiKey } = await shop();
    const hook = bucket("orders");
    const sub = await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "orders", events: ["order.#"], url: hook.url } });
    expect(sub.status).toBe(201);
    const created = await create(apiKey, [{ itemId: "item-456", quantity: 2 }]);
    const [got] = await waitFor(hook.name, 1);
    expect(got?.headers["x-event-type"]).toBe("order.created");
    expect(got?.headers["x-partition-key"]).toBe(created.id);
    const { event } = JSON.parse(got?.body ?? "{}") as { event: EventEnvelope };
    expect(event).toMatchObject({
      type: "order.created",
      partitionKey: created.id,
      data: { orderId: created.id, customerId: "cust-123", total: 59.98 },
    });

    await patch(apiKey, created.id, "SHIPPED");
    const both = await waitFor(hook.name, 2);
    const changed = both.map((r) => JSON.parse(r.body) as { event: EventEnvelope }).find((r) => r.event.type === "order.status.changed");
    expect(changed?.event.data).toMatchObject({ orderId: created.id, status: "SHIPPED", previousStatus: "CREATED" });
  });

  it("re-publishes the pending event from the Store's alarm when the first publish failed", async () => {
    const { tenantId, apiKey } = await shop();
    const hook = bucket("orders-alarm");
    await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "orders", events: ["order.created"], url: hook.url } });
    const publishing = publishSpy().mockRejectedValueOnce(new Error("partition unavailable"));
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const created = await create(apiKey, [{ itemId: "item-456", quantity: 1 }]);
    // The one hand-off to the bus failed, so nothing can be on its way to the receiver.
    expect(publishing).toHaveBeenCalledTimes(1);
    expect(await received(hook.name)).toHaveLength(0);

    const shard = env.STORE.get(env.STORE.idFromName(orderShardName(tenantId, created.id)));
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    const [got] = await waitFor(hook.name, 1);
    expect(JSON.parse(got?.body ?? "{}")).toMatchObject({ event: { type: "order.created", data: { orderId: created.id } } });
    // Published and removed from the outbox: nothing is left for another alarm to send.
    expect(await runDurableObjectAlarm(shard)).toBe(false);
  });
});
