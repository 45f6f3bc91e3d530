/**
 * Access and quotas through the worker: key scopes on every operation (read from the OpenAPI
 * document, so a new route cannot escape the table), creating keys with scopes, revocation in the
 * revoking isolate, the per-tenant publish quota, and the fixed robustness defects (deep JSON,
 * recovery past 1,000 deliveries).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SCOPES, type Scope } from "../../src/domain/scopes.js";
import { ADMIN, call, expectProblem, json, newTenant } from "../helpers/api.js";
import { bucket, script, sleep } from "../helpers/hooks.js";

type Operation = { operationId: string; security?: Array<Record<string, string[]>>; "x-scope"?: string };
type Doc = { paths: Record<string, Record<string, Operation>> };

/** Operations that need no key, and those that need the admin token rather than a tenant key. */
const PUBLIC = new Set(["getHealth"]);
const ADMIN_OPS = new Set(["createTenant", "updateTenantLimits"]);

async function operations(): Promise<Array<{ method: string; path: string; op: Operation }>> {
  const doc = await json<Doc>(await call("/openapi.json", { key: null }));
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method, path, op })));
}

async function createKey(apiKey: string, body: Record<string, unknown>): Promise<{ apiKey: string; keyId: string; scopes: Scope[] }> {
  const res = await call("/tenants/keys", { method: "POST", key: apiKey, body });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`);
  return json(res);
}

const url = (path: string) => path.replace(/\{[^}]+\}/g, "x1");

describe("scopes", () => {
  it("every operation declares exactly one scope, in its security requirement and as x-scope", async () => {
    const ops = await operations();
    expect(ops.length).toBeGreaterThan(30);
    for (const { method, path, op } of ops) {
      if (PUBLIC.has(op.operationId) || ADMIN_OPS.has(op.operationId)) continue;
      const scope = op["x-scope"];
      expect(SCOPES, `${method} ${path} has no known x-scope`).toContain(scope);
      // The live tail also opens with a single-use stream token (browsers cannot send headers on a WebSocket).
      const alternatives = op.operationId === "streamPartition" ? [{ StreamToken: [] }] : [];
      expect(op.security, `${method} ${path}`).toEqual([{ Bearer: [scope] }, ...alternatives]);
    }
  });

  it("each operation refuses a key without its scope (403 naming it) and accepts one with it", async () => {
    const { apiKey } = await newTenant("scopes");
    const only = new Map<Scope, string>();
    const allBut = new Map<Scope, string>();
    for (const scope of SCOPES) {
      only.set(scope, (await createKey(apiKey, { name: `only-${scope}`, scopes: [scope] })).apiKey);
      allBut.set(scope, (await createKey(apiKey, { name: `but-${scope}`, scopes: SCOPES.filter((s) => s !== scope) })).apiKey);
    }
    const ops = (await operations()).filter(({ op }) => !PUBLIC.has(op.operationId) && !ADMIN_OPS.has(op.operationId));
    for (const { method, path, op } of ops) {
      const scope = op["x-scope"] as Scope;
      const refused = await call(url(path), { method: method.toUpperCase(), key: allBut.get(scope) as string });
      const problem = await expectProblem(refused, 403, "INSUFFICIENT_SCOPE");
      expect(problem.detail, `${method} ${path}`).toContain(`'${scope}'`);
      const accepted = await call(url(path), { method: method.toUpperCase(), key: only.get(scope) as string });
      expect([401, 403], `${method} ${path} with only ${scope}: ${accepted.status}`).not.toContain(accepted.status);
      await accepted.body?.cancel();
    }
  }, 120_000);

  it("admin operations refuse every tenant key", async () => {
    const { apiKey } = await newTenant("admin-ops");
    await expectProblem(await call("/tenants", { method: "POST", key: apiKey, body: { name: "x" } }), 403, "ADMIN_ONLY");
    await expectProblem(
      await call("/tenants/x1", { method: "PATCH", key: apiKey, body: { limits: { publishPerSecond: 5 } } }),
      403,
      "ADMIN_ONLY",
    );
  });

  it("creates keys with scopes: default all, [] and unknown are 400, a key grants only what it holds", async () => {
    const { apiKey } = await newTenant("keys");
    const listed = await json<{ keys: Array<{ scopes: string[] }> }>(await call("/tenants/keys", { key: apiKey }));
    // The first key is stored without a scope list, as keys made before scopes existed: it has all of them.
    expect(listed.keys[0]?.scopes).toEqual([...SCOPES]);
    expect((await createKey(apiKey, { name: "full" })).scopes).toEqual([...SCOPES]);

    await expectProblem(await call("/tenants/keys", { method: "POST", key: apiKey, body: { scopes: [] } }), 400, "VALIDATION_FAILED");
    await expectProblem(
      await call("/tenants/keys", { method: "POST", key: apiKey, body: { scopes: ["events:publish", "events:delete"] } }),
      400,
      "VALIDATION_FAILED",
    );

    const narrow = await createKey(apiKey, { name: "narrow", scopes: ["keys:admin", "events:publish", "events:publish"] });
    expect(narrow.scopes).toEqual(["events:publish", "keys:admin"]);
    const refused = await expectProblem(
      await call("/tenants/keys", { method: "POST", key: narrow.apiKey, body: { scopes: ["events:publish", "events:read"] } }),
      403,
      "INSUFFICIENT_SCOPE",
    );
    expect(refused.detail).toContain("'events:read'");
    // Without scopes, a narrowed key passes on exactly what it holds.
    expect((await createKey(narrow.apiKey, { name: "child" })).scopes).toEqual(["events:publish", "keys:admin"]);

    const publishOnly = await createKey(apiKey, { name: "publisher", scopes: ["events:publish"] });
    expect((await call("/events", { method: "POST", key: publishOnly.apiKey, body: { type: "a.b", data: {} } })).status).toBe(202);
    await expectProblem(await call("/webhooks", { key: publishOnly.apiKey }), 403, "INSUFFICIENT_SCOPE");
    await expectProblem(await call("/tenants/keys", { key: publishOnly.apiKey }), 403, "INSUFFICIENT_SCOPE");

    const all = await json<{ keys: Array<{ name: string; scopes: string[] }> }>(await call("/tenants/keys", { key: apiKey }));
    expect(all.keys.find((k) => k.name === "publisher")?.scopes).toEqual(["events:publish"]);
  });

  it("PATCH /webhooks with recover: true also needs deliveries:write", async () => {
    const { apiKey } = await newTenant("recover-scope");
    const writer = await createKey(apiKey, { scopes: ["subscriptions:write", "subscriptions:read"] });
    const res = await call("/webhooks/sub_x", { method: "PATCH", key: writer.apiKey, body: { status: "ACTIVE", recover: true } });
    expect((await expectProblem(res, 403, "INSUFFICIENT_SCOPE")).detail).toContain("'deliveries:write'");
  });
});

describe("revocation", () => {
  it("a revoked key stops working at once in the isolate that revoked it", async () => {
    const { apiKey } = await newTenant("revoke");
    const other = await createKey(apiKey, { name: "to-revoke" });
    // Used first, so the isolate has it cached.
    expect((await call("/tenants/keys", { key: other.apiKey })).status).toBe(200);
    expect((await call(`/tenants/keys/${other.keyId}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    await expectProblem(await call("/tenants/keys", { key: other.apiKey }), 401, "INVALID_API_KEY");
  });
});

