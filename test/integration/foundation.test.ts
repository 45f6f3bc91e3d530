import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { ADMIN, call, DEV_KEY, expectProblem, json, newTenant } from "../helpers/api.js";

describe("system routes", () => {
  it("GET /health answers without auth and carries a request id", async () => {
    const res = await call("/health", { key: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok" });
    expect(res.headers.get("x-request-id")).toMatch(/^req_[a-z0-9]{20}$/);
  });

  it("honours a well-formed incoming X-Request-Id and replaces a malformed one", async () => {
    const ok = await call("/health", { key: null, headers: { "x-request-id": "trace-123.abc" } });
    expect(ok.headers.get("x-request-id")).toBe("trace-123.abc");
    const bad = await call("/health", { key: null, headers: { "x-request-id": "bad id with spaces" } });
    expect(bad.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("GET /openapi.json documents every route", async () => {
    const res = await call("/openapi.json", { key: null });
    expect(res.status).toBe(200);
    const doc = await json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(res);
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/health", "/tenants", "/tenants/keys", "/tenants/keys/{keyId}"]));
  });

  it("documents every route the app serves", async () => {
    const { buildApp } = await import("../../src/app.js");
    const app = buildApp();
    const doc = await json<{ paths: Record<string, Record<string, unknown>> }>(await call("/openapi.json", { key: null }));
    const served = app.routes
      // The pages (the API reference and the console) are not API operations.
      .filter((r) => r.method !== "ALL" && !["/openapi.json", "/docs", "/console"].includes(r.path) && !/^\/(docs|console)\//.test(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(served.length).toBeGreaterThan(30);
    expect(documented).toEqual(expect.arrayContaining([...new Set(served)]));
  });

  it("GET /docs serves an interactive page", async () => {
    const res = await call("/docs", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("/openapi.json");
  });
});

describe("error model", () => {
  it("unknown route → 404 ROUTE_NOT_FOUND", async () => {
    await expectProblem(await call("/nope"), 404, "ROUTE_NOT_FOUND");
  });

  it("wrong method → 405 with Allow", async () => {
    const res = await call("/health", { method: "DELETE", key: null });
    expect(res.headers.get("allow")).toBe("GET");
    await expectProblem(res, 405, "METHOD_NOT_ALLOWED");
  });

  it("malformed JSON → 400 BAD_JSON", async () => {
    const res = await call("/tenants/keys", { method: "POST", raw: "{not json", headers: { "content-type": "application/json" } });
    await expectProblem(res, 400, "BAD_JSON");
  });

  it("wrong content type → 415", async () => {
    const res = await call("/tenants/keys", {
      method: "POST",
      raw: "name=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    await expectProblem(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("body over 256 KiB → 413 before parsing, with or without Content-Length", async () => {
    const big = "x".repeat(256 * 1024 + 1);
    await expectProblem(
      await call("/tenants/keys", { method: "POST", raw: big, headers: { "content-type": "application/json" } }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    // The body is written by this test into a native pipe, and the writes are awaited here whether
    // or not the worker read them. (A JavaScript ReadableStream body would be pumped by the runtime
    // instead, and when the worker cancels its read that pump fails as an uncaught exception.)
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    const writing = (async () => {
      for (let i = 0; i < 5; i++) await writer.write(new TextEncoder().encode("y".repeat(64 * 1024)));
      await writer.close();
    })().catch(() => undefined);
    await expectProblem(
      await call("/tenants/keys", { method: "POST", raw: readable, headers: { "content-type": "application/json" } }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    await writing;
  });

  it("validation → 400 VALIDATION_FAILED with errors[{path, message}]", async () => {
    const res = await call("/tenants", { method: "POST", key: ADMIN, body: { name: 42 } });
    const body = await expectProblem(res, 400, "VALIDATION_FAILED");
    expect(body.errors).toEqual([expect.objectContaining({ path: "name", message: expect.any(String) })]);
  });
});

describe("unexpected exceptions", () => {
  it("answer 500 INTERNAL with nothing internal, and log the request id", async () => {
    const { buildApp } = await import("../../src/app.js");
    const app = buildApp();
    app.get("/boom", () => {
      throw new Error("database password is hunter2");
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await app.request("http://localhost/boom", { headers: { "x-request-id": "trace-500" } }, env);
    const body = await expectProblem(res, 500, "INTERNAL");
    expect(JSON.stringify(body)).not.toContain("hunter2");
    expect(logged).toHaveBeenCalledWith(expect.stringContaining("trace-500"));
    logged.mockRestore();
  });
});

describe("auth", () => {
  it("missing key → 401 MISSING_API_KEY", async () => {
    const body = await expectProblem(await call("/tenants/keys", { key: null }), 401, "MISSING_API_KEY");
    expect(body.detail).toContain("Authorization");
  });

  it("unknown key → 401 INVALID_API_KEY, for foreign and for well-formed keys", async () => {
    await expectProblem(await call("/tenants/keys", { key: "nope" }), 401, "INVALID_API_KEY");
    const fake = `ebk_ten_aaaaaaaaaaaaaaaaaaaa_${"0".repeat(64)}`;
    await expectProblem(await call("/tenants/keys", { key: fake }), 401, "INVALID_API_KEY");
    // A key naming a tenant that does not exist creates no storage for it.
    const tables = await runInDurableObject(env.TENANT.get(env.TENANT.idFromName("ten_aaaaaaaaaaaaaaaaaaaa")), (_i, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("admin-only route with a tenant key → 403 ADMIN_ONLY", async () => {
    await expectProblem(await call("/tenants", { method: "POST", key: DEV_KEY, body: { name: "x" } }), 403, "ADMIN_ONLY");
  });

  it("dev credentials are refused on a non-local host", async () => {
    await expectProblem(await call("/tenants/keys", { base: "https://edgebus.example.com" }), 401, "INVALID_API_KEY");
    await expectProblem(
      await call("/tenants", { method: "POST", key: ADMIN, body: { name: "x" }, base: "https://edgebus.example.com" }),
      401,
      "INVALID_API_KEY",
    );
  });

  it("a new tenant's key works, is stored hashed, and can manage and revoke keys", async () => {
    const { tenantId, apiKey } = await newTenant("acme");
    expect(apiKey.startsWith(`ebk_${tenantId}_`)).toBe(true);
    const list = await json<{ keys: Array<{ keyId: string; hint: string }> }>(await call("/tenants/keys", { key: apiKey }));
    expect(list.keys).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(apiKey);

    const created = await call("/tenants/keys", { method: "POST", key: apiKey, body: { name: "ci" } });
    expect(created.status).toBe(201);
    const second = await json<{ keyId: string; apiKey: string }>(created);
    expect((await call("/tenants/keys", { key: second.apiKey })).status).toBe(200);

    // Revoking a key never used in this isolate takes effect at once (nothing cached for it).
    const other = await json<{ keyId: string; apiKey: string }>(await call("/tenants/keys", { method: "POST", key: apiKey, body: {} }));
    expect((await call(`/tenants/keys/${other.keyId}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    await expectProblem(await call("/tenants/keys", { key: other.apiKey }), 401, "INVALID_API_KEY");
    await expectProblem(await call(`/tenants/keys/${other.keyId}`, { method: "DELETE", key: apiKey }), 404, "NOT_FOUND");
  });

  it("a tenant cannot revoke another tenant's key", async () => {
    const a = await newTenant("a");
    const b = await newTenant("b");
    const keysOfB = await json<{ keys: Array<{ keyId: string }> }>(await call("/tenants/keys", { key: b.apiKey }));
    const keyId = keysOfB.keys[0]?.keyId ?? "";
    await expectProblem(await call(`/tenants/keys/${keyId}`, { method: "DELETE", key: a.apiKey }), 404, "NOT_FOUND");
    expect((await call("/tenants/keys", { key: b.apiKey })).status).toBe(200);
  });
});
