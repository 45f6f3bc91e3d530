/**
 * The Deliveries queue consumer. A message is a reference; the Partition object holds the event
 * and the delivery row. Per message: re-check the subscription, mark the attempt started (stale
 * messages stop here), POST it signed, and write the outcome back to the row. A retry is a new
 * message for the next attempt with the backoff as its delay; the row's lease covers a lost one.
 * Messages are acked one by one and run concurrently, at most PER_ENDPOINT at a time per endpoint.
 */
import { settings } from "../config.js";
import { DEFAULT_RETRY_POLICY, nextDelaySeconds } from "../domain/backoff.js";
import { partitionStub } from "../durable-objects/publish.js";
import { tenantSubscriptions } from "../durable-objects/subscription-cache.js";
import { parseStored } from "../schemas/event.js";
import { DeliveryMessageSchema, type DeliveryMessage } from "../schemas/messages.js";
import { signedPost } from "./signed-post.js";
import type { SubscriptionRecord } from "../schemas/subscription.js";

const PER_ENDPOINT = 4;
/** Queues hold a delayed message for at most 12 h; longer backoffs are left to the partition's alarm. */
const MAX_QUEUE_DELAY_S = 43_200;

export async function consumeDeliveries(batch: MessageBatch, env: Env): Promise<void> {
  const groups = new Map<string, Array<Message>>();
  for (const message of batch.messages) {
    const parsed = DeliveryMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ level: "error", message: "malformed delivery message dropped", id: message.id }));
      message.ack();
      continue;
    }
    const key = parsed.data.subscriptionId;
    groups.set(key, [...(groups.get(key) ?? []), message]);
  }
  await Promise.all(
    [...groups.values()].map(async (messages) => {
      for (let i = 0; i < messages.length; i += PER_ENDPOINT) {
        await Promise.all(messages.slice(i, i + PER_ENDPOINT).map((m) => settle(m, env)));
      }
    }),
  );
}

async function settle(message: Message, env: Env): Promise<void> {
  try {
    await deliver(DeliveryMessageSchema.parse(message.body), env);
    message.ack();
  } catch (err) {
    // Storage or platform trouble, not the receiver's answer: let the queue try this message again.
    console.error(JSON.stringify({ level: "error", message: "delivery failed internally", error: String(err) }));
    message.retry({ delaySeconds: 5 });
  }
}

async function findSubscription(env: Env, tenantId: string, id: string): Promise<SubscriptionRecord | undefined> {
  const cached = (await tenantSubscriptions(env, tenantId)).byId.get(id);
  if (cached) return cached;
  // Created less than 2 s ago and not in this isolate's list yet: read it, never drop on a stale cache.
  return (await env.TENANT.get(env.TENANT.idFromName(tenantId)).getSubscription(id)) ?? undefined;
}

export async function deliver(msg: DeliveryMessage, env: Env): Promise<void> {
  const partition = partitionStub(env, msg.tenantId, msg.partitionKey);
  const sub = await findSubscription(env, msg.tenantId, msg.subscriptionId);
  if (!sub?.url || sub.status !== "ACTIVE") {
    await partition.dropDelivery(msg.deliveryId, sub ? "subscription is disabled" : "subscription was deleted");
    return;
  }
  const policy = sub.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const began = await partition.beginAttempt(msg.deliveryId, msg.attempt, policy.timeoutMs);
  if (!began) return; // settled already, or this attempt started elsewhere: send nothing
  const { cacheInvalidation: _ci, ...event } = parseStored(began.event);
  const outcome = await signedPost({
    url: sub.url,
    secrets: sub.secrets,
    allowPrivate: settings(env).allowPrivateTargets,
    eventId: event.id,
    eventType: event.type,
    sequence: event.sequence,
    partitionKey: event.partitionKey,
    attempt: msg.attempt,
    rawBody: JSON.stringify({ event }),
    timeoutMs: policy.timeoutMs,
  });
  const base = {
    attempt: msg.attempt,
    durationMs: outcome.durationMs,
    ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
  };
  if (outcome.class === "success") {
    await partition.recordAttempt(msg.deliveryId, { ...base, settle: "DELIVERED" });
    return;
  }
  if (outcome.class === "disable") {
    await partition.recordAttempt(msg.deliveryId, { ...base, settle: "DROPPED" });
    await env.TENANT.get(env.TENANT.idFromName(msg.tenantId)).updateSubscription(sub.id, {
      status: "DISABLED",
      disabledReason: "the receiver answered 410 Gone",
    });
    return;
  }
  if (outcome.class === "refused" || msg.attempt >= policy.maxAttempts) {
    await partition.recordAttempt(msg.deliveryId, { ...base, settle: "FAILED" });
    return;
  }
  const delay = nextDelaySeconds({
    attempt: msg.attempt,
    policy,
    ...(outcome.statusCode !== undefined ? { status: outcome.statusCode } : {}),
    retryAfter: outcome.retryAfter ?? null,
    nowMs: Date.now(),
  });
  await partition.recordAttempt(msg.deliveryId, { ...base, retryInSeconds: delay });
  if (delay <= MAX_QUEUE_DELAY_S) {
    await env.DELIVERIES.send({ ...msg, attempt: msg.attempt + 1 } satisfies DeliveryMessage, {
      delaySeconds: delay,
      contentType: "json",
    });
  }
}