async function setLimit(tenantId: string, publishPerSecond: number | null) {
  return call(`/tenants/${tenantId}`, { method: "PATCH", key: ADMIN, body: { limits: { publishPerSecond } } });
}

const event = (n: number, id?: string) => ({ type: "quota.test", data: { n }, ...(id ? { id } : {}) });

describe("publish quota", () => {
  it("the admin sets it; validation and unknown tenants are refused", async () => {
    const { tenantId } = await newTenant("limits");
    const res = await setLimit(tenantId, 7);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ tenantId, limits: { publishPerSecond: 7, default: false } });
    expect(await json(await setLimit(tenantId, null))).toEqual({ tenantId, limits: { publishPerSecond: 1000, default: true } });
    await expectProblem(await setLimit("ten_doesnotexist0000000", 5), 404, "NOT_FOUND");
    await expectProblem(await setLimit(tenantId, 0), 400, "VALIDATION_FAILED");
    await expectProblem(
      await call(`/tenants/${tenantId}`, { method: "PATCH", key: ADMIN, body: { limits: { perSecond: 3 } } }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("past the quota: 429 RATE_LIMITED with Retry-After, nothing stored; a batch is refused whole", async () => {
    const { tenantId, apiKey } = await newTenant("quota");
    expect((await setLimit(tenantId, 2)).status).toBe(200);
    const publish = (body: unknown) => call("/events", { method: "POST", key: apiKey, body });
    const batch = (events: unknown[]) => call("/events/batch", { method: "POST", key: apiKey, body: { events } });

    expect((await publish(event(1))).status).toBe(202);
    expect((await publish(event(2))).status).toBe(202);
    const refused = await publish(event(3, "evt-refused-1"));
    await expectProblem(refused, 429, "RATE_LIMITED");
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    await expectProblem(await call("/events/evt-refused-1", { key: apiKey }), 404, "NOT_FOUND");

    // A batch that the bucket cannot cover stores none of its events.
    await sleep(1100);
    expect((await publish(event(4))).status).toBe(202);
    const whole = await batch([event(5, "evt-batch-a"), event(6, "evt-batch-b")]);
    await expectProblem(whole, 429, "RATE_LIMITED");
    for (const id of ["evt-batch-a", "evt-batch-b"]) await expectProblem(await call(`/events/${id}`, { key: apiKey }), 404, "NOT_FOUND");

    // Larger than one second's worth: never coverable, and said so.
    await sleep(1100);
    const tooBig = await expectProblem(await batch([event(7), event(8), event(9)]), 429, "RATE_LIMITED");
    expect(tooBig.detail).toMatch(/fewer events/);
    const ok = await batch([event(10), event(11)]);
    expect(ok.status).toBe(202);

    // A changed limit is in force at once (from the change on, the bucket fills at the new rate).
    expect((await setLimit(tenantId, 1000)).status).toBe(200);
    await sleep(100);
    expect((await batch(Array.from({ length: 20 }, (_, i) => event(100 + i)))).status).toBe(202);
  });
});

describe("hostile input", () => {
  const deep = (levels: number) => `{"type":"a.b","data":{"x":${"[".repeat(levels)}${"]".repeat(levels)}}}`;
  const raw = (path: string, body: string, method = "POST") =>
    call(path, { method, raw: body, headers: { "content-type": "application/json" } });

  it("JSON nested 5,000 levels deep is a 400 naming the limit, for events, batches, tasks and cache values", async () => {
    const one = await expectProblem(await raw("/events", deep(5000)), 400, "VALIDATION_FAILED");
    expect(one.detail).toContain("64 levels");
    // 62 levels inside data.x plus data itself and x's array = within 64; 64 inside is not.
    expect((await raw("/events", deep(62))).status).toBe(202);
    await expectProblem(await raw("/events", deep(64)), 400, "VALIDATION_FAILED");

    const inner = `{"type":"a.b","data":{"x":${"[".repeat(5000)}${"]".repeat(5000)}}}`;
    const batch = await raw("/events/batch", `{"events":[${inner},{"type":"a.b","data":{}}]}`);
    expect(batch.status).toBe(202);
    const { results } = await json<{ results: Array<Record<string, unknown>> }>(batch);
    expect(results[0]).toMatchObject({ index: 0, code: "VALIDATION_FAILED", status: 400 });
    expect(results[1]).toMatchObject({ status: "PUBLISHED" });

    const task = `{"type":"a.b","data":{"x":${"[".repeat(5000)}${"]".repeat(5000)}}}`;
    await expectProblem(await raw("/tasks", task), 400, "VALIDATION_FAILED");
    await expectProblem(await raw("/cache/deep", `${"[".repeat(5000)}${"]".repeat(5000)}`, "PUT"), 400, "VALIDATION_FAILED");
  });

  it("a number beyond JSON's range (it would be stored as null) is a 400 naming where, for events, batches, tasks and cache values", async () => {
    const huge = '{"type":"a.b","partitionKey":"huge","data":{"order":{"total":1e400}}}';
    // Declared length or not, through the fast path's hand-over or the app alone: the same problem.
    for (const declared of [true, false]) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (declared) headers["content-length"] = String(huge.length);
      const problem = await expectProblem(await call("/events", { method: "POST", raw: huge, headers }), 400, "VALIDATION_FAILED");
      expect(problem.detail).toContain("order.total");
      expect(problem.errors).toContainEqual(expect.objectContaining({ path: "data" }));
    }
    expect(await json(await call("/partitions/huge/events"))).toMatchObject({ events: [] });

    const batch = await raw("/events/batch", `{"events":[${huge},{"type":"a.b","data":{"n":1e308}}]}`);
    const { results } = await json<{ results: Array<Record<string, unknown>> }>(batch);
    expect(results[0]).toMatchObject({ index: 0, code: "VALIDATION_FAILED" });
    expect(results[1]).toMatchObject({ status: "PUBLISHED" });
    await expectProblem(await raw("/tasks", '{"type":"a.b","data":{"n":-1e999}}'), 400, "VALIDATION_FAILED");
    await expectProblem(await raw("/cache/huge", "[1, 2e400]", "PUT"), 400, "VALIDATION_FAILED");
  });
});

describe("recover", () => {
  it("sends again every failed delivery since `since`, past 1,000, and reports the true count", async () => {
    const { tenantId, apiKey } = await newTenant("recover");
    expect((await setLimit(tenantId, 100_000)).status).toBe(200);
    // The receiver answers 500 to everything: every attempt fails at once.
    const failing = bucket("recover");
    await script(failing.name, { responses: [{ status: 500 }] });
    const hook = await call("/webhooks", {
      method: "POST",
      key: apiKey,
      body: { url: failing.url, events: ["bulk.*"], retryPolicy: { maxAttempts: 1, backoffMs: 1000, timeoutMs: 1000 } },
    });
    const { webhookId } = await json<{ webhookId: string }>(hook);
    const since = new Date(Date.now() - 1000).toISOString();
    const total = 1_200;
    for (let b = 0; b < total / 100; b++) {
      const events = Array.from({ length: 100 }, (_, i) => ({ type: "bulk.made", data: { i: b * 100 + i }, partitionKey: `p-${i % 8}` }));
      expect((await call("/events/batch", { method: "POST", key: apiKey, body: { events } })).status).toBe(202);
    }
    const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(`${tenantId}/${webhookId}`));
    const count = (status: string) =>
      runInDurableObject(
        stub,
        (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM log WHERE status = ?", status).one().n,
      );
    const until = Date.now() + 100_000;
    while ((await count("FAILED")) < total) {
      if (Date.now() > until) throw new Error(`only ${await count("FAILED")} of ${total} deliveries failed in time`);
      await sleep(500);
    }
    const res = await call(`/webhooks/${webhookId}/recover`, { method: "POST", key: apiKey, body: { since } });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ recovered: total });
    // The test ends when the recovered deliveries have failed again (nothing left in flight).
    await sleep(500);
    while ((await count("FAILED")) < total) {
      if (Date.now() > until + 60_000) throw new Error("the recovered deliveries did not settle in time");
      await sleep(500);
    }
  }, 210_000);
});
