/**
 * Unit tests of the Deliveries queue consumer and of what the endpoint's sender does with what it
 * hands over: the worker's own `queue` handler is called with a batch built by
 * `createMessageBatch`, and `getQueueResult` tells what happened to each message. The rows are
 * real (a publish writes them into a real Partition object) and the receiver is the real HTTP
 * one, but the Partition's own queue send is stubbed out, so the only consumer that sees a first
 * message is the one each test calls. Deferred messages the consumer re-queues go to a recording
 * DELIVERIES binding. The requests themselves run in the Endpoint object (so a slow receiver
 * never holds up a batch): their outcomes are awaited on the partition row.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index.js";
import { endpointStub } from "../../src/objects/endpoint/client.js";
import { partitionStub } from "../../src/objects/partition/client.js";
import { Partition } from "../../src/objects/partition/object.js";
import type { DeliveryMessage } from "../../src/schemas/messages.js";
import { call, json, newTenant } from "../helpers/api.js";
import { bucket, received, script } from "../helpers/hooks.js";
import type { Script } from "../helpers/receiver.js";

type SendToQueue = (messages: DeliveryMessage[]) => Promise<void>;
type Retried = { body: DeliveryMessage; delaySeconds?: number; contentType?: string };

afterEach(() => vi.restoreAllMocks());

/** A tenant, a subscription to a fresh receiver bucket, and one published event whose delivery row is PENDING. */
async function pending(opts: { retryPolicy?: Record<string, number>; answers?: Script } = {}) {
  // The row is written, but its message never reaches the real queue: the test is the consumer.
  vi.spyOn(Partition.prototype as unknown as { sendToQueue: SendToQueue }, "sendToQueue").mockResolvedValue(undefined);
  const { tenantId, apiKey } = await newTenant();
  const hook = bucket("dc");
  if (opts.answers) await script(hook.name, opts.answers);
  const res = await call("/subscriptions", {
    method: "POST",
    key: apiKey,
    body: { name: "receiver", events: ["order.#"], url: hook.url, ...(opts.retryPolicy ? { retryPolicy: opts.retryPolicy } : {}) },
  });
  expect(res.status).toBe(201);
  const sub = await json<{ id: string }>(res);
  const partitionKey = `p-${crypto.randomUUID()}`;
  const published = await call("/events", { method: "POST", key: apiKey, body: { type: "order.created", data: {}, partitionKey } });
  expect(published.status).toBe(202);
  const { eventId } = await json<{ eventId: string }>(published);
  const row = async () => {
    const found = await partitionStub(env, tenantId, partitionKey).getEvent(eventId);
    return found?.deliveries[0];
  };
  const first = await row();
  if (!first) throw new Error("no delivery row was written");
  const message: DeliveryMessage = {
    kind: "delivery",
    tenantId,
    partitionKey,
    deliveryId: first.deliveryId,
    subscriptionId: sub.id,
    attempt: 1,
  };
  return { tenantId, apiKey, hook, sub, eventId, message, row };
}

