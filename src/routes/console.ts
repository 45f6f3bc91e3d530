/**
 * GET /console: the web console, served entirely by this worker (no CDN, no build step). The
 * page and its two assets are public because they hold no data; the script signs in with an API
 * key (kept in sessionStorage, sent as a Bearer header — no cookies, so no CSRF surface) and every
 * call it makes is authenticated like any other client's. A strict Content-Security-Policy keeps
 * the page same-origin (plus ws/wss for the live tail). Not part of the OpenAPI document.
 */
import { Hono } from "hono";
import consoleJs from "../console/console.js";
import { CONSOLE_ASSETS, CONSOLE_CSS, CONSOLE_PAGE } from "../console/page.js";
import type { AppEnv } from "../context.js";

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join("; ");

const ASSET_CACHE = "no-cache";

export const consolePages = new Hono<AppEnv>();

consolePages.get("/console", (c) => {
  c.header("content-security-policy", CONSOLE_CSP);
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "no-referrer");
  c.header("cache-control", ASSET_CACHE);
  return c.html(CONSOLE_PAGE);
});

function asset(body: string, type: string): Response {
  return new Response(body, { headers: { "content-type": type, "cache-control": ASSET_CACHE, "x-content-type-options": "nosniff" } });
}

consolePages.get(`${CONSOLE_ASSETS}/console.js`, () => asset(consoleJs, "text/javascript; charset=utf-8"));
consolePages.get(`${CONSOLE_ASSETS}/console.css`, () => asset(CONSOLE_CSS, "text/css; charset=utf-8"));
