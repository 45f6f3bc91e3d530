/**
 * The isolate's view of a tenant's subscriptions: read from the Tenant object at most every
 * SUBSCRIPTION_CACHE_MS (2 s) and kept as an index, so neither the Tenant object nor the matching
 * cost sits on every publish. Changes made through this isolate drop its entry at once. Only
 * resolved lists are shared: workerd does not let one request await a promise that another
 * request's I/O settles, so concurrent misses each read (at most one read per request).
 */
import { SUBSCRIPTION_CACHE_MS } from "../config.js";
import { SubscriptionIndex } from "../domain/patterns.js";
import { tenantStub } from "../objects/tenant/client.js";
import type { SubscriptionRecord } from "../schemas/subscription.js";

interface Entry {
  until: number;
  index: SubscriptionIndex<SubscriptionRecord>;
  byId: Map<string, SubscriptionRecord>;
}

const entries = new Map<string, Entry>();

export async function tenantSubscriptions(env: Env, tenantId: string): Promise<Entry> {
  const cached = entries.get(tenantId);
  if (cached && cached.until > Date.now()) return cached;
  const list = await tenantStub(env, tenantId).listSubscriptions();
  const entry: Entry = {
    until: Date.now() + SUBSCRIPTION_CACHE_MS,
    index: new SubscriptionIndex(list.filter((s) => s.status === "ACTIVE")),
    byId: new Map(list.map((s) => [s.id, s])),
  };
  entries.set(tenantId, entry);
  return entry;
}

export function forgetSubscriptions(tenantId: string): void {
  entries.delete(tenantId);
}

/** The subscription as the isolate's cache has it (at most 2 s old), when it is active. */
export async function activeSubscription(env: Env, tenantId: string, id: string): Promise<SubscriptionRecord | undefined> {
  const sub = (await tenantSubscriptions(env, tenantId)).byId.get(id);
  return sub?.status === "ACTIVE" ? sub : undefined;
}
