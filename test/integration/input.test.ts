/** Input edge cases through the worker: trailing slashes, unknown envelope members, clear messages for bad data and URLs. */
import { describe, expect, it } from "vitest";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";

type Problem = { detail: string; errors?: Array<{ path: string; message: string }> };

describe("a trailing slash works like none", () => {
  it("lists every collection with and without the slash", async () => {
    const { apiKey } = await newTenant("slash");
    for (const path of ["/subscriptions", "/webhooks", "/tasks", "/workers", "/tenants/keys"]) {
      const plain = await call(path, { key: apiKey });
      const slashed = await call(`${path}/`, { key: apiKey });
      expect(plain.status, path).toBe(200);
      expect(slashed.status, `${path}/`).toBe(200);
      expect(await slashed.json()).toEqual(await plain.json());
    }
    expect((await call("/health/", { key: null })).status).toBe(200);
  });

  it("keeps the method and the body: POST, PATCH and DELETE on a slashed path are served in place, never redirected", async () => {
    const { apiKey } = await newTenant("slash-write");
    const created = await call("/subscriptions/", { method: "POST", key: apiKey, body: { name: "slashed", events: ["order.*"] } });
    expect(created.status).toBe(201);
    const sub = await json<{ id: string; name: string; events: string[] }>(created);
    expect(sub).toMatchObject({ name: "slashed", events: ["order.*"] });

    const patched = await call(`/subscriptions/${sub.id}/`, { method: "PATCH", key: apiKey, body: { events: ["order.created"] } });
    expect(patched.status).toBe(200);
    expect(await json(patched)).toMatchObject({ events: ["order.created"] });

    const published = await call("/events/", { method: "POST", key: apiKey, body: { type: "order.created", data: { n: 1 } } });
    expect(published.status).toBe(202);
    expect(await json(published)).toMatchObject({ status: "PUBLISHED", subscribers: ["slashed"] });

    const task = await call("/tasks/", { method: "POST", key: apiKey, body: { type: "email.send", data: { to: "a@example.com" } } });
    expect(task.status).toBe(202);

    const deleted = await call(`/subscriptions/${sub.id}/`, { method: "DELETE", key: apiKey });
    expect(deleted.status).toBeLessThan(300);
    await expectProblem(await call(`/subscriptions/${sub.id}`, { key: apiKey }), 404, "NOT_FOUND");
  });

  it("routes every documented operation with a trailing slash (no 404 route / 405 / 3xx / 5xx)", async () => {
    const { apiKey } = await newTenant("slash-all");
    const doc = await json<{ paths: Record<string, Record<string, unknown>> }>(await call("/openapi.json", { key: null }));
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const url = `${path.replace(/\{[^}]+\}/g, "x1")}/`;
        const res = await call(url, {
          method: method.toUpperCase(),
          key: apiKey,
          ...(method === "get" || method === "delete" ? {} : { body: {} }),
        });
        const text = await res.text();
        const at = `${method.toUpperCase()} ${url} → ${res.status} ${text.slice(0, 200)}`;
        expect(res.status, at).toBeLessThan(500);
        expect(res.status < 300 || res.status >= 400, at).toBe(true);
        expect(text, at).not.toMatch(/ROUTE_NOT_FOUND|METHOD_NOT_ALLOWED/);
      }
    }
  });

  it("still answers an unknown path with 404 and a wrong method with 405, slash or not", async () => {
    await expectProblem(await call("/nope/", { key: null }), 404, "ROUTE_NOT_FOUND");
    await expectProblem(await call("/health/", { method: "DELETE", key: null }), 405, "METHOD_NOT_ALLOWED");
  });
});

