/**
 * The Deliveries queue consumer. A message is a reference; the Partition object holds the event
 * and the delivery row. Per message: re-check the subscription, mark the attempt started (stale
 * messages stop here), POST it signed, and write the outcome back to the row. A retry is a new
 * message for the next attempt with the backoff as its delay; the row's lease covers a lost one.
 * Messages are acked one by one and run concurrently, at most PER_ENDPOINT at a time per endpoint.
 * Each endpoint's delivery log gets one write per batch with all of its outcomes.
 */
import { settings } from "../config.js";
import { DEFAULT_RETRY_POLICY, nextDelaySeconds } from "../domain/backoff.js";
import { partitionStub } from "../durable-objects/publish.js";
import { tenantSubscriptions } from "../durable-objects/subscription-cache.js";
import { parseStored } from "../schemas/event.js";
import { DeliveryMessageSchema, type DeliveryMessage } from "../schemas/messages.js";
import { disableWebhook } from "../durable-objects/webhook-admin.js";
import { signedPost } from "./signed-post.js";
import type { LogEntry } from "../durable-objects/endpoint.js";
import type { SubscriptionRecord } from "../schemas/subscription.js";

/** Concurrent requests to one endpoint within a batch (others' deliveries never wait on it). */
const PER_ENDPOINT = 10;
/** Queues hold a delayed message for at most 12 h; longer backoffs are left to the partition's alarm. */
const MAX_QUEUE_DELAY_S = 43_200;

export async function consumeDeliveries(batch: MessageBatch, env: Env): Promise<void> {
  const groups = new Map<string, Array<{ message: Message; body: DeliveryMessage }>>();
  for (const message of batch.messages) {
    const parsed = DeliveryMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ level: "error", message: "malformed delivery message dropped", id: message.id }));
      message.ack();
      continue;
    }
    const key = `${parsed.data.tenantId}/${parsed.data.subscriptionId}`;
    groups.set(key, [...(groups.get(key) ?? []), { message, body: parsed.data }]);
  }
  await Promise.all(
    [...groups].map(async ([endpoint, items]) => {
      const entries: LogEntry[] = [];
      let next = 0;
      const lane = async () => {
        while (next < items.length) {
          const item = items[next++] as (typeof items)[number];
          await settle(item.message, item.body, env, entries);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PER_ENDPOINT, items.length) }, lane));
      if (entries.length > 0) await writeLog(env, endpoint, items[0]?.body as DeliveryMessage, entries);
    }),
  );
}

async function settle(message: Message, body: DeliveryMessage, env: Env, entries: LogEntry[]): Promise<void> {
  try {
    const entry = await deliver(body, env);
    if (entry) entries.push(entry);
    message.ack();
  } catch (err) {
    // Storage or platform trouble, not the receiver's answer: let the queue try this message again.
    console.error(JSON.stringify({ level: "error", message: "delivery failed internally", error: String(err) }));
    message.retry({ delaySeconds: 5 });
  }
}

/** The log view is secondary (the Partition rows are the truth): a failed write is logged, not retried. */
async function writeLog(env: Env, endpoint: string, sample: DeliveryMessage, entries: LogEntry[]): Promise<void> {
  try {
    await env.ENDPOINT.get(env.ENDPOINT.idFromName(endpoint)).record(sample.tenantId, sample.subscriptionId, entries);
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", message: "delivery log write failed", endpoint, error: String(err) }));
  }
}

async function findSubscription(env: Env, tenantId: string, id: string): Promise<SubscriptionRecord | undefined> {
  const cached = (await tenantSubscriptions(env, tenantId)).byId.get(id);
  if (cached) return cached;
  // Created less than 2 s ago and not in this isolate's list yet: read it, never drop on a stale cache.
  return (await env.TENANT.get(env.TENANT.idFromName(tenantId)).getSubscription(id)) ?? undefined;
}

export async function deliver(msg: DeliveryMessage, env: Env): Promise<LogEntry | null> {
  const partition = partitionStub(env, msg.tenantId, msg.partitionKey);
  const sub = await findSubscription(env, msg.tenantId, msg.subscriptionId);
  if (!sub?.url || sub.status !== "ACTIVE") {
    const dropped = await partition.dropDelivery(msg.deliveryId, sub ? "subscription is disabled" : "subscription was deleted");
    // A disabled webhook's log shows the drop (and `recover` can send it later); a deleted one has no log.
    if (!dropped || !sub) return null;
    return { deliveryId: msg.deliveryId, ...dropped, partitionKey: msg.partitionKey, status: "DROPPED" };
  }
  const policy = sub.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const began = await partition.beginAttempt(msg.deliveryId, msg.attempt, policy.timeoutMs);
  if (!began) return null; // settled already, or this attempt started elsewhere: send nothing
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
  const attempt = {
    attempt: msg.attempt,
    durationMs: outcome.durationMs,
    ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
  };
  const entry = (status: LogEntry["status"]): LogEntry => ({
    deliveryId: msg.deliveryId,
    eventId: event.id,
    partitionKey: event.partitionKey,
    sequence: event.sequence,
    status,
    attempt: { ...attempt, at: Date.now() },
  });
  if (outcome.class === "success") {
    await partition.recordAttempt(msg.deliveryId, { ...attempt, settle: "DELIVERED" });
    return entry("DELIVERED");
  }
  if (outcome.class === "disable") {
    await partition.recordAttempt(msg.deliveryId, { ...attempt, settle: "DROPPED" });
    await disableWebhook(env, msg.tenantId, sub.id, "the receiver answered 410 Gone");
    return entry("DROPPED");
  }
  if (outcome.class === "refused" || msg.attempt - began.attemptBase >= policy.maxAttempts) {
    await partition.recordAttempt(msg.deliveryId, { ...attempt, settle: "FAILED" });
    return entry("FAILED");
  }
  const delay = nextDelaySeconds({
    attempt: msg.attempt - began.attemptBase,
    policy,
    ...(outcome.statusCode !== undefined ? { status: outcome.statusCode } : {}),
    retryAfter: outcome.retryAfter ?? null,
    nowMs: Date.now(),
  });
  await partition.recordAttempt(msg.deliveryId, { ...attempt, retryInSeconds: delay });
  if (delay <= MAX_QUEUE_DELAY_S) {
    await env.DELIVERIES.send({ ...msg, attempt: msg.attempt + 1 } satisfies DeliveryMessage, {
      delaySeconds: delay,
      contentType: "json",
    });
  }
  return entry("PENDING");
}
