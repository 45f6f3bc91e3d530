/** The cache's public surface for routes: the two-tier operations, event invalidation, settings and counters. */

export { CACHE_MAX_TTL_SECONDS, CACHE_VALUE_MAX_BYTES, cacheSettings, LIST_TTL_SECONDS } from "./settings.js";
export { cacheCounters } from "./stats.js";
export { byteLength, type CacheHit, clearCache, invalidateKeys, isCacheKey, readCache, type WriteOutcome, writeCache } from "./two-tier.js";
