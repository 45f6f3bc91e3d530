/**
 * Webhooks — subscriptions with a URL — beyond creating and changing them (subscriptions.ts):
 * their delivery log, redelivery and recovery, secret rotation, test sends, and disabling one
 * (410 Gone, or failing past the health window), which publishes `webhook.disabled` to the
 * tenant's own bus so it can be subscribed to like any event. Shared by the routes, the delivery
 * consumer and the Endpoint object.
 */
import { settings } from "../config.js";
import { DEFAULT_RETRY_POLICY } from "../domain/backoff.js";
import { newId } from "../domain/ids.js";
import { generateSecret } from "../domain/signing.js";
import { newTrace, traceHeaders } from "../domain/trace.js";
import { AppError } from "../errors.js";
import { endpointStub } from "../objects/endpoint/client.js";
import type { RecoverCursor } from "../objects/endpoint/log.js";
import { partitionStub } from "../objects/partition/client.js";
import { tenantStub } from "../objects/tenant/client.js";
import { liveSecrets, signedPost } from "../queues/signed-post.js";
import { renderDelivery } from "../schemas/cloudevent.js";
import type { DeliveryStatus } from "../schemas/event.js";
import type { SubscriptionRecord } from "../schemas/subscription.js";
import { publishEnvelopes, toEnvelope } from "./publish.js";
import { forgetSubscriptions } from "./subscription-cache.js";
import { checkSecret, getSubscription, listSubscriptions } from "./subscriptions.js";

/** A webhook is a subscription with a URL; anything else is not found here. */
export async function getWebhook(env: Env, tenantId: string, id: string): Promise<SubscriptionRecord> {
  const record = await getSubscription(env, tenantId, id);
  if (record.url === undefined) throw new AppError("NOT_FOUND", `No webhook ${id} (it is a pull subscription).`);
  return record;
}

export async function listWebhooks(env: Env, tenantId: string): Promise<SubscriptionRecord[]> {
  return (await listSubscriptions(env, tenantId)).filter((s) => s.url !== undefined);
}

/** The delivery-log operations serve /webhooks/:id (push only) and /subscriptions/:id (push and pull). */
export type Via = "webhooks" | "subscriptions";
const lookup = (via: Via) => (via === "webhooks" ? getWebhook : getSubscription);

export async function deliveryLog(
  env: Env,
  tenantId: string,
  id: string,
  status: DeliveryStatus | undefined,
  cursor: string | undefined,
  via: Via = "webhooks",
) {
  await lookup(via)(env, tenantId, id);
  return endpointStub(env, tenantId, id).list(status, cursor);
}

/** Sends one settled delivery again (a fresh attempt budget). */
export async function redeliverOne(env: Env, tenantId: string, id: string, deliveryId: string, via: Via = "webhooks"): Promise<void> {
  await lookup(via)(env, tenantId, id);
  const found = await endpointStub(env, tenantId, id).find(deliveryId);
  if (!found) throw new AppError("NOT_FOUND", `No delivery ${deliveryId} for ${via === "webhooks" ? "webhook" : "subscription"} ${id}.`);
  if (found.status === "PENDING") throw new AppError("CONFLICT", `Delivery ${deliveryId} is still pending.`);
  const sent = await redeliver(env, tenantId, id, [{ deliveryId, partitionKey: found.partitionKey }]);
  if (sent === 0) throw new AppError("CONFLICT", `Delivery ${deliveryId} can no longer be sent: its event was pruned or it is pending.`);
}

/** Re-sends every FAILED or DROPPED delivery logged since `sinceMs`, oldest first. */
export async function recoverSince(env: Env, tenantId: string, id: string, sinceMs: number, via: Via = "webhooks"): Promise<number> {
  await lookup(via)(env, tenantId, id);
  return resendFailed(env, tenantId, id, sinceMs);
}

/** After re-activation: what failed while the endpoint was failing, i.e. since its last success. */
export async function recoverAfterDisable(env: Env, tenantId: string, before: SubscriptionRecord): Promise<number> {
  const since = (await endpointStub(env, tenantId, before.id).lastSuccessAt()) ?? Date.parse(before.createdAt);
  return resendFailed(env, tenantId, before.id, since);
}

