/**
 * The Deliveries queue consumer. A message is a reference; the Partition object holds the event
 * and the delivery row. For a batch: re-check each subscription, begin every attempt with one
 * call per partition (stale messages stop there), POST them signed — concurrently, at most
 * PER_ENDPOINT at a time per endpoint — then record every outcome with one call per partition.
 * A retry is a new message for the next attempt with the backoff as its delay; the row's lease
 * covers a lost one. Each endpoint's delivery log gets one write per batch. Messages are acked or
 * retried one by one.
 */
import { settings } from "../config.js";
import { DEFAULT_RETRY_POLICY, nextDelaySeconds } from "../domain/backoff.js";
import type { LogEntry } from "../objects/endpoint/object.js";
import { partitionStub } from "../objects/partition/client.js";
import type { BeginRequest } from "../objects/partition/deliveries.js";
import type { AttemptOutcome, BeganAttempt } from "../objects/partition/sql.js";
import { tenantStub } from "../objects/tenant/client.js";
import { parseStored } from "../schemas/event.js";
import { type DeliveryMessage, DeliveryMessageSchema } from "../schemas/messages.js";
import type { SubscriptionRecord } from "../schemas/subscription.js";
import { tenantSubscriptions } from "../services/subscription-cache.js";
import { disableWebhook } from "../services/webhooks.js";
import { signedPost } from "./signed-post.js";

/** Concurrent requests to one endpoint within a batch (others' deliveries never wait on it). */
const PER_ENDPOINT = 32;
/** Queues hold a delayed message for at most 12 h; longer backoffs are left to the partition's alarm. */
const MAX_QUEUE_DELAY_S = 43_200;

interface Item {
  message: Message;
  msg: DeliveryMessage;
  sub?: SubscriptionRecord;
  began?: BeganAttempt;
  outcome?: AttemptOutcome;
  log?: LogEntry;
  retryIn?: number;
  disable?: boolean;
}

const groupBy = <T>(list: T[], key: (t: T) => string) => {
  const map = new Map<string, T[]>();
  for (const t of list) map.set(key(t), [...(map.get(key(t)) ?? []), t]);
  return map;
};

export async function consumeDeliveries(batch: MessageBatch, env: Env): Promise<void> {
  const items: Item[] = [];
  for (const message of batch.messages) {
    const parsed = DeliveryMessageSchema.safeParse(message.body);
    if (parsed.success) items.push({ message, msg: parsed.data });
    else {
      console.error(JSON.stringify({ level: "error", message: "malformed delivery message dropped", id: message.id }));
      message.ack();
    }
  }
  const partitions = groupBy(items, (i) => `${i.msg.tenantId}/${i.msg.partitionKey}`);
  const perEndpoint = new Map<string, number>();
  for (const i of items) perEndpoint.set(i.msg.subscriptionId, (perEndpoint.get(i.msg.subscriptionId) ?? 0) + 1);
  await Promise.all([...partitions.values()].map((group) => begin(env, group, perEndpoint)));
  const started = items.filter((i) => i.began);
  await Promise.all([...groupBy(started, (i) => i.msg.subscriptionId).values()].map((group) => post(env, group)));
  await Promise.all([...partitions.values()].map((group) => finish(env, group)));
  await sendRetries(env, items);
  await Promise.all(
    [
      ...groupBy(
        items.filter((i) => i.log),
        (i) => `${i.msg.tenantId}/${i.msg.subscriptionId}`,
      ),
    ].map(([endpoint, group]) => writeLog(env, endpoint, group)),
  );
}

async function findSubscription(env: Env, tenantId: string, id: string): Promise<SubscriptionRecord | undefined> {
  const cached = (await tenantSubscriptions(env, tenantId)).byId.get(id);
  if (cached?.status === "ACTIVE") return cached;
  // Missing or disabled in a list up to 2 s old (created or re-enabled since): read it, so a
  // delivery is never dropped on a stale cache.
  return (await tenantStub(env, tenantId).getSubscription(id)) ?? undefined;
}

/** One call per partition: begin every attempt, or drop rows whose subscription is gone or disabled. */
async function begin(env: Env, group: Item[], perEndpoint: Map<string, number>): Promise<void> {
  const first = group[0] as Item;
  try {
    const requests = await Promise.all(
      group.map(async (item): Promise<BeginRequest> => {
        item.sub = await findSubscription(env, item.msg.tenantId, item.msg.subscriptionId);
        if (!item.sub?.url || item.sub.status !== "ACTIVE") {
          return { deliveryId: item.msg.deliveryId, drop: item.sub ? "subscription is disabled" : "subscription was deleted" };
        }
        // The attempt may wait for a lane behind others to the same endpoint: lease it for that too.
        const rounds = Math.ceil((perEndpoint.get(item.msg.subscriptionId) ?? 1) / PER_ENDPOINT);
        return { deliveryId: item.msg.deliveryId, attempt: item.msg.attempt, inFlightMs: policyOf(item).timeoutMs * rounds };
      }),
    );
    const results = await partitionStub(env, first.msg.tenantId, first.msg.partitionKey).beginAttempts(requests);
    group.forEach((item, k) => {
      const r = results[k];
      if (r && "began" in r) item.began = r.began;
      // A disabled webhook's log shows the drop (recover can send it later); a deleted one has no log.
      else if (r && "dropped" in r && item.sub) {
        item.log = { deliveryId: item.msg.deliveryId, ...r.dropped, partitionKey: item.msg.partitionKey, status: "DROPPED" };
      }
    });
  } catch (err) {
    // Storage or platform trouble, not the receiver's answer: the queue tries these messages again.
    console.error(JSON.stringify({ level: "error", message: "beginning deliveries failed", error: String(err) }));
    for (const item of group) item.message.retry({ delaySeconds: 5 });
    group.length = 0;
  }
}

