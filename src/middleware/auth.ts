/**
 * Authentication and authorization. Tenant routes take `Authorization: Bearer <api key>`; the key
 * names its tenant (domain/keys.ts), so it is checked by that tenant's Durable Object alone, and
 * the result (tenant, key id, scopes) is cached in the isolate for KEY_CACHE_MS — a revoked key
 * stops working at once in the isolate that revoked it (forgetKey) and within that time in the
 * others. Each tenant route names the scope it needs and is refused here (403
 * INSUFFICIENT_SCOPE) before its body is read. The dev credentials work only in development and
 * only for requests to localhost / 127.0.0.1.
 */

import { createMiddleware } from "hono/factory";
import { DEV, KEY_CACHE_MS, settings } from "../config.js";
import type { AppEnv, Principal } from "../context.js";
import { tenantOfKey } from "../domain/keys.js";
import { SCOPES, type Scope } from "../domain/scopes.js";
import { AppError } from "../errors.js";
import { verifyKey } from "../services/tenants.js";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const cache = new Map<string, { principal: Principal; until: number }>();
const CACHE_MAX = 10_000;

function bearer(header: string | null | undefined): string {
  if (!header) {
    throw new AppError("MISSING_API_KEY", "No API key: send 'Authorization: Bearer <api key>'.");
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new AppError("MISSING_API_KEY", "The Authorization header must be 'Bearer <api key>'.");
  }
  return match[1];
}

function devAllowed(env: Env, url: string): boolean {
  return !settings(env).production && LOCAL_HOSTS.has(new URL(url).hostname);
}

function timingSafeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  if (ea.byteLength !== eb.byteLength) return false;
  return crypto.subtle.timingSafeEqual(ea, eb);
}

function isAdminToken(env: Env, url: string, token: string): boolean {
  const secret = env.ADMIN_TOKEN;
  if (secret && timingSafeEqual(token, secret)) return true;
  return token === DEV.adminToken && devAllowed(env, url);
}

async function resolveKey(env: Env, url: string, key: string): Promise<Principal> {
  if (key === DEV.apiKey) {
    if (devAllowed(env, url)) return { tenantId: DEV.tenantId, keyId: "dev", scopes: SCOPES };
    throw new AppError("INVALID_API_KEY", "The development key is accepted only in development, on localhost or 127.0.0.1.");
  }
  const tenantId = tenantOfKey(key);
  if (!tenantId) throw new AppError("INVALID_API_KEY", "Unknown API key: it is not an edgebus key.");
  // The isolate cache is keyed by the key itself (memory only, never stored), so a hit costs no
  // hashing; storage only ever sees the SHA-256.
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && hit.until > now) return hit.principal;
  const found = await verifyKey(env, tenantId, key);
  if (!found) {
    cache.delete(key);
    throw new AppError("INVALID_API_KEY", "Unknown API key: it does not exist or was revoked.");
  }
  const principal: Principal = { tenantId, keyId: found.keyId, scopes: found.scopes };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, { principal, until: now + KEY_CACHE_MS });
  return principal;
}

/** The revoking isolate forgets a revoked key at once (the others within KEY_CACHE_MS). */
export function forgetKey(tenantId: string, keyId: string): void {
  for (const [key, entry] of cache) {
    if (entry.principal.tenantId === tenantId && entry.principal.keyId === keyId) cache.delete(key);
  }
}

/** Refuses (403 INSUFFICIENT_SCOPE, naming the scope) a key that lacks `scope`. */
export function requireScope(principal: Principal, scope: Scope, what: string): void {
  if (!principal.scopes.includes(scope)) {
    throw new AppError("INSUFFICIENT_SCOPE", `This API key lacks the scope '${scope}', which ${what} needs.`);
  }
}

/**
 * A tenant request's principal: resolves the `Authorization` header's key to a tenant and refuses
 * a key without `scope` (needed by `route`, named in the error); the admin token is not a tenant
 * key. `url` is the request's, for the development key's localhost check.
 */
export async function authenticate(env: Env, url: string, authorization: string | null | undefined, scope: Scope, route: string) {
  const key = bearer(authorization);
  if (isAdminToken(env, url, key)) {
    throw new AppError("INVALID_API_KEY", "The admin token is not a tenant API key; use a tenant's key here.");
  }
  const principal = await resolveKey(env, url, key);
  requireScope(principal, scope, route);
  return principal;
}

/** Tenant routes: `authenticate` with the route's scope, the principal set on the context. */
export function tenantAuth(scope: Scope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    c.set("principal", await authenticate(c.env, c.req.url, c.req.header("authorization"), scope, `${c.req.method} ${c.req.routePath}`));
    await next();
  });
}

/** Admin routes (creating tenants): the admin token only. */
export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearer(c.req.header("authorization"));
  if (isAdminToken(c.env, c.req.url, token)) return next();
  if (token === DEV.apiKey || tenantOfKey(token)) {
    throw new AppError("ADMIN_ONLY", "This route needs the admin token; a tenant API key was sent.");
  }
  throw new AppError("INVALID_API_KEY", "Unknown admin token.");
});
