import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Partition } from "../../src/objects/partition/object.js";
import type { DeliveryMessage } from "../../src/schemas/messages.js";
import { call, json, newTenant } from "../helpers/api.js";
import { bucket, received, script, waitFor } from "../helpers/hooks.js";

type SendToQueue = (messages: DeliveryMessage[]) => Promise<void>;
/** sendToQueue is the Partition's one call to the queue; tests replace it to simulate failures. */
const sendSpy = () => vi.spyOn(Partition.prototype as unknown as { sendToQueue: SendToQueue }, "sendToQueue");

afterEach(() => vi.restoreAllMocks());

async function setup(retryPolicy?: Record<string, number>) {
  const tenant = await newTenant();
  const hook = bucket();
  const res = await call("/subscriptions", {
    method: "POST",
    key: tenant.apiKey,
    body: { name: "receiver", events: ["order.#"], url: hook.url, ...(retryPolicy ? { retryPolicy } : {}) },
  });
  expect(res.status).toBe(201);
  const sub = await json<{ id: string; secret: string }>(res);
  return { ...tenant, hook, sub };
}

async function publish(apiKey: string, partitionKey: string, id = `evt-${Math.random().toString(36).slice(2)}`) {
  const res = await call("/events", {
    method: "POST",
    key: apiKey,
    body: { id, type: "order.created", data: { orderId: "o-1" }, partitionKey },
  });
  expect(res.status).toBe(202);
  return json<{ eventId: string; sequence: number }>(res);
}

/** Makes the Partition's `append` (one event's writes) throw right after it has written. */
function failAfterAppend(message: string) {
  type Append = (...args: unknown[]) => unknown;
  const proto = Partition.prototype as unknown as { append: Append };
  const append = proto.append;
  return vi.spyOn(proto, "append").mockImplementation(function (this: unknown, ...args: unknown[]) {
    append.apply(this, args);
    throw new Error(message);
  });
}

const partition = (tenantId: string, key: string) => env.PARTITION.get(env.PARTITION.idFromName(`${tenantId}/${key}`));

/** Moves every pending row's lease into the past, as if the lease had run out. */
async function expireLeases(tenantId: string, key: string) {
  await runInDurableObject(partition(tenantId, key), (_i, state) => {
    state.storage.sql.exec("UPDATE deliveries SET lease_until = 0 WHERE status = 'PENDING'");
  });
}

async function deliveryStatus(apiKey: string, eventId: string, key: string) {
  const ev = await json<{ deliveries: Array<{ status: string; attempts: number }> }>(
    await call(`/events/${eventId}?partitionKey=${key}`, { key: apiKey }),
  );
  return ev.deliveries;
}

