/** GET /docs and its assets: the API reference is served by the worker itself (no CDN), and the OpenAPI document lints. */
import { describe, expect, it } from "vitest";
import { call, json } from "../helpers/api.js";

const ORIGIN = "http://localhost";

/** Every URL the page loads by itself: script src, stylesheet/preload href, img src. */
function loadedUrls(html: string): string[] {
  const urls: string[] = [];
  for (const m of html.matchAll(/<(script|link|img|iframe)\b[^>]*>/gi)) {
    const tag = m[0];
    const attr = /\b(?:src|href)\s*=\s*["']([^"']*)["']/i.exec(tag);
    if (attr?.[1] !== undefined) urls.push(attr[1]);
  }
  for (const m of html.matchAll(/url\(\s*["']?([^"')]+)/gi)) urls.push(m[1] ?? "");
  for (const m of html.matchAll(/@import\s+["']([^"']+)/gi)) urls.push(m[1] ?? "");
  return urls;
}

describe("GET /docs", () => {
  it("is an HTML page whose scripts and styles are all same-origin", async () => {
    const res = await call("/docs", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    const html = await res.text();
    const urls = loadedUrls(html);
    expect(urls.length).toBeGreaterThanOrEqual(2);
    expect(html).toMatch(/<script\b[^>]*\bsrc=/i);
    expect(html).toMatch(/<link\b[^>]*rel="stylesheet"/i);
    expect(html).not.toMatch(/<script\b(?![^>]*\bsrc=)[^>]*>/i); // no inline scripts: script-src 'self' holds
    for (const u of urls) {
      expect(u, `${u} must be a relative URL`).not.toMatch(/^([a-z][a-z0-9+.-]*:|\/\/)/i);
      expect(new URL(u, `${ORIGIN}/docs`).origin).toBe(ORIGIN);
    }
  });

  it("serves every asset the page names, with the right content type", async () => {
    const html = await (await call("/docs", { key: null })).text();
    const urls = loadedUrls(html);
    const types: Record<string, string> = { js: "text/javascript", css: "text/css" };
    for (const u of urls) {
      const path = new URL(u, `${ORIGIN}/docs`).pathname;
      const res = await call(path, { key: null });
      const body = await res.text();
      expect(res.status, path).toBe(200);
      const ext = path.split(".").at(-1) ?? "";
      expect(res.headers.get("content-type"), path).toContain(types[ext]);
      expect(body.length, path).toBeGreaterThan(0);
    }
    const bundle = await (await call("/docs/assets/swagger-ui-bundle.js", { key: null })).text();
    expect(bundle.length).toBeGreaterThan(100_000); // the real bundle, not a stub
    expect(bundle).toContain("SwaggerUIBundle");
    const init = await (await call("/docs/assets/init.js", { key: null })).text();
    expect(init).toContain('"/openapi.json"');
    expect(init).toContain("validatorUrl: null"); // no call to a public validator service
  });

  it("answers /docs/ like /docs", async () => {
    const res = await call("/docs/", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
  });
});

interface Operation {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
}

describe("GET /openapi.json", () => {
  it("gives every operation a unique camelCase operationId", async () => {
    const doc = await json<{ paths: Record<string, Record<string, Operation>> }>(await call("/openapi.json", { key: null }));
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([m, op]) => ({ at: `${m} ${path}`, op })),
    );
    expect(ops.length).toBeGreaterThan(30);
    const missing = ops.filter(({ op }) => !op.operationId).map(({ at }) => at);
    expect(missing).toEqual([]);
    const ids = ops.map(({ op }) => op.operationId as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9]*$/);
    expect(ids).toEqual(expect.arrayContaining(["publishEvent", "publishEventBatch", "listWebhookDeliveries", "createTask", "getHealth"]));
  });

  it("declares the bearer scheme, a server, and security on every authenticated operation", async () => {
    const doc = await json<{
      servers?: Array<{ url: string }>;
      components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
      paths: Record<string, Record<string, Operation>>;
    }>(await call("/openapi.json", { key: null }));
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.components?.securitySchemes?.Bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const open = new Set(["get /health"]);
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const at = `${method} ${path}`;
        if (open.has(at)) {
          expect(op.security ?? [], at).toEqual([]);
          continue;
        }
        // Tenant operations name the scope they need (test/integration/access.test.ts); admin ones none.
        const scope = (op as { "x-scope"?: string })["x-scope"];
        // The live tail also opens with a single-use token (browsers cannot send headers on a WebSocket).
        const alternatives = at === "get /partitions/{key}/stream" ? [{ StreamToken: [] }] : [];
        expect(op.security, at).toEqual([{ Bearer: scope ? [scope] : [] }, ...alternatives]);
        // ... and the route really refuses an anonymous call.
        const res = await call(path.replace(/\{[^}]+\}/g, "x1"), { method: method.toUpperCase(), key: null });
        expect(res.status, at).toBe(401);
      }
    }
  });
});
