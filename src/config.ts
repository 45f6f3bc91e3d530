/**
 * Typed access to vars and the limits (docs/reference.md). Every limit is a named constant here, so the
 * routes, the schemas and the README all read the same number.
 */
export const LIMITS = {
  requestBodyBytes: 256 * 1024,
  eventBytes: 100 * 1024,
  typeChars: 128,
  routingKeyChars: 256,
  partitionKeyChars: 256,
  invalidationKeys: 100,
  batchInvalidationKeys: 1000,
  patternsPerSubscription: 50,
  subscriptionsPerTenant: 1000,
  batchEvents: 100,
  partitionPageMax: 1000,
  partitionPageDefault: 100,
  retryMaxAttempts: { min: 1, max: 100 },
  retryTimeoutMs: { min: 1000, max: 30_000 },
  secretChars: { min: 16, max: 256 },
  /** How deeply event `data`, task `data` and cached values may nest (objects and arrays). */
  jsonDepth: 64,
} as const;

/** Partitions used for events published without a partition key (`_shard-<n>`). */
export const AUTO_SHARDS = 16;

/** A new outbox row (delivery or task) waits this long for sendBatch before its object's alarm treats it as not taken. */
export const HANDOFF_MS = 5_000;

/** How long a resolved API key stays cached in the isolate: a revoked key works at most this long. */
export const KEY_CACHE_MS = 30_000;

/** How long the isolate caches a tenant's subscription list (at most 2 s: a change is seen within 2 s everywhere). */
export const SUBSCRIPTION_CACHE_MS = 2_000;

/**
 * Partitions (accepted events) and isolates (cache reads) report their counts to the tenant's
 * Directory object at most this often, so GET /stats trails by about this much and no publish or
 * cache read waits for a report.
 */
export const STATS_FLUSH_MS = 5_000;

export const DEV = {
  adminToken: "dev-admin-token",
  tenantId: "dev",
  apiKey: "dev-api-key",
} as const;

export interface Settings {
  readonly production: boolean;
  readonly allowPrivateTargets: boolean;
  readonly retentionMs: number;
  readonly leaseMs: number;
  readonly disableAfterMs: number;
  readonly replayPerSecond: number;
}

/** A positive number from a var, or the fallback when it is missing or malformed. */
export function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** The deployment's settings from its vars (malformed or missing ones fall back to the defaults). */
export function settings(env: Env): Settings {
  let known = settingsOf.get(env);
  if (known === undefined) {
    known = Object.freeze(readSettings(env));
    settingsOf.set(env, known);
  }
  return known;
}

/** Each env's settings, read once: the bindings of an env never change, and hot paths ask often. */
const settingsOf = new WeakMap<Env, Settings>();

function readSettings(env: Env): Settings {
  const production = env.ENVIRONMENT === "production";
  return {
    production,
    allowPrivateTargets: !production && env.ALLOW_PRIVATE_TARGETS === "true",
    retentionMs: positive(env.RETENTION_DAYS, 7) * 86_400_000,
    leaseMs: positive(env.DELIVERY_LEASE_SECONDS, 30) * 1000,
    disableAfterMs: positive(env.ENDPOINT_DISABLE_AFTER_DAYS, 5) * 86_400_000,
    replayPerSecond: positive(env.REPLAY_DELIVERIES_PER_SECOND, 1_000),
  };
}
