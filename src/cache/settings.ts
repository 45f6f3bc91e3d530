/**
 * The cache's limits and vars (declared in wrangler.toml; a missing or malformed one falls back):
 * - CACHE_DEFAULT_TTL_SECONDS (default 3600): time to live of a value PUT without max-age and of
 *   order entries written through or filled by GET /orders/:id.
 * - EDGE_CACHE_TTL_SECONDS (default 10): the longest a value stays in one location's Cache API.
 *   Another location's Cache API is not cleared by an invalidation, so this bounds how long it
 *   can keep serving an invalidated value (plus KV's ~60 s propagation; see the README).
 */
import { positive } from "../config.js";

/** A cached value's serialized JSON, at most 64 KiB: small enough for both tiers and for RPC. */
export const CACHE_VALUE_MAX_BYTES = 64 * 1024;

/** The longest time to live a client may ask for with max-age (one year). */
export const CACHE_MAX_TTL_SECONDS = 365 * 86_400;

/** KV refuses an expirationTtl below 60 s; shorter entries keep their exact expiry with the value. */
export const KV_MIN_TTL_SECONDS = 60;

/**
 * Customer order lists are not version-checked (they span shards), so a list read that races an
 * invalidation could put a stale list back; this short time to live bounds that.
 */
export const LIST_TTL_SECONDS = 60;

export interface CacheSettings {
  defaultTtlSeconds: number;
  edgeTtlSeconds: number;
}

export function cacheSettings(env: Env): CacheSettings {
  return {
    defaultTtlSeconds: Math.min(positive(env.CACHE_DEFAULT_TTL_SECONDS, 3600), CACHE_MAX_TTL_SECONDS),
    edgeTtlSeconds: positive(env.EDGE_CACHE_TTL_SECONDS, 10),
  };
}