/** Runs one batch through the worker's queue handler with a DELIVERIES binding that records retries. */
async function consume(bodies: unknown[], overrides: Partial<Env> = {}, queue = "edgebus-deliveries") {
  const sent: Retried[] = [];
  const deliveries = { sendBatch: async (batch: Iterable<Retried>) => void sent.push(...batch) };
  const testEnv = { ...env, DELIVERIES: deliveries as unknown as Queue, ...overrides };
  const batch = createMessageBatch<unknown>(
    queue,
    bodies.map((body, i) => ({ id: `msg-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const retried = batch.messages.map((m) => vi.spyOn(m, "retry"));
  const ctx = createExecutionContext();
  await worker.queue(batch, testEnv, ctx);
  const result = await getQueueResult(batch, ctx);
  return { result, sent, retried };
}

/** A binding whose objects refuse every call, as platform trouble would (an overloaded or resetting object). */
function refusing<B extends "PARTITION" | "ENDPOINT">(binding: B): Env[B] {
  const refuse = () => Promise.reject(new Error("storage unavailable"));
  return {
    idFromName: (name: string) => env[binding].idFromName(name),
    get: () => ({ beginAttempts: refuse, recordAttempts: refuse, deliver: refuse, record: refuse }),
  } as unknown as Env[B];
}

/** The row once the endpoint's sender has recorded its outcome. */
const settledRow = (row: () => Promise<unknown>, expected: Record<string, unknown>) =>
  vi.waitFor(async () => expect(await row()).toMatchObject(expected), { timeout: 8_000, interval: 50 });

const logOf = async (apiKey: string, subId: string) =>
  json<{ deliveries: Array<{ status: string; attempts: Array<{ attempt: number; statusCode?: number; error?: string }> }> }>(
    await call(`/webhooks/${subId}/deliveries`, { key: apiKey }),
  );

describe("deliveries consumer: acks", () => {
  it("a 2xx answer: acked, DELIVERED, logged, and nothing re-queued", async () => {
    const { apiKey, hook, sub, eventId, message, row } = await pending();
    const { result, sent } = await consume([message]);
    expect(result).toMatchObject({ explicitAcks: ["msg-0"], retryMessages: [], ackAll: false, retryBatch: { retry: false } });
    expect(sent).toEqual([]);
    await settledRow(row, { status: "DELIVERED", attempts: 1, previousSequence: 0 });
    const got = await received(hook.name);
    expect(got.map((r) => [r.headers["x-event-id"], r.headers["x-delivery-attempt"], r.headers["x-previous-sequence"]])).toEqual([
      [eventId, "1", "0"],
    ]);
    expect((await logOf(apiKey, sub.id)).deliveries).toMatchObject([{ status: "DELIVERED", attempts: [{ attempt: 1, statusCode: 200 }] }]);
  });

  it("a malformed body: acked and dropped, with an error log and no request", async () => {
    const { hook } = await pending();
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { result, sent } = await consume([{ kind: "delivery", deliveryId: 42 }, "not even an object"]);
    expect(result.explicitAcks).toEqual(["msg-0", "msg-1"]);
    expect(result.retryMessages).toEqual([]);
    expect(sent).toEqual([]);
    expect(error.mock.calls.map((c) => JSON.parse(String(c[0])))).toEqual([
      { level: "error", message: "malformed delivery message dropped", id: "msg-0" },
      { level: "error", message: "malformed delivery message dropped", id: "msg-1" },
    ]);
    expect(await received(hook.name)).toEqual([]);
  });

  it("an unknown delivery, a settled one and an attempt already started: acked as stale, nothing sent", async () => {
    const { hook, message, row } = await pending();
    await consume([message]);
    await settledRow(row, { status: "DELIVERED", attempts: 1 });
    const unknown = { ...message, deliveryId: "dlv_unknown" };
    const { result, sent } = await consume([unknown, message, { ...message, attempt: 1 }]);
    expect(result.explicitAcks).toEqual(["msg-0", "msg-1", "msg-2"]);
    expect(result.retryMessages).toEqual([]);
    expect(sent).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(hook.name)).toHaveLength(1);

    // Still pending, but attempt 1 was started already (its message came twice): only one POST.
    const other = await pending({
      answers: { responses: [{ status: 500 }] },
      retryPolicy: { maxAttempts: 3, backoffMs: 60_000, timeoutMs: 5000 },
    });
    await consume([other.message]);
    await settledRow(other.row, { status: "PENDING", attempts: 1, lastError: "receiver answered 500" });
    const again = await consume([other.message]);
    expect(again.result.explicitAcks).toEqual(["msg-0"]);
    expect(again.sent).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(other.hook.name)).toHaveLength(1);
    expect(await other.row()).toMatchObject({ status: "PENDING", attempts: 1 });
  });

  it("a disabled subscription: acked, DROPPED and shown in its log, nothing sent", async () => {
    const { apiKey, hook, sub, message, row } = await pending();
    const off = await call(`/subscriptions/${sub.id}`, { method: "PATCH", key: apiKey, body: { status: "DISABLED" } });
    expect(off.status).toBe(200);
    const { result, sent } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(sent).toEqual([]);
    expect(await received(hook.name)).toEqual([]);
    expect(await row()).toMatchObject({ status: "DROPPED", lastError: "subscription is disabled" });
    expect((await logOf(apiKey, sub.id)).deliveries).toMatchObject([{ status: "DROPPED", attempts: [] }]);
  });

  it("a deleted subscription: acked and DROPPED, nothing sent", async () => {
    const { apiKey, hook, sub, message, row } = await pending();
    expect((await call(`/subscriptions/${sub.id}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    const { result, sent } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(sent).toEqual([]);
    expect(await received(hook.name)).toEqual([]);
    expect(await row()).toMatchObject({ status: "DROPPED", lastError: "subscription was deleted" });
  });

  it("a 410 Gone: acked, DROPPED, and the webhook is disabled", async () => {
    const { apiKey, sub, message, row } = await pending({ answers: { responses: [{ status: 410 }] } });
    const { result, sent } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(sent).toEqual([]);
    await settledRow(row, { status: "DROPPED", lastError: "receiver answered 410" });
    await vi.waitFor(async () =>
      expect((await json<{ status: string }>(await call(`/subscriptions/${sub.id}`, { key: apiKey }))).status).toBe("DISABLED"),
    );
    const after = await json(await call(`/subscriptions/${sub.id}`, { key: apiKey }));
    expect(after).toMatchObject({ status: "DISABLED", disabledReason: "the receiver answered 410 Gone" });
  });

  it("a failure on the last attempt: acked and FAILED, nothing re-queued", async () => {
    const { message, row } = await pending({
      answers: { responses: [{ status: 500 }] },
      retryPolicy: { maxAttempts: 1, backoffMs: 1000, timeoutMs: 5000 },
    });
    const { result, sent } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(sent).toEqual([]);
    await settledRow(row, { status: "FAILED", attempts: 1, lastError: "receiver answered 500" });
  });
});

describe("deliveries consumer: retries", () => {
  it("a 5xx with attempts left: acked, and the row waits for its next attempt with the backoff", async () => {
    const { message, row } = await pending({
      answers: { responses: [{ status: 500 }] },
      retryPolicy: { maxAttempts: 3, backoffMs: 60_000, timeoutMs: 5000 },
    });
    const { result, sent, retried } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(retried[0]).not.toHaveBeenCalled();
    expect(sent).toEqual([]);
    await settledRow(row, { status: "PENDING", attempts: 1, lastError: "receiver answered 500" });
    // backoffMs 60 000 × 2^0 with ±20 % jitter.
    const wait = Date.parse(((await row()) as { nextAttemptAt: string }).nextAttemptAt) - Date.now();
    expect(wait).toBeGreaterThan(40_000);
    expect(wait).toBeLessThanOrEqual(73_000);
  });

  it("a 503 with Retry-After: the next attempt then, and the whole endpoint paused until then", async () => {
    const { apiKey, sub, message, row } = await pending({
      answers: { responses: [{ status: 503, headers: { "retry-after": "7" } }] },
      retryPolicy: { maxAttempts: 3, backoffMs: 1000, timeoutMs: 5000 },
    });
    const { result } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    await settledRow(row, { status: "PENDING", attempts: 1, nextAttemptAt: expect.any(String) });
    const wait = Date.parse(((await row()) as { nextAttemptAt: string }).nextAttemptAt) - Date.now();
    expect(wait).toBeGreaterThan(5_000);
    expect(wait).toBeLessThanOrEqual(7_000);
    const hook = await json<{ pausedUntil?: string }>(await call(`/webhooks/${sub.id}`, { key: apiKey }));
    expect(Date.parse(hook.pausedUntil ?? "") - Date.now()).toBeGreaterThan(5_000);
  });

  it("a delay past the queue's 12 h: not re-queued; the row waits for the partition's alarm", async () => {
    const { message, row } = await pending({
      answers: { responses: [{ status: 503, headers: { "retry-after": "86400" } }] },
      retryPolicy: { maxAttempts: 3, backoffMs: 1000, timeoutMs: 5000 },
    });
    const { result, sent } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(sent).toEqual([]);
    await settledRow(row, { status: "PENDING", attempts: 1, nextAttemptAt: expect.any(String) });
    expect(Date.parse(((await row()) as { nextAttemptAt: string }).nextAttemptAt) - Date.now()).toBeGreaterThan(86_000_000);
  });

  it("an endpoint that cannot take the batch: nothing sent; the attempt begun for it stays begun and its lease sends it again", async () => {
    const { hook, message, row } = await pending();
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { result, sent } = await consume([message], { ENDPOINT: refusing("ENDPOINT") });
    // The call may have run and sent it: giving the attempt back could send it twice.
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(result.retryMessages).toEqual([]);
    expect(sent).toEqual([]);
    expect(await received(hook.name)).toEqual([]);
    expect(await row()).toMatchObject({ status: "PENDING", attempts: 1 });
    expect(error).toHaveBeenCalledWith(expect.stringContaining("handing deliveries to the endpoint failed"));
  });

  it("an endpoint that cannot take a throttled webhook's batch: each message retried after 5 s, no attempt used", async () => {
    const { apiKey, hook, sub, message, row } = await pending();
    const patched = await call(`/subscriptions/${sub.id}`, { method: "PATCH", key: apiKey, body: { rateLimit: { perSecond: 10 } } });
    expect(patched.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_100)); // the subscription cache sees the PATCH
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { result, sent, retried } = await consume([message], { ENDPOINT: refusing("ENDPOINT") });
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "msg-0" }]);
    expect(retried[0]).toHaveBeenCalledWith({ delaySeconds: 5 });
    expect(sent).toEqual([]);
    expect(await received(hook.name)).toEqual([]);
    expect(await row()).toMatchObject({ status: "PENDING", attempts: 0 });
    expect(error).toHaveBeenCalledWith(expect.stringContaining("handing deliveries to the endpoint failed"));
  });

  it("a partition that cannot drop a dead subscription's row: retried after 5 s", async () => {
    const { apiKey, sub, message } = await pending();
    expect((await call(`/subscriptions/${sub.id}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { result, retried } = await consume([message], { PARTITION: refusing("PARTITION") });
    expect(result.retryMessages).toEqual([{ msgId: "msg-0" }]);
    expect(retried[0]).toHaveBeenCalledWith({ delaySeconds: 5 });
    expect(error).toHaveBeenCalledWith(expect.stringContaining("dropping or deferring deliveries failed"));
  });

  it("a delivery the endpoint's gate refuses: acked, no attempt used, re-queued for when a slot frees", async () => {
    const { tenantId, sub, message, row } = await pending();
    // A paused endpoint admits nothing until the pause ends.
    await endpointStub(env, tenantId, sub.id).pause(Date.now() + 4_000);
    const { result, sent } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ body: { deliveryId: message.deliveryId, attempt: 1 }, contentType: "json" });
    expect(sent[0]?.delaySeconds).toBeGreaterThanOrEqual(3);
    expect(sent[0]?.delaySeconds).toBeLessThanOrEqual(4);
    expect(await row()).toMatchObject({ status: "PENDING", attempts: 0 });
  });
});

describe("attempts begun by the consumer", () => {
  it("two copies of one message in a batch: the attempt is begun once, one request", async () => {
    const { hook, message, row } = await pending();
    const { result, sent } = await consume([message, { ...message }]);
    expect(result.explicitAcks).toEqual(["msg-0", "msg-1"]);
    expect(sent).toEqual([]);
    await settledRow(row, { status: "DELIVERED", attempts: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(hook.name)).toHaveLength(1);
  });

  it("an attempt is given back only while the lease it was begun with runs (after that the alarm may have sent the row again)", async () => {
    const { tenantId, message, row } = await pending();
    const partition = partitionStub(env, tenantId, message.partitionKey);
    const { results } = await partition.beginAttempts([{ deliveryId: message.deliveryId, attempt: 1, inFlightMs: 5_000, ordered: false }]);
    const began = results[0] && "began" in results[0] ? results[0].began : undefined;
    if (!began) throw new Error("attempt 1 did not begin");
    const giveBack = (leaseUntil: number) =>
      partition.beginAttempts([{ deliveryId: message.deliveryId, deferUntil: Date.now(), unbegin: { attempt: 1, leaseUntil } }]);
    expect((await giveBack(Date.now() - 1)).results).toEqual([{ deferred: true }]);
    expect(await row()).toMatchObject({ status: "PENDING", attempts: 1 });
    expect((await giveBack(began.leaseUntil)).results).toEqual([{ deferred: true, unbegun: true }]);
    expect(await row()).toMatchObject({ status: "PENDING", attempts: 0 });
  });

  it("a delivery that has to wait at its endpoint (in-flight cap) gives its attempt back while it waits, then goes as attempt 1", async () => {
    const { tenantId, apiKey, hook, sub, message, row } = await pending({
      answers: { responses: [{ status: 200, delayMs: 1_500 }, { status: 200 }] },
    });
    const patched = await call(`/subscriptions/${sub.id}`, { method: "PATCH", key: apiKey, body: { rateLimit: { maxInFlight: 1 } } });
    expect(patched.status).toBe(200);
    // A second event of the same partition: its row, its message.
    const published = await call("/events", {
      method: "POST",
      key: apiKey,
      body: { type: "order.created", data: {}, partitionKey: message.partitionKey },
    });
    const { eventId } = await json<{ eventId: string }>(published);
    const secondRow = async () => (await partitionStub(env, tenantId, message.partitionKey).getEvent(eventId))?.deliveries[0];
    const second = { ...message, deliveryId: ((await secondRow()) as { deliveryId: string }).deliveryId };
    await new Promise((r) => setTimeout(r, 2_100)); // the subscription cache sees the PATCH
    const { result, sent } = await consume([message, second]);
    expect(result.explicitAcks).toEqual(["msg-0", "msg-1"]);
    expect(sent).toEqual([]);
    // The first is at the receiver for 1.5 s; the second waits for its slot with no attempt begun.
    await vi.waitFor(async () => expect(await row()).toMatchObject({ attempts: 1 }));
    await vi.waitFor(async () => expect(await secondRow()).toMatchObject({ status: "PENDING", attempts: 0 }));
    await settledRow(secondRow, { status: "DELIVERED", attempts: 1 });
    await settledRow(row, { status: "DELIVERED", attempts: 1 });
    const got = await received(hook.name);
    expect(got.map((r) => r.headers["x-delivery-attempt"])).toEqual(["1", "1"]);
  });
});

describe("queue dispatch", () => {
  it("a batch from a queue without a consumer (a dead-letter queue) is retried after a minute", async () => {
    const { message, hook } = await pending();
    const { result, retried } = await consume([message], {}, "edgebus-deliveries-dlq");
    expect(result.retryMessages).toEqual([{ msgId: "msg-0" }]);
    expect(retried[0]).toHaveBeenCalledWith({ delaySeconds: 60 });
    expect(await received(hook.name)).toEqual([]);
  });
});
