/** GET /console and its assets: public, same-origin only (strict CSP), no data, and not in the OpenAPI document. */
import { describe, expect, it } from "vitest";
import { call, json } from "../helpers/api.js";

const ORIGIN = "http://localhost";

describe("GET /console", () => {
  it("is a public HTML page with a strict same-origin CSP and no inline script", async () => {
    const res = await call("/console", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy") ?? "";
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("set-cookie")).toBeNull();
    const html = await res.text();
    expect(html).not.toMatch(/<script\b(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\sstyle=/i);
    const urls = [...html.matchAll(/\b(?:src|href)="([^"#]+)"/g)].map((m) => m[1] ?? "");
    expect(urls).toEqual(expect.arrayContaining(["/console/assets/console.js", "/console/assets/console.css"]));
    for (const u of urls) expect(new URL(u, `${ORIGIN}/console`).origin).toBe(ORIGIN);
    // The navigation the issue names, as links.
    for (const name of ["Overview", "Events", "Webhooks", "Deliveries", "Tasks", "Schemas", "Cache"])
      expect(html).toContain(`>${name}</a>`);
  });

  it("serves its script and stylesheet, which load nothing from another origin", async () => {
    const js = await call("/console/assets/console.js", { key: null });
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("text/javascript");
    const code = await js.text();
    expect(code).toContain("sessionStorage");
    expect(code).toContain("/stream-tokens");
    expect(code).not.toMatch(/https?:\/\/(?!example\.com)/); // no absolute URL but the form's placeholder
    expect(code).not.toContain("innerHTML");
    expect(code).not.toContain("document.cookie");
    const css = await call("/console/assets/console.css", { key: null });
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toContain("text/css");
    const text = await css.text();
    expect(text).not.toMatch(/url\(|@import/);
  });

  it("is not part of the OpenAPI document", async () => {
    const doc = await json<{ paths: Record<string, unknown> }>(await call("/openapi.json", { key: null }));
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/console"))).toEqual([]);
  });
});
