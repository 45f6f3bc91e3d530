/** The cache's public surface for routes: the two-tier operations, event invalidation, settings and counters. */
export { byteLength, clearCache, invalidateKeys, isCacheKey, readCache, writeCache, type CacheHit, type WriteOutcome } from "./two-tier.js";
export { CACHE_MAX_TTL_SECONDS, CACHE_VALUE_MAX_BYTES, LIST_TTL_SECONDS, cacheSettings } from "./settings.js";
export { cacheCounters } from "./stats.js";
