/**
 * The isolate's view of a tenant's subscriptions: read from the Tenant object at most every
 * SUBSCRIPTION_CACHE_MS (2 s) and kept as an index, so neither the Tenant object nor the matching
 * cost sits on every publish. Changes made through this isolate drop its entry at once.
 */
import { SUBSCRIPTION_CACHE_MS } from "../config.js";
import { SubscriptionIndex } from "../domain/patterns.js";
import type { SubscriptionRecord } from "../schemas/subscription.js";

interface Entry {
  until: number;
  index: SubscriptionIndex<SubscriptionRecord>;
  byId: Map<string, SubscriptionRecord>;
}

const entries = new Map<string, Promise<Entry>>();

async function load(env: Env, tenantId: string): Promise<Entry> {
  const list = await env.TENANT.get(env.TENANT.idFromName(tenantId)).listSubscriptions();
  const active = list.filter((s) => s.status === "ACTIVE");
  return {
    until: Date.now() + SUBSCRIPTION_CACHE_MS,
    index: new SubscriptionIndex(active),
    byId: new Map(list.map((s) => [s.id, s])),
  };
}

export async function tenantSubscriptions(env: Env, tenantId: string): Promise<Entry> {
  const cached = entries.get(tenantId);
  if (cached) {
    const entry = await cached.catch(() => undefined);
    if (entry && entry.until > Date.now()) return entry;
  }
  // Concurrent publishes share one read of the Tenant object.
  const pending = load(env, tenantId);
  entries.set(tenantId, pending);
  pending.catch(() => entries.delete(tenantId));
  return pending;
}

export function forgetSubscriptions(tenantId: string): void {
  entries.delete(tenantId);
}
