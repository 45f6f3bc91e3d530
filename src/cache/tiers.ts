/**
 * The two storage tiers, each keyed per tenant. The Cache API (`caches.default`) is this location
 * only and fastest; KV reaches every location (eventually, ~60 s). Both store the value's JSON
 * text unchanged and carry its exact expiry (and, for order entries, the order's version) beside
 * it: in KV metadata, in Cache API headers. Each tier is an object so tests can replace a method.
 */
import { KV_MIN_TTL_SECONDS } from "./settings.js";

export interface CacheEntry {
  text: string;
  /** Epoch ms after which the entry is a miss, whatever the tier still holds. */
  expiresAt: number;
  /** The source's version of the value (orders), when it has one. */
  version?: number;
}

interface EntryMeta {
  expiresAt: number;
  version?: number;
}

const EXPIRES = "x-edgebus-expires-at";
const VERSION = "x-edgebus-version";

/** Cache API keys are synthetic URLs: nothing is ever fetched from this host. */
export function edgeUrl(tenantId: string, key: string): string {
  return `https://cache.edgebus.internal/${encodeURIComponent(tenantId)}/${encodeURIComponent(key)}`;
}

/** KV names: tenant ids contain no `/`, so `<tenant>/<key>` never collides across tenants. */
export function kvName(tenantId: string, key: string): string {
  return `${tenantId}/${key}`;
}

export const edgeTier = {
  async get(tenantId: string, key: string): Promise<CacheEntry | null> {
    const res = await caches.default.match(edgeUrl(tenantId, key));
    if (!res) return null;
    const expiresAt = Number(res.headers.get(EXPIRES));
    const version = res.headers.get(VERSION);
    const text = await res.text();
    if (!Number.isFinite(expiresAt)) return null;
    return { text, expiresAt, ...(version !== null ? { version: Number(version) } : {}) };
  },

  /** Stores for at most `maxSeconds` (and never past the entry's expiry); the Cache API needs a max-age. */
  async put(tenantId: string, key: string, entry: CacheEntry, maxSeconds: number): Promise<void> {
    const remaining = Math.ceil((entry.expiresAt - Date.now()) / 1000);
    const maxAge = Math.min(maxSeconds, remaining);
    if (maxAge < 1) return;
    const headers = new Headers({
      "content-type": "application/json",
      "cache-control": `max-age=${maxAge}`,
      [EXPIRES]: String(entry.expiresAt),
    });
    if (entry.version !== undefined) headers.set(VERSION, String(entry.version));
    await caches.default.put(edgeUrl(tenantId, key), new Response(entry.text, { headers }));
  },

  async delete(tenantId: string, key: string): Promise<void> {
    await caches.default.delete(edgeUrl(tenantId, key));
  },
};

export const kvTier = {
  async get(env: Env, tenantId: string, key: string): Promise<CacheEntry | null> {
    const { value, metadata } = await env.CACHE.getWithMetadata<EntryMeta>(kvName(tenantId, key), "text");
    if (value === null || !metadata || typeof metadata.expiresAt !== "number") return null;
    return { text: value, expiresAt: metadata.expiresAt, ...(metadata.version !== undefined ? { version: metadata.version } : {}) };
  },

  /** KV's own expiry cannot be below 60 s; the exact expiry travels in the metadata. */
  async put(env: Env, tenantId: string, key: string, entry: CacheEntry): Promise<void> {
    const ttl = Math.max(KV_MIN_TTL_SECONDS, Math.ceil((entry.expiresAt - Date.now()) / 1000));
    const metadata: EntryMeta = { expiresAt: entry.expiresAt, ...(entry.version !== undefined ? { version: entry.version } : {}) };
    await env.CACHE.put(kvName(tenantId, key), entry.text, { expirationTtl: ttl, metadata });
  },

  async delete(env: Env, tenantId: string, key: string): Promise<void> {
    await env.CACHE.delete(kvName(tenantId, key));
  },
};