const policyOf = (item: Item) => item.sub?.retryPolicy ?? DEFAULT_RETRY_POLICY;

/** The POSTs to one endpoint, PER_ENDPOINT lanes at a time. */
async function post(env: Env, group: Item[]): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < group.length) await attempt(env, group[next++] as Item);
  };
  await Promise.all(Array.from({ length: Math.min(PER_ENDPOINT, group.length) }, lane));
}

async function attempt(env: Env, item: Item): Promise<void> {
  const { began, sub, msg } = item as Required<Pick<Item, "began" | "sub">> & Item;
  const policy = policyOf(item);
  const { cacheInvalidation: _ci, ...event } = parseStored(began.event);
  const result = await signedPost({
    url: sub.url as string,
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
  const base: AttemptOutcome = {
    attempt: msg.attempt,
    durationMs: result.durationMs,
    ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
    ...(result.error !== undefined ? { error: result.error } : {}),
  };
  if (result.class === "success") item.outcome = { ...base, settle: "DELIVERED" };
  else if (result.class === "disable") {
    item.outcome = { ...base, settle: "DROPPED" };
    item.disable = true;
  } else if (result.class === "refused" || msg.attempt - began.attemptBase >= policy.maxAttempts) {
    item.outcome = { ...base, settle: "FAILED" };
  } else {
    item.retryIn = nextDelaySeconds({
      attempt: msg.attempt - began.attemptBase,
      policy,
      ...(result.statusCode !== undefined ? { status: result.statusCode } : {}),
      retryAfter: result.retryAfter ?? null,
      nowMs: Date.now(),
    });
    item.outcome = { ...base, retryInSeconds: item.retryIn };
  }
  const { durationMs, statusCode, error } = base;
  item.log = {
    deliveryId: msg.deliveryId,
    eventId: event.id,
    partitionKey: event.partitionKey,
    sequence: event.sequence,
    status: item.outcome.settle ?? "PENDING",
    attempt: {
      attempt: msg.attempt,
      durationMs,
      at: Date.now(),
      ...(statusCode !== undefined ? { statusCode } : {}),
      ...(error !== undefined ? { error } : {}),
    },
  };
}

/** One call per partition records every outcome; then each message is acked. */
async function finish(env: Env, group: Item[]): Promise<void> {
  const first = group[0];
  if (!first) return;
  const done = group.filter((i) => i.outcome);
  try {
    if (done.length > 0) {
      await partitionStub(env, first.msg.tenantId, first.msg.partitionKey).recordAttempts(
        done.map((i) => ({ deliveryId: i.msg.deliveryId, outcome: i.outcome as AttemptOutcome })),
      );
    }
    for (const item of group) item.message.ack();
  } catch (err) {
    // The attempts were begun, so a retried message is stale; the rows' leases bring them back.
    console.error(JSON.stringify({ level: "error", message: "recording deliveries failed", error: String(err) }));
    for (const item of group) item.message.ack();
    for (const item of done) delete item.retryIn;
  }
  for (const item of done.filter((i) => i.disable)) {
    await disableWebhook(env, item.msg.tenantId, item.msg.subscriptionId, "the receiver answered 410 Gone");
  }
}

/** The next attempts, as one sendBatch; a failed send is covered by the rows' leases. */
async function sendRetries(env: Env, items: Item[]): Promise<void> {
  const retries = items.filter((i) => i.retryIn !== undefined && i.retryIn <= MAX_QUEUE_DELAY_S);
  for (let i = 0; i < retries.length; i += 100) {
    const chunk = retries.slice(i, i + 100);
    try {
      await env.DELIVERIES.sendBatch(
        chunk.map((r) => ({
          body: { ...r.msg, attempt: r.msg.attempt + 1 } satisfies DeliveryMessage,
          delaySeconds: r.retryIn,
          contentType: "json" as const,
        })),
      );
    } catch (err) {
      console.warn(JSON.stringify({ level: "warn", message: "sending retries failed; the alarm will re-send", error: String(err) }));
    }
  }
}

/** The log view is secondary (the Partition rows are the truth): a failed write is logged, not retried. */
async function writeLog(env: Env, endpoint: string, group: Item[]): Promise<void> {
  const { tenantId, subscriptionId } = (group[0] as Item).msg;
  try {
    await env.ENDPOINT.get(env.ENDPOINT.idFromName(endpoint)).record(
      tenantId,
      subscriptionId,
      group.map((i) => i.log as LogEntry),
    );
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", message: "delivery log write failed", endpoint, error: String(err) }));
  }
}
