/**
 * Calls the worker through its own fetch handler (the same path a real request takes), on
 * http://localhost so that the development credentials apply.
 */
import { exports } from "cloudflare:workers";

export const DEV_KEY = "dev-api-key";
export const ADMIN = "dev-admin-token";
const BASE = "http://localhost";

export interface CallOptions {
  method?: string;
  key?: string | null;
  body?: unknown;
  raw?: BodyInit;
  headers?: Record<string, string>;
  base?: string;
}

export async function call(path: string, opts: CallOptions = {}): Promise<Response> {
  const headers = new Headers(opts.headers);
  const key = opts.key === undefined ? DEV_KEY : opts.key;
  if (key) headers.set("authorization", `Bearer ${key}`);
  let body: BodyInit | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    // As an HTTP client sends it, with its length (which lets a plain POST /events take the
    // worker's fast path). `raw` bodies are sent as given.
    if (!headers.has("content-length")) headers.set("content-length", String(new TextEncoder().encode(body).byteLength));
  }
  return exports.default.fetch(new Request(`${opts.base ?? BASE}${path}`, { method: opts.method ?? "GET", headers, body }));
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Creates a fresh tenant through the admin route and returns its id and key. */
export async function newTenant(name = "t"): Promise<{ tenantId: string; apiKey: string }> {
  const res = await call("/tenants", { method: "POST", key: ADMIN, body: { name } });
  if (res.status !== 201) throw new Error(`tenant creation failed: ${res.status} ${await res.text()}`);
  return json(res);
}

export async function expectProblem(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status} ${code}, got ${res.status}: ${text}`);
  const ct = res.headers.get("content-type") ?? "";
  if (!ct.startsWith("application/problem+json")) throw new Error(`expected problem+json, got ${ct}`);
  const body = JSON.parse(text) as Record<string, unknown>;
  if (body.code !== code) throw new Error(`expected code ${code}, got ${String(body.code)}: ${text}`);
  if (typeof body.requestId !== "string" || body.requestId !== res.headers.get("x-request-id")) {
    throw new Error("problem body must carry the response's request id");
  }
  return body;
}
