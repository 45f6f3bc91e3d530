/**
 * GET /stats through the worker with real objects: events accepted (counted by the partitions,
 * duplicates not), deliveries pending / failed / delivered over push and pull subscriptions,
 * tasks by status, cache hits and misses reported by the isolate, the caller's tenant only, and
 * the key and scope checks.
 */
import { describe, expect, it, vi } from "vitest";
import type { Stats } from "../../src/schemas/stats.js";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";
import { bucket, script } from "../helpers/hooks.js";

const stats = async (apiKey: string) => {
  const res = await call("/stats", { key: apiKey });
  expect(res.status, await res.clone().text()).toBe(200);
  return json<Stats>(res);
};

/** Waits until the stats satisfy `check` (event and cache counts arrive within a few seconds). */
async function statsUntil(apiKey: string, check: (s: Stats) => void, timeout = 15_000): Promise<Stats> {
  let last: Stats | undefined;
  await vi.waitFor(
    async () => {
      last = await stats(apiKey);
      check(last);
    },
    { timeout, interval: 250 },
  );
  return last as Stats;
}

async function ok(apiKey: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await call(path, { method, key: apiKey, ...(body !== undefined ? { body } : {}) });
  expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
  return res.status === 204 ? {} : json(res);
}

describe("GET /stats", () => {
  it("a fresh tenant: everything zero, no hit ratio", async () => {
    const { apiKey } = await newTenant("stats-fresh");
    const s = await stats(apiKey);
    expect(s).toEqual({
      generatedAt: expect.any(String),
      events: { lastMinute: 0, lastHour: 0, total: 0, partitions: 0 },
      subscriptions: 0,
      deliveries: { pending: 0, failed: 0, delivered: 0 },
      tasks: { QUEUED: 0, RUNNING: 0, RETRYING: 0, SUCCEEDED: 0, DEAD: 0 },
      cache: { hits: 0, misses: 0, hitRatio: null, windowSeconds: 3600 },
    });
    expect(Math.abs(Date.parse(s.generatedAt) - Date.now())).toBeLessThan(60_000);
  });

  it("counts the events accepted in the last minute and hour (a duplicate is not counted)", async () => {
    const { apiKey } = await newTenant("stats-events");
    for (let i = 0; i < 4; i++) await ok(apiKey, "POST", "/events", { type: "st.one", partitionKey: `p-${i % 2}`, data: { i } });
    await ok(apiKey, "POST", "/events", { id: "evt-dup", type: "st.one", partitionKey: "p-0", data: {} });
    await ok(apiKey, "POST", "/events", { id: "evt-dup", type: "st.one", partitionKey: "p-0", data: {} }); // duplicate
    await ok(apiKey, "POST", "/events/batch", { events: [1, 2, 3].map((n) => ({ type: "st.batch", data: { n } })) });
    const s = await statsUntil(apiKey, (x) => expect(x.events.lastMinute).toBe(8));
    expect(s.events.lastHour).toBe(8);
    // The counts go on growing with further events.
    await ok(apiKey, "POST", "/events", { type: "st.one", partitionKey: "p-0", data: {} });
    await statsUntil(apiKey, (x) => expect(x.events).toMatchObject({ lastMinute: 9, lastHour: 9 }));
  });

  it("sums deliveries over push and pull subscriptions: a dead-lettered one, a delivered one, a pending one", async () => {
    const { apiKey } = await newTenant("stats-deliveries");
    const failing = bucket("st-fail");
    await script(failing.name, { responses: [{ status: 500 }] });
    const fine = bucket("st-ok");
    await ok(apiKey, "POST", "/webhooks", {
      name: "failing",
      url: failing.url,
      events: ["st.fail"],
      retryPolicy: { maxAttempts: 1, backoffMs: 100, timeoutMs: 5000 },
    });
    await ok(apiKey, "POST", "/webhooks", { name: "fine", url: fine.url, events: ["st.ok"] });
    const pull = (await ok(apiKey, "POST", "/subscriptions", { name: "puller", events: ["st.pull"] })) as { id: string };
    await ok(apiKey, "POST", "/events", { type: "st.fail", data: {} });
    await ok(apiKey, "POST", "/events", { type: "st.ok", data: {} });
    await ok(apiKey, "POST", "/events", { type: "st.pull", data: {} });

    const s = await statsUntil(apiKey, (x) => expect(x.deliveries).toEqual({ pending: 1, failed: 1, delivered: 1 }));
    expect(s.subscriptions).toBe(3);

    // The pending pull message is pulled and acked: it turns delivered.
    let messages: Array<{ ackId: string }> = [];
    await vi.waitFor(
      async () => {
        const res = (await ok(apiKey, "POST", `/subscriptions/${pull.id}/pull`, { waitSeconds: 1 })) as { messages: typeof messages };
        messages = res.messages;
        expect(messages).toHaveLength(1);
      },
      { timeout: 10_000 },
    );
    await ok(apiKey, "POST", `/subscriptions/${pull.id}/ack`, { ackIds: messages.map((m) => m.ackId) });
    await statsUntil(apiKey, (x) => expect(x.deliveries).toEqual({ pending: 0, failed: 1, delivered: 2 }));
  });

  it("counts tasks by status across the tenant's shards", async () => {
    const { apiKey } = await newTenant("stats-tasks");
    const good = bucket("st-wok");
    const bad = bucket("st-wbad");
    await script(bad.name, { responses: [{ status: 500 }] });
    await ok(apiKey, "POST", "/workers", { name: "good", url: good.url, taskTypes: ["st.good"] });
    await ok(apiKey, "POST", "/workers", { name: "bad", url: bad.url, taskTypes: ["st.bad"] });
    await ok(apiKey, "POST", "/tasks", { id: "st-task-ok", type: "st.good", data: {} });
    await ok(apiKey, "POST", "/tasks", { id: "st-task-dead", type: "st.bad", data: {}, maxAttempts: 1 });
    await ok(apiKey, "POST", "/tasks", { id: "st-task-later", type: "st.good", data: {}, delaySeconds: 3600 });
    await ok(apiKey, "POST", "/tasks", { id: "st-task-later-2", type: "st.good", data: {}, delaySeconds: 3600 });
    await statsUntil(apiKey, (x) => expect(x.tasks).toEqual({ QUEUED: 2, RUNNING: 0, RETRYING: 0, SUCCEEDED: 1, DEAD: 1 }));
  });

  it("counts cache hits and misses of GET /cache/:key and GET /orders/:id, reported by the isolate within seconds", async () => {
    const { apiKey } = await newTenant("stats-cache");
    await ok(apiKey, "PUT", "/cache/st-key", { n: 1 });
    for (let i = 0; i < 3; i++) expect((await call("/cache/st-key", { key: apiKey })).headers.get("x-cache-status")).toBe("HIT");
    const miss = await call("/cache/st-absent", { key: apiKey });
    expect(miss.headers.get("x-cache-status")).toBe("MISS");
    await miss.body?.cancel();
    await statsUntil(apiKey, (x) => expect(x.cache).toEqual({ hits: 3, misses: 1, hitRatio: 0.75, windowSeconds: 3600 }));

    // An order read: MISS (from the Store) once its cached copy is cleared, then HIT.
    await ok(apiKey, "PUT", "/catalog/items/st-item", { name: "item", price: 1 });
    await ok(apiKey, "POST", "/orders", { id: "st-order", customerId: "st-cust", items: [{ itemId: "st-item", quantity: 1 }] });
    await ok(apiKey, "DELETE", "/cache/st-order");
    const first = await call("/orders/st-order", { key: apiKey });
    expect(first.headers.get("x-cache-status")).toBe("MISS");
    await first.body?.cancel();
    const second = await call("/orders/st-order", { key: apiKey });
    expect(second.headers.get("x-cache-status")).toBe("HIT");
    await second.body?.cancel();
    await statsUntil(apiKey, (x) => expect(x.cache).toMatchObject({ hits: 4, misses: 2 }));
  });

  it("counts the caller's tenant only", async () => {
    const a = await newTenant("stats-a");
    const b = await newTenant("stats-b");
    for (let i = 0; i < 3; i++) await ok(b.apiKey, "POST", "/events", { type: "st.b", data: { i } });
    await ok(b.apiKey, "PUT", "/cache/shared-name", { b: true });
    await (await call("/cache/shared-name", { key: b.apiKey })).body?.cancel();
    await ok(b.apiKey, "POST", "/subscriptions", { name: "b-pull", events: ["st.b"] });
    await ok(b.apiKey, "POST", "/tasks", { id: "b-task", type: "st.b", data: {}, delaySeconds: 3600 });

    await ok(a.apiKey, "POST", "/events", { type: "st.a", data: {} });
    const miss = await call("/cache/shared-name", { key: a.apiKey });
    expect(miss.status).toBe(404);
    await miss.body?.cancel();

    await statsUntil(b.apiKey, (x) => {
      expect(x.events.lastMinute).toBe(3);
      expect(x.cache).toMatchObject({ hits: 1, misses: 0 });
    });
    const s = await statsUntil(a.apiKey, (x) => {
      expect(x.events.lastMinute).toBe(1);
      expect(x.cache).toMatchObject({ hits: 0, misses: 1 });
    });
    expect(s.subscriptions).toBe(0);
    expect(s.tasks).toEqual({ QUEUED: 0, RUNNING: 0, RETRYING: 0, SUCCEEDED: 0, DEAD: 0 });
    expect(s.deliveries).toEqual({ pending: 0, failed: 0, delivered: 0 });
  });

  it("needs a key (401) with the scope events:read (403)", async () => {
    await expectProblem(await call("/stats", { key: null }), 401, "MISSING_API_KEY");
    const { apiKey } = await newTenant("stats-scope");
    const res = await call("/tenants/keys", { method: "POST", key: apiKey, body: { name: "publisher", scopes: ["events:publish"] } });
    const publisher = (await json<{ apiKey: string }>(res)).apiKey;
    const problem = await expectProblem(await call("/stats", { key: publisher }), 403, "INSUFFICIENT_SCOPE");
    expect(problem.detail).toContain("'events:read'");
    expect(
      (
        await call("/stats", {
          key: (
            await json<{ apiKey: string }>(
              await call("/tenants/keys", { method: "POST", key: apiKey, body: { name: "reader", scopes: ["events:read"] } }),
            )
          ).apiKey,
        })
      ).status,
    ).toBe(200);
  });
});
