/**
 * Disabling a webhook (410 Gone, or failing past the health window) and redelivering, shared by
 * the consumer, the Endpoint object and the routes. Disabling publishes `webhook.disabled` to the
 * tenant's own bus, so it can be subscribed to like any event.
 */
import { partitionStub, publishEnvelopes, toEnvelope } from "./publish.js";
import { forgetSubscriptions } from "./subscription-cache.js";

export async function disableWebhook(env: Env, tenantId: string, subscriptionId: string, reason: string): Promise<void> {
  const tenant = env.TENANT.get(env.TENANT.idFromName(tenantId));
  const before = await tenant.getSubscription(subscriptionId);
  if (!before || before.status !== "ACTIVE") return;
  const updated = await tenant.updateSubscription(subscriptionId, { status: "DISABLED", disabledReason: reason });
  forgetSubscriptions(tenantId);
  if (!updated.ok) return;
  const disabledAt = updated.value.disabledAt ?? new Date().toISOString();
  const id = `webhook-disabled-${subscriptionId}-${Date.parse(disabledAt)}`;
  await publishEnvelopes(env, tenantId, [
    toEnvelope(
      {
        id,
        type: "webhook.disabled",
        source: "edgebus",
        data: { webhookId: subscriptionId, name: before.name, url: before.url ?? null, reason, disabledAt },
        partitionKey: `webhook-${subscriptionId}`,
      },
      tenantId,
    ),
  ]);
}

/** Sends deliveries again (each gets a fresh attempt budget), grouped by partition. */
export async function redeliver(
  env: Env,
  tenantId: string,
  subscriptionId: string,
  items: Array<{ deliveryId: string; partitionKey: string }>,
): Promise<number> {
  const byPartition = new Map<string, string[]>();
  for (const item of items) byPartition.set(item.partitionKey, [...(byPartition.get(item.partitionKey) ?? []), item.deliveryId]);
  const sent: string[] = [];
  for (const [partitionKey, ids] of byPartition) {
    sent.push(...(await partitionStub(env, tenantId, partitionKey).redeliver(tenantId, partitionKey, ids)));
  }
  // Only what was really sent again shows as pending (a row pruned from its partition is not).
  if (sent.length > 0) await env.ENDPOINT.get(env.ENDPOINT.idFromName(`${tenantId}/${subscriptionId}`)).markPending(sent);
  return sent.length;
}
