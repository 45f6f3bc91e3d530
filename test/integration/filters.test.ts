/**
 * Content filters through the worker: stored and shown on subscriptions and webhooks, refused with
 * the path of the fault, and applied on publish after the type/routing index.
 */
import { describe, expect, it, vi } from "vitest";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";
import { bucket } from "../helpers/hooks.js";

type Message = { ackId: string; event: { id: string; data: Record<string, unknown> } };

async function pullAll(apiKey: string, id: string, n: number): Promise<Message[]> {
  const got: Message[] = [];
  const until = Date.now() + 10_000;
  while (got.length < n && Date.now() < until) {
    const res = await call(`/subscriptions/${id}/pull`, { method: "POST", key: apiKey, body: { waitSeconds: 1, maxMessages: 10 } });
    got.push(...(await json<{ messages: Message[] }>(res)).messages);
  }
  return got;
}

describe("content filters", () => {
  it("a filtered pull subscription receives only matching events", async () => {
    const { apiKey } = await newTenant();
    const filter = { data: { amount: [{ numeric: [">=", 100] }], currency: ["EUR", "USD"] } };
    const res = await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "big", events: ["order.*"], filter } });
    expect(res.status).toBe(201);
    const sub = await json<{ id: string; filter: unknown }>(res);
    expect(sub.filter).toEqual(filter);
    const all = await json<{ id: string }>(
      await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "all", events: ["order.*"] } }),
    );

    const bodies = [
      { type: "order.created", data: { amount: 150, currency: "EUR" } },
      { type: "order.created", data: { amount: 50, currency: "EUR" } },
      { type: "order.created", data: { amount: 500, currency: "GBP" } },
      { type: "order.paid", data: { amount: 100, currency: "USD" } },
    ];
    const published = await json<{ results: Array<{ eventId: string; subscribers: string[] }> }>(
      await call("/events/batch", { method: "POST", key: apiKey, body: { events: bodies } }),
    );
    expect(published.results.map((r) => r.subscribers.slice().sort())).toEqual([["all", "big"], ["all"], ["all"], ["all", "big"]]);
    const got = await pullAll(apiKey, sub.id, 2);
    expect(got.map((m) => m.event.data)).toEqual(
      expect.arrayContaining([
        { amount: 150, currency: "EUR" },
        { amount: 100, currency: "USD" },
      ]),
    );
    expect(got).toHaveLength(2);
    expect(await pullAll(apiKey, all.id, 4)).toHaveLength(4);

    // GET shows it; PATCH replaces it; null removes it.
    expect((await json<{ filter: unknown }>(await call(`/subscriptions/${sub.id}`, { key: apiKey }))).filter).toEqual(filter);
    const patched = await call(`/subscriptions/${sub.id}`, {
      method: "PATCH",
      key: apiKey,
      body: { filter: { source: [{ prefix: "billing" }] } },
    });
    expect((await json<{ filter: unknown }>(patched)).filter).toEqual({ source: [{ prefix: "billing" }] });
    const removed = await call(`/subscriptions/${sub.id}`, { method: "PATCH", key: apiKey, body: { filter: null } });
    expect(await json(removed)).not.toHaveProperty("filter");
  });

  it("filters see the envelope as stored (defaults filled) and work on webhooks", async () => {
    const { apiKey } = await newTenant();
    const res = await call("/webhooks", {
      method: "POST",
      key: apiKey,
      // The test receiver: the matching event is really delivered (no lookups of outside hosts).
      body: { url: bucket("filters").url, filter: { metadata: { version: ["1.0"] }, partitionKey: [{ prefix: "_shard-" }] } },
    });
    expect(res.status).toBe(201);
    const hook = await json<{ webhookId: string; name: string; filter: unknown }>(res);
    expect(hook.filter).toBeDefined();
    const publish = async (body: Record<string, unknown>) =>
      (
        await json<{ subscribers: string[] }>(
          await call("/events", { method: "POST", key: apiKey, body: { type: "a.b", data: {}, ...body } }),
        )
      ).subscribers;
    expect(await publish({})).toEqual([hook.name]);
    expect(await publish({ metadata: { version: "2.0" } })).toEqual([]);
    expect(await publish({ partitionKey: "customer-1" })).toEqual([]);
    // Delivered (and settled) before the test ends.
    await vi.waitFor(async () => {
      const log = await json<{ deliveries: Array<{ status: string }> }>(
        await call(`/webhooks/${hook.webhookId}/deliveries`, { key: apiKey }),
      );
      expect(log.deliveries.map((d) => d.status)).toEqual(["DELIVERED"]);
    });
  });

  it("a malformed filter is a 400 naming the path", async () => {
    const { apiKey } = await newTenant();
    const cases: Array<[unknown, string]> = [
      [{ data: { x: [{ contains: "a" }] } }, "filter.data.x[0].contains"],
      [{ data: { x: [{ numeric: ["!=", 1] }] } }, "filter.data.x[0].numeric[0]"],
      [{ a: { b: { c: { d: { e: { f: ["x"] } } } } } }, "filter"],
      [{ a: Array.from({ length: 101 }, (_, i) => i) }, "filter"],
      [{ a: ["x".repeat(5000)] }, "filter"],
    ];
    for (const [filter, path] of cases) {
      const body = await expectProblem(
        await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "f", filter } }),
        400,
        "VALIDATION_FAILED",
      );
      expect((body.errors as Array<{ path: string }>).map((e) => e.path)).toContain(path);
    }
    const ok = await json<{ id: string }>(await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "g" } }));
    await expectProblem(
      await call(`/subscriptions/${ok.id}`, { method: "PATCH", key: apiKey, body: { filter: { x: "bare" } } }),
      400,
      "VALIDATION_FAILED",
    );
  });
});
