/**
 * The Deliveries queue consumer: a router. A message is a reference; the Partition object holds
 * the event and the delivery row, and the endpoint's Endpoint object sends it. For a batch:
 * re-check each subscription (2 s cache; a miss reads the Tenant object); begin the attempts of
 * webhooks without a per-second rate limit (one call per partition for every webhook of the
 * batch, which also finds the stale copies of a message); hand the deliveries to their
 * endpoints (one call per endpoint, which returns at once — the requests run in the Endpoint
 * object, so a slow or hanging receiver never holds up a batch, another endpoint or another
 * tenant); drop rows of disabled or deleted subscriptions (one call per partition). Deliveries
 * an endpoint's gate refused (rate limit, in-flight cap, Retry-After pause) are leased on their
 * partition, their attempt given back if it was begun here, and come back as new messages when
 * their time comes.
 */

import { DEFAULT_RETRY_POLICY } from "../domain/backoff.js";
import { groupBy } from "../domain/group.js";
import { endpointStub } from "../objects/endpoint/client.js";
import type { LogEntry } from "../objects/endpoint/log.js";
import { sendInChunks } from "../objects/kit/queue-send.js";
import { partitionStub } from "../objects/partition/client.js";
import { type BeginRequest, deferRequest, gaveBack } from "../objects/partition/deliveries.js";
import type { BeganAttempt, PartitionBacklog } from "../objects/partition/sql.js";
import { tenantStub } from "../objects/tenant/client.js";
import { type DeliveryMessage, DeliveryMessageSchema } from "../schemas/messages.js";
import type { SubscriptionRecord } from "../schemas/subscription.js";
import { activeSubscription } from "../services/subscription-cache.js";

/** Platform trouble (an object that could not be reached): the queue tries the message again this much later. */
const RETRY_DELAY_S = 5;
/** Queues hold a delayed message for at most 12 h. */
const MAX_QUEUE_DELAY_S = 43_200;

