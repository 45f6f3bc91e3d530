import { describe, expect, it, vi } from "vitest";
import { Partition } from "../../src/objects/partition/object.js";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";

type Result = {
  eventId: string;
  status: string;
  subscribers: string[];
  routedTo?: string[];
  partitionKey: string;
  sequence: number;
  duplicate?: boolean;
};

const publish = (key: string, body: unknown, headers?: Record<string, string>) =>
  call("/events", { method: "POST", key, body, ...(headers ? { headers } : {}) });

describe("POST /events", () => {
  it("publishes an order.created event and fills the envelope's defaults", async () => {
    const { tenantId, apiKey } = await newTenant();
    const res = await publish(apiKey, { type: "order.created", data: { orderId: "order-123", customerId: "cust-456", total: 99.95 } });
    expect(res.status).toBe(202);
    const result = await json<Result>(res);
    expect(result).toMatchObject({ status: "PUBLISHED", subscribers: [], sequence: 1 });
    expect(result.eventId).toMatch(/^evt_/);
    expect(result.partitionKey).toMatch(/^_shard-\d+$/);
    expect(result.routedTo).toBeUndefined();

    const stored = await json(await call(`/events/${result.eventId}`, { key: apiKey }));
    expect(stored).toMatchObject({
      id: result.eventId,
      type: "order.created",
      data: { orderId: "order-123", total: 99.95 },
      metadata: { correlationId: result.eventId, version: "1.0", tenantId },
      partitionKey: result.partitionKey,
      sequence: 1,
      deliveries: [],
    });
    expect(Date.parse(stored.timestamp as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("keeps client-supplied envelope fields", async () => {
    const { tenantId, apiKey } = await newTenant();
    const event = {
      id: "evt-12345",
      type: "order.created",
      timestamp: "2024-07-15T14:32:22Z",
      source: "order-service",
      data: { orderId: "order-6789" },
      metadata: { correlationId: "corr-12345", causationId: "evt-12344", version: "2.1", tenantId },
      partitionKey: "order-6789",
    };
    const result = await json<Result>(await publish(apiKey, event));
    expect(result).toMatchObject({ eventId: "evt-12345", partitionKey: "order-6789", sequence: 1 });
    const stored = await json(await call("/events/evt-12345?partitionKey=order-6789", { key: apiKey }));
    expect(stored).toMatchObject({ ...event, sequence: 1 });
  });

  it("refuses a body naming another tenant (403) and bad fields (400)", async () => {
    const { apiKey } = await newTenant();
    await expectProblem(await publish(apiKey, { type: "a.b", data: {}, metadata: { tenantId: "someone-else" } }), 403, "TENANT_MISMATCH");
    await expectProblem(await publish(apiKey, { type: "Order.Created", data: {} }), 400, "VALIDATION_FAILED");
    await expectProblem(await publish(apiKey, { type: "order.created" }), 400, "VALIDATION_FAILED");
    await expectProblem(await publish(apiKey, { type: "a.b", data: {}, partitionKey: "_shard-1" }), 400, "VALIDATION_FAILED");
    await expectProblem(await publish(apiKey, { type: "a.b", data: {}, timestamp: "yesterday" }), 400, "VALIDATION_FAILED");
    const keys = Array.from({ length: 101 }, (_, i) => `k${i}`);
    await expectProblem(await publish(apiKey, { type: "a.b", data: {}, cacheInvalidation: { keys } }), 400, "VALIDATION_FAILED");
    const big = { type: "a.b", data: { blob: "x".repeat(110 * 1024) } };
    await expectProblem(await publish(apiKey, big), 413, "PAYLOAD_TOO_LARGE");
  });

  it("treats Idempotency-Key as the event id and replays the original result", async () => {
    const { apiKey } = await newTenant();
    const first = await publish(apiKey, { type: "a.b", data: { n: 1 } }, { "idempotency-key": "pay-1" });
    expect(first.status).toBe(202);
    const original = await json<Result>(first);
    expect(original.eventId).toBe("pay-1");
    expect(first.headers.get("idempotent-replayed")).toBeNull();

    const again = await publish(apiKey, { type: "a.b", data: { n: 2 } }, { "idempotency-key": "pay-1" });
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await json(again)).toEqual({ ...original, duplicate: true });

    await expectProblem(
      await publish(apiKey, { id: "other", type: "a.b", data: {} }, { "idempotency-key": "pay-2" }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("stores one event for 20 concurrent publishes of one id", async () => {
    const { apiKey } = await newTenant();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => publish(apiKey, { id: "same-1", type: "a.b", data: {}, partitionKey: "p1" })),
    );
    const results = await Promise.all(responses.map((r) => json<Result>(r)));
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.sequence))).toEqual(new Set([1]));
    // The duplicates used no sequence number: the next event follows without a gap.
    const next = await json<Result>(await publish(apiKey, { id: "same-2", type: "a.b", data: {}, partitionKey: "p1" }));
    expect(next.sequence).toBe(2);
    const log = await json<{ events: unknown[] }>(await call("/partitions/p1/events", { key: apiKey }));
    expect(log.events).toHaveLength(2);
  });

  it("gives 60 concurrent publishes into one partition sequences 1..60 and replays them in order", async () => {
    const { apiKey } = await newTenant();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        publish(apiKey, { id: `e-${i}`, type: "a.b", data: { i }, partitionKey: "orders" }).then((r) => json<Result>(r)),
      ),
    );
    expect(results.map((r) => r.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    const bySeq = new Map(results.map((r) => [r.sequence, r.eventId]));

    const seen: Array<{ id: string; sequence: number }> = [];
    let after = 0;
    for (let page = 0; page < 5; page++) {
      const body = await json<{ events: Array<{ id: string; sequence: number }>; nextAfter: number }>(
        await call(`/partitions/orders/events?after=${after}&limit=25`, { key: apiKey }),
      );
      seen.push(...body.events);
      after = body.nextAfter;
      if (body.events.length < 25) break;
    }
    expect(seen.map((e) => e.sequence)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(seen.every((e) => bySeq.get(e.sequence) === e.id)).toBe(true);
    expect(after).toBe(60);
  });

  it("validates log paging parameters", async () => {
    await expectProblem(await call("/partitions/p/events?limit=0"), 400, "VALIDATION_FAILED");
    await expectProblem(await call("/partitions/p/events?limit=1001"), 400, "VALIDATION_FAILED");
    await expectProblem(await call("/partitions/p/events?after=-1"), 400, "VALIDATION_FAILED");
  });
});

describe("subscriptions and routing", () => {
  async function subscribe(key: string, body: Record<string, unknown>) {
    const res = await call("/subscriptions", { method: "POST", key, body });
    if (res.status !== 201) throw new Error(`subscribe failed ${res.status} ${await res.text()}`);
    return json<{ id: string; name: string }>(res);
  }

  it("lists subscribers and routedTo exactly as the pattern rules say", async () => {
    const { apiKey } = await newTenant();
    await subscribe(apiKey, { name: "inventory-service", events: ["order.created"] });
    await subscribe(apiKey, { name: "all-orders", events: ["order.#"] });
    await subscribe(apiKey, { name: "us-east-fulfillment", routingKeys: ["order.region.us-east.#"] });
    await subscribe(apiKey, { name: "us-east-analytics", events: ["order.*.changed"], routingKeys: ["*.region.us-east.#"] });
    await subscribe(apiKey, { name: "eu-fulfillment", routingKeys: ["order.region.eu-west.#"] });
    await subscribe(apiKey, { name: "audit" });

    // A routing key under order.region.us-east: routedTo names the subscriptions whose routingKeys match it.
    const routed = await json<Result>(
      await publish(apiKey, {
        type: "order.status.changed",
        routingKey: "order.region.us-east.status.shipped",
        data: { orderId: "order-123", status: "SHIPPED", region: "us-east" },
      }),
    );
    expect(routed.routedTo).toEqual(["us-east-fulfillment", "us-east-analytics"]);
    expect(routed.subscribers).toEqual(["all-orders", "us-east-fulfillment", "us-east-analytics", "audit"]);

    // No routing key: no subscription with routingKeys matches, and routedTo is absent.
    const plain = await json<Result>(await publish(apiKey, { type: "order.created", data: {} }));
    expect(plain.subscribers).toEqual(["inventory-service", "all-orders", "audit"]);
    expect(plain.routedTo).toBeUndefined();

    // `#` matches zero words: order.# matches the one-word type "order".
    const bare = await json<Result>(await publish(apiKey, { type: "order", data: {} }));
    expect(bare.subscribers).toEqual(["all-orders", "audit"]);

    // `*` is exactly one word: order.*.changed does not match order.changed.
    const short = await json<Result>(await publish(apiKey, { type: "order.changed", routingKey: "order.region.us-east", data: {} }));
    expect(short.subscribers).toEqual(["all-orders", "us-east-fulfillment", "audit"]);
    expect(short.routedTo).toEqual(["us-east-fulfillment"]);
  });

  it("manages subscriptions: unique names, patch, delete, validation", async () => {
    const { apiKey } = await newTenant();
    const sub = await subscribe(apiKey, { name: "s1", events: ["a.*"] });
    await expectProblem(await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "s1" } }), 409, "CONFLICT");
    await expectProblem(
      await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "s2", events: ["A.b"] } }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "s3", routingKeys: ["a..b"] } }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "s4", events: Array.from({ length: 51 }, () => "a.b") } }),
      400,
      "VALIDATION_FAILED",
    );

    const patched = await call(`/subscriptions/${sub.id}`, { method: "PATCH", key: apiKey, body: { events: ["b.#"], status: "DISABLED" } });
    expect(await json(patched)).toMatchObject({ id: sub.id, events: ["b.#"], status: "DISABLED" });
    expect((await json<Result>(await publish(apiKey, { type: "b.c", data: {} }))).subscribers).toEqual([]);
    await call(`/subscriptions/${sub.id}`, { method: "PATCH", key: apiKey, body: { status: "ACTIVE" } });
    expect((await json<Result>(await publish(apiKey, { type: "b.c", data: {} }))).subscribers).toEqual(["s1"]);

    const list = await json<{ subscriptions: Array<{ id: string }> }>(await call("/subscriptions", { key: apiKey }));
    expect(list.subscriptions.map((s) => s.id)).toEqual([sub.id]);
    expect((await call(`/subscriptions/${sub.id}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    await expectProblem(await call(`/subscriptions/${sub.id}`, { key: apiKey }), 404, "NOT_FOUND");
    expect((await json<Result>(await publish(apiKey, { type: "b.c", data: {} }))).subscribers).toEqual([]);
  });

  it("keeps tenants apart: events, logs and subscriptions", async () => {
    const a = await newTenant("a");
    const b = await newTenant("b");
    const sub = await subscribe(a.apiKey, { name: "only-a" });
    const result = await json<Result>(await publish(a.apiKey, { id: "shared-id", type: "x.y", data: {}, partitionKey: "p" }));
    expect(result.subscribers).toEqual(["only-a"]);

    await expectProblem(await call("/events/shared-id?partitionKey=p", { key: b.apiKey }), 404, "NOT_FOUND");
    expect((await json<{ events: unknown[] }>(await call("/partitions/p/events", { key: b.apiKey }))).events).toEqual([]);
    await expectProblem(await call(`/subscriptions/${sub.id}`, { key: b.apiKey }), 404, "NOT_FOUND");
    await expectProblem(await call(`/subscriptions/${sub.id}`, { method: "DELETE", key: b.apiKey }), 404, "NOT_FOUND");
    expect((await json<{ subscriptions: unknown[] }>(await call("/subscriptions", { key: b.apiKey }))).subscriptions).toEqual([]);

    // The same id in B is B's own event, with its own sequence.
    const mine = await json<Result>(await publish(b.apiKey, { id: "shared-id", type: "x.y", data: {}, partitionKey: "p" }));
    expect(mine).toMatchObject({ sequence: 1, subscribers: [] });
    expect(mine.duplicate).toBeUndefined();
  });
});

describe("POST /events/batch", () => {
  it("returns one result per event in order, each its own success or problem", async () => {
    const { apiKey } = await newTenant();
    const res = await call("/events/batch", {
      method: "POST",
      key: apiKey,
      body: {
        events: [
          { id: "b1", type: "a.b", data: {}, partitionKey: "p1" },
          { type: "BAD", data: {} },
          { id: "b2", type: "a.b", data: {}, partitionKey: "p2" },
          { id: "b3", type: "a.b", data: {}, partitionKey: "p1" },
          { id: "b1", type: "a.b", data: {}, partitionKey: "p1" },
        ],
      },
    });
    expect(res.status).toBe(202);
    const { results } = await json<{ results: Array<Record<string, unknown>> }>(res);
    expect(results).toHaveLength(5);
    expect(results[0]).toMatchObject({ eventId: "b1", partitionKey: "p1", sequence: 1 });
    expect(results[1]).toMatchObject({ index: 1, status: 400, code: "VALIDATION_FAILED" });
    expect(results[2]).toMatchObject({ eventId: "b2", partitionKey: "p2", sequence: 1 });
    expect(results[3]).toMatchObject({ eventId: "b3", partitionKey: "p1", sequence: 2 });
    expect(results[4]).toMatchObject({ eventId: "b1", sequence: 1, duplicate: true });
  });

  it("refuses an empty batch and one over 100 events", async () => {
    await expectProblem(await call("/events/batch", { method: "POST", body: { events: [] } }), 400, "VALIDATION_FAILED");
    const events = Array.from({ length: 101 }, () => ({ type: "a.b", data: {} }));
    await expectProblem(await call("/events/batch", { method: "POST", body: { events } }), 400, "VALIDATION_FAILED");
  });

  it("costs one Partition call per partition touched", async () => {
    const { tenantId, apiKey } = await newTenant();
    // The test shares the worker's isolate, so a spy on the class sees every call the route makes.
    const spy = vi.spyOn(Partition.prototype, "publish");
    const events = Array.from({ length: 100 }, (_, i) => ({ id: `m-${i}`, type: "a.b", data: {}, partitionKey: `p${i % 3}` }));
    const { results } = await json<{ results: Result[] }>(await call("/events/batch", { method: "POST", key: apiKey, body: { events } }));
    const calls = spy.mock.calls.filter(([t]) => t === tenantId).map(([, p, items]) => [p, items.length]);
    spy.mockRestore();
    expect(calls.sort()).toEqual([
      ["p0", 34],
      ["p1", 33],
      ["p2", 33],
    ]);
    for (const p of ["p0", "p1", "p2"]) {
      const seqs = results.filter((r) => r.partitionKey === p).map((r) => r.sequence);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
  });
});
