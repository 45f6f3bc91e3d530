/**
 * The two-tier cache: reads try this location's Cache API, then KV (and fill the Cache API on a KV
 * hit); writes and deletes go to both. An entry past its expiry is a miss in either tier, so time
 * to live is exact to the second although KV itself cannot expire anything sooner than 60 s.
 * Failures never throw from here: a failed read is a miss, a refused write is logged and counted
 * (stats.ts) and reported to the caller, which decides whether the request still succeeds.
 */
import { CLIENT_ID } from "../domain/ids.js";
import { CACHE_VALUE_MAX_BYTES, cacheSettings } from "./settings.js";
import { type CacheCounters, noteFailure } from "./stats.js";
import { type CacheEntry, edgeTier, kvTier } from "./tiers.js";

export interface CacheHit extends CacheEntry {
  tier: "edge" | "kv";
}

export interface WriteOutcome {
  expiresAt: number;
  /** False when KV refused the write (only this location's Cache API has the value, if any). */
  replicated: boolean;
}

/** Cache keys: 1–256 of letters, digits and . _ : ~ @ - (URL-safe, and a KV name stays < 512 bytes). */
export function isCacheKey(key: string): boolean {
  return CLIENT_ID.test(key);
}

export function byteLength(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

async function attempt<T>(kind: keyof CacheCounters, op: string, tenantId: string, key: string, run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (error) {
    noteFailure(kind, { op, tenantId, key, error });
    return null;
  }
}

/** Runs a write; true when it went through. */
async function wrote(kind: keyof CacheCounters, op: string, tenantId: string, key: string, run: () => Promise<void>): Promise<boolean> {
  const ran = await attempt(kind, op, tenantId, key, async () => {
    await run();
    return true;
  });
  return ran === true;
}

export async function readCache(env: Env, tenantId: string, key: string): Promise<CacheHit | null> {
  const edge = await attempt("edgeErrors", "get", tenantId, key, () => edgeTier.get(tenantId, key));
  if (edge && edge.expiresAt > Date.now()) return { ...edge, tier: "edge" };
  const kv = await attempt("readErrors", "get", tenantId, key, () => kvTier.get(env, tenantId, key));
  if (!kv || kv.expiresAt <= Date.now()) return null;
  const edgeTtl = cacheSettings(env).edgeTtlSeconds;
  await attempt("edgeErrors", "fill", tenantId, key, () => edgeTier.put(tenantId, key, kv, edgeTtl));
  return { ...kv, tier: "kv" };
}

/**
 * Stores JSON text in both tiers for `ttlSeconds`. Text over CACHE_VALUE_MAX_BYTES is not stored
 * (callers that accept client values check first and answer 413); the key is cleared instead, so
 * an older value cannot outlive the write.
 */
export async function writeCache(
  env: Env,
  tenantId: string,
  key: string,
  text: string,
  ttlSeconds: number,
  version?: number,
): Promise<WriteOutcome> {
  const expiresAt = Date.now() + ttlSeconds * 1000;
  if (byteLength(text) > CACHE_VALUE_MAX_BYTES) return { expiresAt, replicated: await clearCache(env, tenantId, key) };
  const entry: CacheEntry = { text, expiresAt, ...(version !== undefined ? { version } : {}) };
  const edgeTtl = cacheSettings(env).edgeTtlSeconds;
  const [replicated] = await Promise.all([
    wrote("refusedWrites", "put", tenantId, key, () => kvTier.put(env, tenantId, key, entry)),
    wrote("edgeErrors", "put", tenantId, key, () => edgeTier.put(tenantId, key, entry, edgeTtl)),
  ]);
  return { expiresAt, replicated };
}

/** Clears a key in both tiers; false when KV refused the delete (other locations keep the value until it expires). */
export async function clearCache(env: Env, tenantId: string, key: string): Promise<boolean> {
  const [replicated] = await Promise.all([
    wrote("refusedWrites", "delete", tenantId, key, () => kvTier.delete(env, tenantId, key)),
    wrote("edgeErrors", "delete", tenantId, key, () => edgeTier.delete(tenantId, key)),
  ]);
  return replicated;
}

/**
 * Event-based invalidation (`cacheInvalidation.keys` of POST /events): clears each named key of the
 * tenant in both tiers. Returns the keys invalidated, in order and without repeats; a name that is
 * not a valid cache key (nothing can be stored under it) and a key whose KV delete was refused
 * (logged and counted) are left out.
 */
export async function invalidateKeys(env: Env, tenantId: string, keys: string[]): Promise<string[]> {
  const unique = [...new Set(keys)].filter(isCacheKey);
  const cleared = await Promise.all(unique.map((key) => clearCache(env, tenantId, key)));
  return unique.filter((_, i) => cleared[i]);
}