describe("unknown members of an event envelope", () => {
  const base = { type: "order.created", data: { orderId: "o-1" } };

  async function refused(body: Record<string, unknown>): Promise<Problem> {
    return (await expectProblem(await call("/events", { method: "POST", body }), 400, "VALIDATION_FAILED")) as unknown as Problem;
  }

  it("refuses routing_key and suggests routingKey (it used to be dropped, publishing with no routing)", async () => {
    const p = await refused({ ...base, routing_key: "order.eu" });
    expect(p.errors).toEqual([{ path: "routing_key", message: 'unknown member "routing_key"; did you mean "routingKey"?' }]);
    expect(p.detail).toContain("routing_key");
    expect(p.detail).toContain('"routingKey"');
  });

  it("suggests by normalised name and by small edit distance", async () => {
    const cases: Array<[string, string]> = [
      ["partitionkey", "partitionKey"],
      ["partition_key", "partitionKey"],
      ["Routing-Key", "routingKey"],
      ["routinKey", "routingKey"],
      ["tpye", "type"],
      ["cache_invalidation", "cacheInvalidation"],
      ["timeStamp", "timestamp"],
    ];
    for (const [sent, meant] of cases) {
      const p = await refused({ ...base, [sent]: "x" });
      expect(p.errors?.[0]?.path, sent).toBe(sent);
      expect(p.errors?.[0]?.message, sent).toContain(`did you mean "${meant}"?`);
    }
  });

  it("points idempotencyKey at the Idempotency-Key header", async () => {
    const p = await refused({ ...base, idempotencyKey: "k-1" });
    expect(p.errors?.[0]?.message).toContain("Idempotency-Key header");
  });

  it("names every unknown member, and lists the envelope's members when one is no near miss", async () => {
    const p = await refused({ ...base, routing_key: "a.b", colour: "red" });
    const message = p.errors?.[0]?.message ?? "";
    expect(message).toContain('"routing_key" (did you mean "routingKey"?)');
    expect(message).toContain('"colour"');
    expect(message).toContain("id, type, timestamp, source, subject, data, metadata, routingKey, partitionKey, cacheInvalidation");
  });

  it("checks metadata and cacheInvalidation members too", async () => {
    const meta = await refused({ ...base, metadata: { correlationID: "c-1" } });
    expect(meta.errors).toEqual([
      { path: "metadata.correlationID", message: 'unknown member "correlationID"; did you mean "correlationId"?' },
    ]);
    const cache = await refused({ ...base, cacheInvalidation: { key: ["a"] } });
    const key = cache.errors?.find((e) => e.path === "cacheInvalidation.key");
    expect(key?.message, JSON.stringify(cache)).toContain('did you mean "keys"?');
  });

  it("gives a per-event problem in a batch, and publishes the valid events", async () => {
    const res = await call("/events/batch", { method: "POST", body: { events: [base, { ...base, partitionkey: "p-1" }] } });
    expect(res.status).toBe(202);
    const { results } = await json<{ results: Array<Record<string, unknown>> }>(res);
    expect(results[0]).toMatchObject({ status: "PUBLISHED" });
    expect(results[1]).toMatchObject({ index: 1, status: 400, code: "VALIDATION_FAILED" });
    expect(results[1]?.errors).toEqual([{ path: "partitionkey", message: 'unknown member "partitionkey"; did you mean "partitionKey"?' }]);
    expect(results[1]?.detail).toContain("events.1");
  });

  it("still accepts every documented member", async () => {
    const res = await call("/events", {
      method: "POST",
      body: {
        ...base,
        id: "evt-input-all-members",
        timestamp: "2024-07-15T14:32:22Z",
        source: "order-service",
        metadata: { correlationId: "c-1", causationId: "c-0", version: "1.0" },
        routingKey: "order.eu",
        partitionKey: "order-1",
        cacheInvalidation: { keys: ["order:order-1"] },
      },
    });
    expect(res.status).toBe(202);
  });
});

describe("data and type messages", () => {
  async function messageFor(body: Record<string, unknown>, path: string): Promise<string> {
    const p = (await expectProblem(await call("/events", { method: "POST", body }), 400, "VALIDATION_FAILED")) as unknown as Problem;
    const e = p.errors?.find((x) => x.path === path);
    expect(e, JSON.stringify(p)).toBeDefined();
    expect(p.detail).not.toMatch(/expected record|received undefined/);
    return e?.message ?? "";
  }

  it("a missing data says it is required and must be a JSON object", async () => {
    const m = await messageFor({ type: "order.created" }, "data");
    expect(m).toContain("is required");
    expect(m).toContain("JSON object");
  });

  it("a data that is no object says so and what it is", async () => {
    expect(await messageFor({ type: "order.created", data: "x" }, "data")).toBe("must be a JSON object, not a string");
    expect(await messageFor({ type: "order.created", data: [1, 2] }, "data")).toBe("must be a JSON object, not an array");
    expect(await messageFor({ type: "order.created", data: null }, "data")).toBe("must be a JSON object, not null");
    expect(await messageFor({ type: "order.created", data: 5 }, "data")).toBe("must be a JSON object, not a number");
  });

  it("a missing type says it is required", async () => {
    expect(await messageFor({ data: {} }, "type")).toContain("is required");
  });

  it("applies to each event of a batch", async () => {
    const res = await call("/events/batch", { method: "POST", body: { events: [{ type: "order.created" }] } });
    const { results } = await json<{ results: Array<{ errors?: Array<{ path: string; message: string }> }> }>(res);
    expect(results[0]?.errors?.[0]?.path).toBe("data");
    expect(results[0]?.errors?.[0]?.message).toContain("is required");
  });
});

describe("a target URL without a scheme", () => {
  it("is told the scheme is missing (not 'use https') on webhooks, subscriptions and workers", async () => {
    const { apiKey } = await newTenant("scheme");
    const attempts: Array<[string, Record<string, unknown>]> = [
      ["/webhooks", { url: "localhost:9000/x", events: ["order.*"] }],
      ["/subscriptions", { name: "no-scheme", url: "localhost:9000/x" }],
      ["/workers", { name: "no-scheme", url: "localhost:9000/x", taskTypes: ["email.*"] }],
    ];
    for (const [path, body] of attempts) {
      const p = await expectProblem(await call(path, { method: "POST", key: apiKey, body }), 400, "TARGET_REFUSED");
      const text = JSON.stringify(p);
      expect(text, path).toContain("no scheme");
      expect(text, path).toContain("http://localhost:9000/x");
      expect(text, path).not.toContain("use https");
    }
  });
});

describe("empty bodies where one is required", () => {
  it("POST /events and /events/batch with no body are 400 problems, never a 500", async () => {
    const { apiKey } = await newTenant();
    for (const path of ["/events", "/events/batch"]) {
      const res = await call(path, { method: "POST", key: apiKey });
      expect(res.status, path).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
  });
});
