/**
 * Pull subscriptions through the worker: leases, acks, nacks with delay, extend, redelivery after
 * an expired lease, dead-lettering after maxAttempts, long polling, ordering, and the delivery log.
 */
import { describe, expect, it } from "vitest";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";
import { sleep } from "../helpers/hooks.js";

type Message = {
  ackId: string;
  deliveryId: string;
  attempt: number;
  event: { id: string; type: string; data: Record<string, unknown>; partitionKey: string; sequence: number; previousSequence: number };
};

async function pullSub(apiKey: string, body: Record<string, unknown> = {}) {
  const res = await call("/subscriptions", {
    method: "POST",
    key: apiKey,
    body: { name: `pull-${crypto.randomUUID().slice(0, 8)}`, ...body },
  });
  expect(res.status).toBe(201);
  return json<{ id: string }>(res);
}

async function publish(apiKey: string, body: Record<string, unknown> = {}) {
  const res = await call("/events", { method: "POST", key: apiKey, body: { type: "order.created", data: {}, ...body } });
  expect(res.status).toBe(202);
  return json<{ eventId: string; sequence: number; partitionKey: string }>(res);
}

const pull = async (apiKey: string, id: string, body: Record<string, unknown> = {}) => {
  const res = await call(`/subscriptions/${id}/pull`, { method: "POST", key: apiKey, body });
  expect(res.status).toBe(200);
  return (await json<{ messages: Message[] }>(res)).messages;
};

/** Pulls until `n` messages came back (deliveries reach the mailbox through the queue). */
async function pullN(apiKey: string, id: string, n: number, body: Record<string, unknown> = {}): Promise<Message[]> {
  const got: Message[] = [];
  const until = Date.now() + 10_000;
  while (got.length < n && Date.now() < until) got.push(...(await pull(apiKey, id, { waitSeconds: 2, ...body })));
  return got;
}

const post = (apiKey: string, id: string, verb: string, body: unknown) =>
  call(`/subscriptions/${id}/${verb}`, { method: "POST", key: apiKey, body });

