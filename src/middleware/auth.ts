/**
 * Authentication. Tenant routes take `Authorization: Bearer <api key>`; the key names its tenant
 * (domain/keys.ts), so it is checked by that tenant's Durable Object alone, and the result is
 * cached in the isolate for KEY_CACHE_MS — a revoked key stops working within that time. The
 * dev credentials work only in development and only for requests to localhost / 127.0.0.1.
 */

import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { DEV, KEY_CACHE_MS, settings } from "../config.js";
import type { AppEnv, Principal } from "../context.js";
import { tenantOfKey } from "../domain/keys.js";
import { AppError } from "../errors.js";
import { verifyKey } from "../services/tenants.js";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const cache = new Map<string, { principal: Principal; until: number }>();
const CACHE_MAX = 10_000;

function bearer(c: Context<AppEnv>): string {
  const header = c.req.header("authorization");
  if (!header) {
    throw new AppError("MISSING_API_KEY", "No API key: send 'Authorization: Bearer <api key>'.");
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new AppError("MISSING_API_KEY", "The Authorization header must be 'Bearer <api key>'.");
  }
  return match[1];
}

function devAllowed(c: Context<AppEnv>): boolean {
  return !settings(c.env).production && LOCAL_HOSTS.has(new URL(c.req.url).hostname);
}

function timingSafeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  if (ea.byteLength !== eb.byteLength) return false;
  return crypto.subtle.timingSafeEqual(ea, eb);
}

function isAdminToken(c: Context<AppEnv>, token: string): boolean {
  const secret = c.env.ADMIN_TOKEN;
  if (secret && timingSafeEqual(token, secret)) return true;
  return token === DEV.adminToken && devAllowed(c);
}

export async function resolveKey(c: Context<AppEnv>, key: string): Promise<Principal> {
  if (key === DEV.apiKey) {
    if (devAllowed(c)) return { tenantId: DEV.tenantId, keyId: "dev" };
    throw new AppError("INVALID_API_KEY", "The development key is accepted only in development, on localhost or 127.0.0.1.");
  }
  const tenantId = tenantOfKey(key);
  if (!tenantId) throw new AppError("INVALID_API_KEY", "Unknown API key: it is not an edgebus key.");
  // The isolate cache is keyed by the key itself (memory only, never stored), so a hit costs no
  // hashing; storage only ever sees the SHA-256.
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && hit.until > now) return hit.principal;
  const keyId = await verifyKey(c.env, tenantId, key);
  if (!keyId) {
    cache.delete(key);
    throw new AppError("INVALID_API_KEY", "Unknown API key: it does not exist or was revoked.");
  }
  const principal = { tenantId, keyId };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, { principal, until: now + KEY_CACHE_MS });
  return principal;
}

/** Tenant routes: resolves the key to a tenant; the admin token is not a tenant key. */
export const tenantAuth = createMiddleware<AppEnv>(async (c, next) => {
  const key = bearer(c);
  if (isAdminToken(c, key)) {
    throw new AppError("INVALID_API_KEY", "The admin token is not a tenant API key; use a tenant's key here.");
  }
  c.set("principal", await resolveKey(c, key));
  await next();
});

/** Admin routes (creating tenants): the admin token only. */
export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearer(c);
  if (isAdminToken(c, token)) return next();
  if (token === DEV.apiKey || tenantOfKey(token)) {
    throw new AppError("ADMIN_ONLY", "This route needs the admin token; a tenant API key was sent.");
  }
  throw new AppError("INVALID_API_KEY", "Unknown admin token.");
});
