/**
 * GET /docs: an interactive API reference (Swagger UI) served entirely by this worker, so the
 * page works with no network beyond the worker itself. The UI's JS and CSS come from the pinned
 * `swagger-ui-dist` package, bundled as text (see the `[[rules]]` in wrangler.toml and
 * swagger-ui.d.ts); the page loads only same-origin URLs, which its Content-Security-Policy enforces.
 */
import { Hono } from "hono";
import css from "swagger-ui-dist/swagger-ui.css";
import bundleJs from "swagger-ui-dist/swagger-ui-bundle.js";
import type { AppEnv } from "../context.js";

const ASSETS = "/docs/assets";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgebus API</title>
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
</head>
<body>
<noscript>This page needs JavaScript; the OpenAPI document itself is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script src="${ASSETS}/init.js"></script>
</body>
</html>
`;

// validatorUrl: null — otherwise the UI asks a public validator service about the document.
const INIT_JS = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
`;

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join("; ");

const ASSET_CACHE = "public, max-age=3600";

export const docs = new Hono<AppEnv>();

docs.get("/docs", (c) => {
  c.header("content-security-policy", CSP);
  return c.html(PAGE);
});

function asset(body: string, type: string): Response {
  return new Response(body, { headers: { "content-type": type, "cache-control": ASSET_CACHE } });
}

docs.get(`${ASSETS}/swagger-ui.css`, () => asset(css, "text/css; charset=utf-8"));
docs.get(`${ASSETS}/swagger-ui-bundle.js`, () => asset(bundleJs, "text/javascript; charset=utf-8"));
docs.get(`${ASSETS}/init.js`, () => asset(INIT_JS, "text/javascript; charset=utf-8"));
