/**
 * The Deliveries queue consumer: a router. A message is a reference; the Partition object holds
 * the event and the delivery row, and the endpoint's Endpoint object sends it. For a batch:
 * re-check each subscription (2 s cache; a miss reads the Tenant object); drop rows of disabled
 * or deleted subscriptions (one call per partition); hand the rest to their endpoints (one call
 * per endpoint, which returns at once — the requests run in the Endpoint object, so a slow or
 * hanging receiver never holds up a batch, another endpoint or another tenant); deliveries an
 * endpoint's gate refused (rate limit, in-flight cap, Retry-After pause) are leased on their
 * partition and come back as new messages when their time comes, using no attempt.
 */
import { groupBy } from "../domain/group.js";
import { endpointStub } from "../objects/endpoint/client.js";
import type { LogEntry } from "../objects/endpoint/log.js";
import { sendInChunks } from "../objects/kit/queue-send.js";
import { partitionStub } from "../objects/partition/client.js";
import type { BeginRequest } from "../objects/partition/deliveries.js";
import { tenantStub } from "../objects/tenant/client.js";
import { type DeliveryMessage, DeliveryMessageSchema } from "../schemas/messages.js";
import type { SubscriptionRecord } from "../schemas/subscription.js";
import { activeSubscription } from "../services/subscription-cache.js";

/** Queues hold a delayed message for at most 12 h. */
const MAX_QUEUE_DELAY_S = 43_200;

interface Item {
  message: Message;
  msg: DeliveryMessage;
  sub?: SubscriptionRecord;
  /** Refused by the endpoint's gate until then. */
  deferUntil?: number;
  log?: LogEntry;
}

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
  await Promise.all(
    items.map(async (i) => {
      i.sub = await findSubscription(env, i.msg.tenantId, i.msg.subscriptionId);
    }),
  );
  const live = items.filter((i) => i.sub?.status === "ACTIVE");
  const dead = items.filter((i) => !live.includes(i));
  await Promise.all([...groupBy(live, (i) => `${i.msg.tenantId}/${i.msg.subscriptionId}`).values()].map((g) => handOver(env, g)));
  const settled = [...dead, ...live.filter((i) => i.deferUntil !== undefined)];
  await Promise.all([...groupBy(settled, (i) => `${i.msg.tenantId}/${i.msg.partitionKey}`).values()].map((g) => dropOrDefer(env, g)));
  await resendDeferred(
    env,
    live.filter((i) => i.deferUntil !== undefined),
  );
  await Promise.all(
    [
      ...groupBy(
        dead.filter((i) => i.log),
        (i) => `${i.msg.tenantId}/${i.msg.subscriptionId}`,
      ).values(),
    ].map((g) => {
      const first = g[0] as Item;
      return endpointStub(env, first.msg.tenantId, first.msg.subscriptionId)
        .record(
          first.msg.tenantId,
          first.msg.subscriptionId,
          g.map((i) => i.log as LogEntry),
        )
        .catch((err: unknown) => console.warn(JSON.stringify({ level: "warn", message: "delivery log write failed", error: String(err) })));
    }),
  );
}

async function findSubscription(env: Env, tenantId: string, id: string): Promise<SubscriptionRecord | undefined> {
  // Missing or disabled in a list up to 2 s old (created or re-enabled since): read it, so a
  // delivery is never dropped on a stale cache.
  return (await activeSubscription(env, tenantId, id)) ?? (await tenantStub(env, tenantId).getSubscription(id)) ?? undefined;
}

/**
 * One call per endpoint: a webhook's object takes what its gate admits and names the rest with a
 * time; a pull subscription's object keeps every message in its mailbox until it is pulled.
 */
async function handOver(env: Env, group: Item[]): Promise<void> {
  const first = group[0] as Item;
  try {
    if (first.sub?.url === undefined) {
      await endpointStub(env, first.msg.tenantId, first.msg.subscriptionId).enqueue(
        first.msg.tenantId,
        group.map((i) => i.msg),
      );
      for (const item of group) item.message.ack();
      return;
    }
    const refused = await endpointStub(env, first.msg.tenantId, first.msg.subscriptionId).deliver(
      first.msg.tenantId,
      first.sub as SubscriptionRecord,
      group.map((i) => i.msg),
    );
    const until = new Map(refused.map((r) => [r.deliveryId, r.until]));
    for (const item of group) {
      item.deferUntil = until.get(item.msg.deliveryId);
      item.message.ack();
    }
  } catch (err) {
    // Platform trouble, not the receiver's answer: the queue tries these messages again.
    console.error(JSON.stringify({ level: "error", message: "handing deliveries to the endpoint failed", error: String(err) }));
    for (const item of group) item.message.retry({ delaySeconds: 5 });
  }
}

/** One call per partition: drop the rows of dead subscriptions, lease the deferred ones until their time. */
async function dropOrDefer(env: Env, group: Item[]): Promise<void> {
  const first = group[0] as Item;
  try {
    const requests = group.map(
      (item): BeginRequest =>
        item.deferUntil !== undefined
          ? { deliveryId: item.msg.deliveryId, deferUntil: item.deferUntil }
          : { deliveryId: item.msg.deliveryId, drop: item.sub ? "subscription is disabled" : "subscription was deleted" },
    );
    const { results } = await partitionStub(env, first.msg.tenantId, first.msg.partitionKey).beginAttempts(requests);
    group.forEach((item, k) => {
      const r = results[k];
      // A disabled webhook's log shows the drop (recover can send it later); a deleted one has no log.
      if (r && "dropped" in r && item.sub) {
        item.log = { deliveryId: item.msg.deliveryId, ...r.dropped, partitionKey: item.msg.partitionKey, status: "DROPPED" };
      }
      if (item.deferUntil === undefined) item.message.ack();
    });
  } catch (err) {
    console.error(JSON.stringify({ level: "error", message: "dropping or deferring deliveries failed", error: String(err) }));
    for (const item of group) if (item.deferUntil === undefined) item.message.retry({ delaySeconds: 5 });
  }
}

/** Deferred deliveries come back as new messages for the same attempt, delayed until their time. */
async function resendDeferred(env: Env, items: Item[]): Promise<void> {
  const now = Date.now();
  await sendInChunks(
    items,
    (chunk) =>
      env.DELIVERIES.sendBatch(
        chunk.map((i) => {
          const { sentAt: _sent, ...body } = i.msg;
          const delaySeconds = Math.min(MAX_QUEUE_DELAY_S, Math.max(1, Math.ceil(((i.deferUntil ?? now) - now) / 1000)));
          return { body, delaySeconds, contentType: "json" as const };
        }),
      ),
    () => {},
    "deferred delivery",
  );
}