describe("delivery through the outbox", () => {
  it("delivers a signed event that the reference library verifies", async () => {
    const { apiKey, hook, sub } = await setup();
    const { eventId, sequence } = await publish(apiKey, "order-456");
    const [got] = await waitFor(hook.name, 1);
    if (!got) throw new Error("nothing received");
    expect(got.headers).toMatchObject({
      "content-type": "application/json",
      "x-event-type": "order.created",
      "x-event-id": eventId,
      "webhook-id": eventId,
      "x-event-sequence": String(sequence),
      "x-partition-key": "order-456",
      "x-delivery-attempt": "1",
    });
    const verified = new Webhook(sub.secret).verify(got.body, got.headers) as { event: Record<string, unknown> };
    expect(verified.event).toMatchObject({
      id: eventId,
      type: "order.created",
      partitionKey: "order-456",
      sequence,
      data: { orderId: "o-1" },
    });
    await vi.waitFor(async () =>
      expect(await deliveryStatus(apiKey, eventId, "order-456")).toMatchObject([{ status: "DELIVERED", attempts: 1 }]),
    );
  });

  it("delivers a row whose sendBatch failed, from the alarm", async () => {
    const { tenantId, apiKey, hook } = await setup();
    const send = sendSpy().mockRejectedValueOnce(new Error("queue unavailable"));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const { eventId } = await publish(apiKey, "p-fail");
    expect(send).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("delivery sendBatch failed; the alarm will re-send"));
    expect(await received(hook.name)).toHaveLength(0);
    expect(await deliveryStatus(apiKey, eventId, "p-fail")).toMatchObject([{ status: "PENDING", attempts: 0 }]);
    // Within the hand-off lease the alarm hands nothing to the queue.
    expect(await runDurableObjectAlarm(partition(tenantId, "p-fail"))).toBe(true);
    expect(send).toHaveBeenCalledTimes(1);

    await expireLeases(tenantId, "p-fail");
    expect(await runDurableObjectAlarm(partition(tenantId, "p-fail"))).toBe(true);
    const [got] = await waitFor(hook.name, 1);
    expect(got?.headers["x-event-id"]).toBe(eventId);
  });

  it("delivers a row whose queue message was lost after sendBatch, once its lease runs out", async () => {
    const { tenantId, apiKey, hook } = await setup();
    const send = sendSpy().mockResolvedValueOnce(undefined); // "sent", but the message never arrives
    const { eventId } = await publish(apiKey, "p-lost");
    // Within the lease the alarm sends nothing: the message may still be in flight.
    expect(await runDurableObjectAlarm(partition(tenantId, "p-lost"))).toBe(true);
    expect(send).toHaveBeenCalledTimes(1);
    expect(await received(hook.name)).toHaveLength(0);

    await expireLeases(tenantId, "p-lost");
    await runDurableObjectAlarm(partition(tenantId, "p-lost"));
    const got = await waitFor(hook.name, 1);
    expect(got.map((r) => r.headers["x-event-id"])).toEqual([eventId]);
    await vi.waitFor(async () => expect(await deliveryStatus(apiKey, eventId, "p-lost")).toMatchObject([{ status: "DELIVERED" }]));
  });

  it("never re-sends a row in backoff, and retries with the same webhook-id", async () => {
    const { tenantId, apiKey, hook } = await setup({ maxAttempts: 3, backoffMs: 2000, timeoutMs: 5000 });
    await script(hook.name, { responses: [{ status: 500 }, { status: 200 }] });
    const { eventId } = await publish(apiKey, "p-backoff");
    await waitFor(hook.name, 1);
    await vi.waitFor(async () =>
      expect(await deliveryStatus(apiKey, eventId, "p-backoff")).toMatchObject([{ status: "PENDING", attempts: 1 }]),
    );
    // The retry is already a delayed queue message: the alarm hands nothing more to the queue.
    const send = sendSpy();
    await runDurableObjectAlarm(partition(tenantId, "p-backoff"));
    expect(send).not.toHaveBeenCalled();
    expect(await received(hook.name)).toHaveLength(1);

    const both = await waitFor(hook.name, 2, 8000);
    expect(both.map((r) => r.headers["webhook-id"])).toEqual([eventId, eventId]);
    expect(both.map((r) => r.headers["x-delivery-attempt"])).toEqual(["1", "2"]);
    expect((both[1]?.at ?? 0) - (both[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    await vi.waitFor(async () =>
      expect(await deliveryStatus(apiKey, eventId, "p-backoff")).toMatchObject([{ status: "DELIVERED", attempts: 2 }]),
    );
  });

  it("keeps sequence and previous sequence exact after a publish whose transaction rolled back", async () => {
    const { apiKey, hook } = await setup();
    const first = await publish(apiKey, "p-rollback");
    // The next publish fails after its rows were written: the transaction rolls them back.
    const spy = failAfterAppend("simulated storage failure");
    const failed = await call("/events", {
      method: "POST",
      key: apiKey,
      body: { id: "evt-rolled-back", type: "order.created", data: {}, partitionKey: "p-rollback" },
    });
    expect(failed.status).toBe(500);
    spy.mockRestore();
    const third = await publish(apiKey, "p-rollback");
    expect(third.sequence).toBe(first.sequence + 1);
    const got = await waitFor(hook.name, 2);
    const headers = got.map((g) => g.headers).find((h) => h["x-event-id"] === third.eventId);
    expect(headers?.["x-previous-sequence"]).toBe(String(first.sequence));
    expect(got.some((g) => g.headers["x-event-id"] === "evt-rolled-back")).toBe(false);
  });

  it("keeps numbering after an event nothing matched failed once stored (its retry is a duplicate)", async () => {
    const { apiKey } = await newTenant();
    const first = await publish(apiKey, "p-single");
    // One INSERT, no transaction: the event is stored, then the call fails before it answers.
    const spy = failAfterAppend("simulated failure after the insert");
    const body = { id: "evt-stored", type: "order.created", data: {}, partitionKey: "p-single" };
    expect((await call("/events", { method: "POST", key: apiKey, body })).status).toBe(500);
    spy.mockRestore();
    const retried = await json<{ sequence: number; duplicate?: boolean }>(await call("/events", { method: "POST", key: apiKey, body }));
    expect(retried).toMatchObject({ sequence: first.sequence + 1, duplicate: true });
    const next = await publish(apiKey, "p-single");
    expect(next.sequence).toBe(first.sequence + 2);
  });

  it("prunes events past retention, except those with deliveries still pending", async () => {
    const { tenantId, apiKey, hook } = await setup();
    await script(hook.name, { responses: [{ status: 500 }] });
    sendSpy().mockResolvedValueOnce(undefined); // the first event's delivery stays pending
    const pending = await publish(apiKey, "p-retention");
    // A pull subscription to other types: the second event has no delivery at all.
    await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "pull-only", events: ["billing.#"] } });
    const plain = await call("/events", {
      method: "POST",
      key: apiKey,
      body: { type: "audit.logged", data: {}, partitionKey: "p-retention" },
    });
    const settled = await json<{ eventId: string; sequence: number }>(plain);
    // Both events are eight days old now.
    await runInDurableObject(partition(tenantId, "p-retention"), (_i, state) => {
      state.storage.sql.exec("UPDATE events SET created_at = ?", Date.now() - 8 * 86_400_000);
    });
    await runDurableObjectAlarm(partition(tenantId, "p-retention"));
    const log = await json<{ events: Array<{ id: string }> }>(await call("/partitions/p-retention/events", { key: apiKey }));
    expect(log.events.map((e) => e.id)).toEqual([pending.eventId]);
    expect((await call(`/events/${settled.eventId}?partitionKey=p-retention`, { key: apiKey })).status).toBe(404);
    // The sequence never restarts after pruning.
    const next = await json<{ sequence: number }>(
      await call("/events", { method: "POST", key: apiKey, body: { type: "audit.logged", data: {}, partitionKey: "p-retention" } }),
    );
    expect(next.sequence).toBe(settled.sequence + 1);
  });
});