/** How many deliveries one recovery step reads and sends again (a recovery takes as many steps as it needs). */
export const RECOVER_PAGE = 500;

/** Pages through everything FAILED or DROPPED since `sinceMs`, in bounded steps; the count sent again. */
async function resendFailed(env: Env, tenantId: string, id: string, sinceMs: number): Promise<number> {
  const endpoint = endpointStub(env, tenantId, id);
  let after: RecoverCursor | null = null;
  let sent = 0;
  do {
    const page: { items: Array<{ deliveryId: string; partitionKey: string }>; next: RecoverCursor | null } = await endpoint.failedSince(
      sinceMs,
      after,
      RECOVER_PAGE,
    );
    if (page.items.length > 0) sent += await redeliver(env, tenantId, id, page.items);
    after = page.next;
  } while (after !== null);
  return sent;
}

/** New signing secret; the newest previous one keeps signing until the grace period ends. */
export async function rotateSecret(
  env: Env,
  tenantId: string,
  id: string,
  input: { secret?: string; graceSeconds?: number } | undefined,
): Promise<{ generated?: string; previousExpiresAt: number | null }> {
  const current = await getWebhook(env, tenantId, id);
  const generated = input?.secret === undefined ? generateSecret() : undefined;
  const secret = input?.secret !== undefined ? checkSecret(input.secret) : (generated as string);
  const now = Date.now();
  const expiresAt = now + (input?.graceSeconds ?? 86_400) * 1000;
  const previous = liveSecrets(current.secrets, now)
    .slice(0, 1)
    .map((s) => ({ secret: s, expiresAt }));
  const result = await tenantStub(env, tenantId).updateSubscription(id, { secrets: [{ secret }, ...previous] });
  if (!result.ok) throw new AppError(result.code, result.detail);
  forgetSubscriptions(tenantId);
  return { ...(generated ? { generated } : {}), previousExpiresAt: previous.length > 0 ? expiresAt : null };
}

/** Sends a signed webhook.test event now and reports the receiver's answer. */
export async function sendTest(env: Env, tenantId: string, id: string) {
  const hook = await getWebhook(env, tenantId, id);
  const eventId = newId("evt");
  const event = {
    id: eventId,
    type: "webhook.test",
    timestamp: new Date().toISOString(),
    source: "edgebus",
    data: { webhookId: hook.id, message: "This is a test delivery." },
    metadata: { correlationId: eventId, version: "1.0", tenantId },
    partitionKey: "_test",
    sequence: 0,
  };
  // In the webhook's format, like its deliveries, as the first span of a trace of its own.
  const { rawBody, contentType, headers } = renderDelivery(hook.format, event);
  return signedPost({
    url: hook.url as string,
    secrets: hook.secrets,
    allowPrivate: settings(env).allowPrivateTargets,
    eventId: event.id,
    eventType: event.type,
    sequence: 0,
    partitionKey: event.partitionKey,
    attempt: 1,
    rawBody,
    contentType,
    headers: { ...headers, ...traceHeaders(newTrace()) },
    timeoutMs: (hook.retryPolicy ?? DEFAULT_RETRY_POLICY).timeoutMs,
  });
}

export async function disableWebhook(env: Env, tenantId: string, subscriptionId: string, reason: string): Promise<void> {
  const tenant = tenantStub(env, tenantId);
  const before = await tenant.getSubscription(subscriptionId);
  if (before?.status !== "ACTIVE") return;
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
  const requestedAt = Date.now();
  for (const [partitionKey, ids] of byPartition) {
    sent.push(...(await partitionStub(env, tenantId, partitionKey).redeliver(ids)));
  }
  // Only what was really sent again shows as pending (a row pruned from its partition is not).
  if (sent.length > 0) await endpointStub(env, tenantId, subscriptionId).markPending(sent, requestedAt);
  return sent.length;
}