describe("pull subscriptions", () => {
  it("pull leases messages; ack settles them once; an ack of an unknown id is not counted", async () => {
    const { apiKey } = await newTenant();
    const sub = await pullSub(apiKey, { events: ["order.*"] });
    const a = await publish(apiKey, { partitionKey: "pa", data: { n: 1 } });
    await publish(apiKey, { partitionKey: "pa", type: "user.created" });
    const b = await publish(apiKey, { partitionKey: "pa", data: { n: 2 } });
    const messages = await pullN(apiKey, sub.id, 2);
    expect(messages.map((m) => [m.event.id, m.event.sequence, m.event.previousSequence, m.attempt])).toEqual([
      [a.eventId, 1, 0, 1],
      [b.eventId, 3, 1, 1],
    ]);
    expect(messages[0]?.event.data).toEqual({ n: 1 });
    // Leased: a second pull returns nothing.
    expect(await pull(apiKey, sub.id)).toEqual([]);
    const acked = await json<{ acked: number }>(
      await post(apiKey, sub.id, "ack", { ackIds: [...messages.map((m) => m.ackId), "ack_unknown"] }),
    );
    expect(acked.acked).toBe(2);
    expect((await json<{ acked: number }>(await post(apiKey, sub.id, "ack", { ackIds: messages.map((m) => m.ackId) }))).acked).toBe(0);
    const log = await json<{ deliveries: Array<{ status: string; sequence: number }> }>(
      await call(`/subscriptions/${sub.id}/deliveries`, { key: apiKey }),
    );
    expect(log.deliveries.map((d) => [d.sequence, d.status]).sort()).toEqual([
      [1, "DELIVERED"],
      [3, "DELIVERED"],
    ]);
    const event = await json<{ deliveries: Array<{ status: string }> }>(
      await call(`/events/${a.eventId}?partitionKey=pa`, { key: apiKey }),
    );
    expect(event.deliveries).toMatchObject([{ status: "DELIVERED" }]);
  });

  it("concurrent pulls hand a message to one of them only, and it stays ackable (no pull drops another's lease)", async () => {
    const { apiKey } = await newTenant();
    const sub = await pullSub(apiKey, { events: ["order.*"] });
    for (let n = 0; n < 5; n++) await publish(apiKey, { partitionKey: `race-${n}` });
    // Wait until all five are in the mailbox, then give them back at once for the race.
    const first = await pullN(apiKey, sub.id, 5, { visibilityTimeoutSeconds: 60 });
    expect(first).toHaveLength(5);
    expect((await json<{ nacked: number }>(await post(apiKey, sub.id, "nack", { ackIds: first.map((m) => m.ackId) }))).nacked).toBe(5);
    const pulls = await Promise.all(
      Array.from({ length: 4 }, () => pull(apiKey, sub.id, { maxMessages: 5, visibilityTimeoutSeconds: 60 })),
    );
    const got = pulls.flat();
    expect(got.map((m) => m.deliveryId).sort()).toEqual(first.map((m) => m.deliveryId).sort());
    const acked = await json<{ acked: number }>(await post(apiKey, sub.id, "ack", { ackIds: got.map((m) => m.ackId) }));
    expect(acked.acked).toBe(5);
  });

  it("an expired lease makes the message visible again with attempt + 1, the same deliveryId, and a dead ackId", async () => {
    const { apiKey } = await newTenant();
    const sub = await pullSub(apiKey);
    await publish(apiKey, { partitionKey: "pe" });
    const [first] = await pullN(apiKey, sub.id, 1, { visibilityTimeoutSeconds: 1 });
    await sleep(1_100);
    const [again] = await pull(apiKey, sub.id);
    expect(again).toMatchObject({ deliveryId: first?.deliveryId, attempt: 2 });
    expect(again?.ackId).not.toBe(first?.ackId);
    // The first lease's ackId acks nothing; the second's acks it.
    expect((await json<{ acked: number }>(await post(apiKey, sub.id, "ack", { ackIds: [first?.ackId] }))).acked).toBe(0);
    expect((await json<{ acked: number }>(await post(apiKey, sub.id, "ack", { ackIds: [again?.ackId] }))).acked).toBe(1);
  });

  it("nack with a delay hides the message until then; after maxAttempts it is dead-lettered", async () => {
    const { apiKey } = await newTenant();
    const sub = await pullSub(apiKey, { retryPolicy: { maxAttempts: 2 } });
    await publish(apiKey, { partitionKey: "pn" });
    const [m1] = await pullN(apiKey, sub.id, 1);
    expect((await json<{ nacked: number }>(await post(apiKey, sub.id, "nack", { ackIds: [m1?.ackId], delaySeconds: 1 }))).nacked).toBe(1);
    expect(await pull(apiKey, sub.id)).toEqual([]);
    const started = Date.now();
    const [m2] = await pull(apiKey, sub.id, { waitSeconds: 5 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(m2).toMatchObject({ deliveryId: m1?.deliveryId, attempt: 2 });
    await post(apiKey, sub.id, "nack", { ackIds: [m2?.ackId] });
    expect(await pull(apiKey, sub.id)).toEqual([]);
    const log = await json<{ deliveries: Array<{ status: string; attempts: Array<{ attempt: number; error?: string }> }> }>(
      await call(`/subscriptions/${sub.id}/deliveries?status=FAILED`, { key: apiKey }),
    );
    expect(log.deliveries).toMatchObject([{ status: "FAILED" }]);
    expect(log.deliveries[0]?.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    // Redelivery gives it a fresh budget.
    const redo = await call(`/subscriptions/${sub.id}/deliveries/${m1?.deliveryId}/redeliver`, { method: "POST", key: apiKey });
    expect(redo.status).toBe(202);
    const [m3] = await pullN(apiKey, sub.id, 1);
    expect(m3).toMatchObject({ deliveryId: m1?.deliveryId, attempt: 3 });
  });

  it("extend keeps a lease past its first timeout", async () => {
    const { apiKey } = await newTenant();
    const sub = await pullSub(apiKey);
    await publish(apiKey, { partitionKey: "px" });
    const [m] = await pullN(apiKey, sub.id, 1, { visibilityTimeoutSeconds: 1 });
    expect(
      (await json<{ extended: number }>(await post(apiKey, sub.id, "extend", { ackIds: [m?.ackId], visibilityTimeoutSeconds: 30 })))
        .extended,
    ).toBe(1);
    await sleep(1_200);
    expect(await pull(apiKey, sub.id)).toEqual([]);
    expect((await json<{ acked: number }>(await post(apiKey, sub.id, "ack", { ackIds: [m?.ackId] }))).acked).toBe(1);
  });

  it("a long poll answers as soon as a message arrives, and empty at the end of its wait", async () => {
    const { apiKey } = await newTenant();
    const sub = await pullSub(apiKey);
    let started = Date.now();
    expect(await pull(apiKey, sub.id, { waitSeconds: 1 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    started = Date.now();
    const [messages] = await Promise.all([
      pull(apiKey, sub.id, { waitSeconds: 10 }),
      sleep(300).then(() => publish(apiKey, { partitionKey: "pl" })),
    ]);
    expect(messages).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("ordering: a partition's next message is not handed out while an earlier one is leased or waiting", async () => {
    const { apiKey } = await newTenant();
    const sub = await pullSub(apiKey, { ordering: "partition" });
    for (let i = 0; i < 3; i++) await publish(apiKey, { partitionKey: "po" });
    await publish(apiKey, { partitionKey: "pq" });
    const first = await pullN(apiKey, sub.id, 2, { maxMessages: 10 });
    expect(first.map((m) => [m.event.partitionKey, m.event.sequence]).sort()).toEqual([
      ["po", 1],
      ["pq", 1],
    ]);
    const po = first.find((m) => m.event.partitionKey === "po");
    await post(apiKey, sub.id, "nack", { ackIds: [po?.ackId], delaySeconds: 0 });
    const [retry] = await pullN(apiKey, sub.id, 1);
    expect([retry?.event.partitionKey, retry?.event.sequence, retry?.attempt]).toEqual(["po", 1, 2]);
    await post(apiKey, sub.id, "ack", { ackIds: [retry?.ackId] });
    const [next] = await pullN(apiKey, sub.id, 1);
    expect([next?.event.partitionKey, next?.event.sequence, next?.event.previousSequence]).toEqual(["po", 2, 1]);
  });

  it("bad input: pull on a push subscription is 409; bad bodies are 400; another tenant's id is 404", async () => {
    const { apiKey } = await newTenant();
    const other = await newTenant();
    const push = await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "push", url: "http://127.0.0.1:9/x" } });
    const pushId = (await json<{ id: string }>(push)).id;
    await expectProblem(await post(apiKey, pushId, "pull", {}), 409, "CONFLICT");
    const sub = await pullSub(apiKey);
    await expectProblem(await post(apiKey, sub.id, "pull", { maxMessages: 0 }), 400, "VALIDATION_FAILED");
    await expectProblem(await post(apiKey, sub.id, "pull", { waitSeconds: 21 }), 400, "VALIDATION_FAILED");
    await expectProblem(await post(apiKey, sub.id, "ack", { ackIds: [] }), 400, "VALIDATION_FAILED");
    await expectProblem(await post(apiKey, sub.id, "extend", { ackIds: ["a"] }), 400, "VALIDATION_FAILED");
    await expectProblem(await post(other.apiKey, sub.id, "pull", {}), 404, "NOT_FOUND");
    // An empty body pulls with the defaults.
    const empty = await call(`/subscriptions/${sub.id}/pull`, { method: "POST", key: apiKey });
    expect(empty.status).toBe(200);
  });
});