interface Item {
  message: Message;
  msg: DeliveryMessage;
  sub?: SubscriptionRecord;
  /** Begun here (its event and lease), for a webhook without a per-second rate limit. */
  began?: BeganAttempt;
  /** Settled already or begun by another copy: nothing to send. */
  stale?: boolean;
  /** Refused by the endpoint's gate until then. */
  deferUntil?: number;
  /** Deferred, but the attempt begun here could not be given back: its lease sends it again. */
  keptBegun?: boolean;
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
  // A webhook's attempts are begun here, one call per partition for every webhook of the batch
  // (a throttled one's are begun by its endpoint, as its gate admits them).
  const backlog = new Map<string, PartitionBacklogAt[]>();
  const early = live.filter((i) => i.sub?.url !== undefined && i.sub.rateLimit?.perSecond === undefined);
  await Promise.all([...groupBy(early, (i) => `${i.msg.tenantId}/${i.msg.partitionKey}`).values()].map((g) => beginHere(env, g, backlog)));
  // A webhook whose messages were all stale still gets the partitions' figures.
  await Promise.all(
    [...groupBy(live, (i) => `${i.msg.tenantId}/${i.msg.subscriptionId}`).values()].map((g) =>
      handOver(env, g, backlog.get(`${(g[0] as Item).msg.tenantId}/${(g[0] as Item).msg.subscriptionId}`) ?? []),
    ),
  );
  const deferred = live.filter((i) => i.deferUntil !== undefined);
  await Promise.all(
    [...groupBy([...dead, ...deferred], (i) => `${i.msg.tenantId}/${i.msg.partitionKey}`).values()].map((g) => dropOrDefer(env, g)),
  );
  await resendDeferred(
    env,
    deferred.filter((i) => !i.keptBegun),
  );
  await Promise.all(
    [
      ...groupBy(
        items.filter((i) => i.log),
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

type PartitionBacklogAt = PartitionBacklog & { partitionKey: string };

/**
 * Begins the attempts of one partition's messages (of any webhook) in one call: a message for an
 * attempt that is settled or was begun by another copy is stale and acked here. The partition's
 * backlog figures go to the endpoints with their deliveries.
 */
async function beginHere(env: Env, group: Item[], backlog: Map<string, PartitionBacklogAt[]>): Promise<void> {
  const first = group[0] as Item;
  try {
    const { results, backlog: figures } = await partitionStub(env, first.msg.tenantId, first.msg.partitionKey).beginAttempts(
      group.map((i) => ({
        deliveryId: i.msg.deliveryId,
        attempt: i.msg.attempt,
        inFlightMs: (i.sub?.retryPolicy ?? DEFAULT_RETRY_POLICY).timeoutMs,
        ordered: i.sub?.ordering === "partition",
      })),
      group.flatMap((i) => (i.msg.sentAt !== undefined && i.msg.attempt === 1 ? [i.msg.sentAt] : [])),
    );
    group.forEach((item, k) => {
      const r = results[k];
      if (r && "began" in r) {
        item.began = r.began;
        return;
      }
      item.stale = true;
      // The event was pruned (past retention) before this redelivery: the log shows the drop.
      if (r && "dropped" in r)
        item.log = { deliveryId: item.msg.deliveryId, ...r.dropped, partitionKey: item.msg.partitionKey, status: "DROPPED" };
      item.message.ack();
    });
    for (const f of figures) {
      const key = `${first.msg.tenantId}/${f.subscriptionId}`;
      backlog.set(key, [...(backlog.get(key) ?? []), { ...f, partitionKey: first.msg.partitionKey }]);
    }
  } catch (err) {
    // Platform trouble: nothing was begun (one transaction), so the queue tries these again; if
    // the call committed and only its answer was lost, the copies are stale and the rows' leases
    // send them again.
    console.error(JSON.stringify({ level: "error", message: "beginning deliveries failed", error: String(err) }));
    for (const item of group) {
      item.stale = true;
      item.message.retry({ delaySeconds: RETRY_DELAY_S });
    }
  }
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
async function handOver(env: Env, all: Item[], backlog: PartitionBacklogAt[]): Promise<void> {
  const group = all.filter((i) => !i.stale);
  const first = all[0] as Item;
  if (group.length === 0 && backlog.length === 0) return;
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
      group.map((i) => ({ msg: i.msg, began: i.began })),
      backlog,
    );
    const until = new Map(refused.map((r) => [r.deliveryId, r.until]));
    for (const item of group) {
      item.deferUntil = until.get(item.msg.deliveryId);
      item.message.ack();
    }
  } catch (err) {
    // Platform trouble, not the receiver's answer: the queue tries these messages again, except
    // those whose attempt was begun here. That attempt stays begun (the call may have run and
    // sent it, so giving it back could send it twice): the row's lease sends it again, as the
    // next attempt, when it runs out.
    console.error(JSON.stringify({ level: "error", message: "handing deliveries to the endpoint failed", error: String(err) }));
    for (const item of group) {
      if (item.began) item.message.ack();
      else item.message.retry({ delaySeconds: RETRY_DELAY_S });
    }
  }
}

/** One call per partition: drop the rows of dead subscriptions, lease the deferred ones until their time. */
async function dropOrDefer(env: Env, group: Item[]): Promise<void> {
  const first = group[0] as Item;
  try {
    const requests = group.map(
      (item): BeginRequest =>
        item.deferUntil !== undefined
          ? // Begun here and never sent: the attempt is given back.
            deferRequest(item.msg.deliveryId, item.deferUntil, item.began)
          : { deliveryId: item.msg.deliveryId, drop: item.sub ? "subscription is disabled" : "subscription was deleted" },
    );
    const { results } = await partitionStub(env, first.msg.tenantId, first.msg.partitionKey).beginAttempts(requests);
    group.forEach((item, k) => {
      const r = results[k];
      // A disabled webhook's log shows the drop (recover can send it later); a deleted one has no log.
      if (r && "dropped" in r && item.sub) {
        item.log = { deliveryId: item.msg.deliveryId, ...r.dropped, partitionKey: item.msg.partitionKey, status: "DROPPED" };
      }
      // Not given back: a message for this attempt would be stale; the row's lease sends it again.
      if (item.began && !gaveBack(r)) item.keptBegun = true;
      if (item.deferUntil === undefined) item.message.ack();
    });
  } catch (err) {
    console.error(JSON.stringify({ level: "error", message: "dropping or deferring deliveries failed", error: String(err) }));
    for (const item of group) {
      // An attempt begun here that was not given back keeps its lease: the partition sends the
      // row again (as the next attempt) when it runs out, and a message for this one would be stale.
      if (item.began && item.deferUntil !== undefined) item.keptBegun = true;
      else if (item.deferUntil === undefined) item.message.retry({ delaySeconds: RETRY_DELAY_S });
    }
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
