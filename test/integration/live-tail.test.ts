/** The live tail: GET /partitions/:key/stream pushes each appended event over a WebSocket. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { partitionStub } from "../../src/objects/partition/client.js";
import type { Partition } from "../../src/objects/partition/object.js";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";

type Frame = { type: string; partition?: string; lastSequence?: number; event?: Record<string, unknown> };

/** Opens a tail (the upgrade response's client end) and collects its frames. */
async function open(path: string, key: string | null) {
  const res = await call(path, { key, headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (!ws) throw new Error("no WebSocket in the 101 response");
  const frames: Frame[] = [];
  ws.addEventListener("message", (m) => {
    frames.push(JSON.parse(String(m.data)) as Frame);
  });
  ws.accept();
  return { ws, frames };
}

async function publish(apiKey: string, partitionKey: string, data: unknown) {
  const res = await call("/events", { method: "POST", key: apiKey, body: { type: "order.created", partitionKey, data } });
  expect(res.status).toBe(202);
  return json<{ eventId: string; sequence: number }>(res);
}

describe("live tail", () => {
  it("greets with the last sequence, then pushes each new event of its partition only, in order", async () => {
    const { apiKey } = await newTenant();
    await publish(apiKey, "tail-1", { n: 0 });
    const { ws, frames } = await open("/partitions/tail-1/stream", apiKey);
    await vi.waitFor(() => expect(frames[0]).toEqual({ type: "ready", partition: "tail-1", lastSequence: 1 }));
    await publish(apiKey, "tail-2", { other: true });
    const a = await publish(apiKey, "tail-1", { n: 1 });
    const batch = await call("/events/batch", {
      method: "POST",
      key: apiKey,
      body: { events: [2, 3].map((n) => ({ type: "order.created", partitionKey: "tail-1", data: { n } })) },
    });
    expect(batch.status).toBe(202);
    await vi.waitFor(() => expect(frames).toHaveLength(4));
    const events = frames.slice(1);
    expect(events.every((f) => f.type === "event")).toBe(true);
    expect(events.map((f) => f.event?.sequence)).toEqual([2, 3, 4]);
    expect(events.map((f) => f.event?.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(events[0]?.event).toMatchObject({ id: a.eventId, type: "order.created", partitionKey: "tail-1" });
    // A retried publish (same id) appends nothing, so nothing is pushed.
    await call("/events", {
      method: "POST",
      key: apiKey,
      body: { id: a.eventId, type: "order.created", partitionKey: "tail-1", data: {} },
    });
    await publish(apiKey, "tail-1", { n: 4 });
    await vi.waitFor(() => expect(frames).toHaveLength(5));
    expect(frames[4]?.event?.sequence).toBe(5);
    ws.send("ping");
    await vi.waitFor(() => expect(frames.at(-1)).toEqual({ type: "pong" }));
    ws.close(1000, "done");
  });

  it("a tail opened after every earlier one closed, and after publishes nobody watched, gets the next events", async () => {
    const { tenantId, apiKey } = await newTenant();
    const stub = partitionStub(env, tenantId, "tail-again");
    const sockets = () => runInDurableObject(stub, (_o: Partition, state) => state.getWebSockets().length);
    // Whether the partition still looks for tails on a publish (live-tail.ts).
    const looks = () => runInDurableObject(stub, (o: Partition) => (o as unknown as { tail: { mayHaveTails: boolean } }).tail.mayHaveTails);
    const first = await open("/partitions/tail-again/stream", apiKey);
    await vi.waitFor(() => expect(first.frames[0]).toMatchObject({ type: "ready", lastSequence: 0 }));
    first.ws.close(1000, "done");
    await vi.waitFor(async () => expect(await sockets()).toBe(0));
    // Published with no tail open: the partition stops looking for tails until one is accepted.
    await publish(apiKey, "tail-again", { n: 1 });
    await publish(apiKey, "tail-again", { n: 2 });
    expect(await looks()).toBe(false);
    const second = await open("/partitions/tail-again/stream", apiKey);
    await vi.waitFor(() => expect(second.frames[0]).toMatchObject({ type: "ready", lastSequence: 2 }));
    await publish(apiKey, "tail-again", { n: 3 });
    await vi.waitFor(() => expect(second.frames).toHaveLength(2));
    expect(second.frames[1]?.event).toMatchObject({ sequence: 3, data: { n: 3 } });
    second.ws.close(1000, "done");
  });

  it("opens with a single-use stream token (for browsers) and refuses it a second time", async () => {
    const { apiKey } = await newTenant();
    const res = await call("/partitions/tok-1/stream-tokens", { method: "POST", key: apiKey });
    expect(res.status).toBe(201);
    const t = await json<{ token: string; expiresAt: string; streamUrl: string }>(res);
    expect(t.streamUrl).toBe(`/partitions/tok-1/stream?token=${t.token}`);
    expect(Date.parse(t.expiresAt) - Date.now()).toBeGreaterThan(50_000);
    const { ws, frames } = await open(t.streamUrl, null);
    await publish(apiKey, "tok-1", { hello: 1 });
    await vi.waitFor(() => expect(frames.map((f) => f.type)).toEqual(["ready", "event"]));
    ws.close(1000, "done");
    await expectProblem(await call(t.streamUrl, { key: null, headers: { upgrade: "websocket" } }), 401, "INVALID_API_KEY");
  });

  it("refuses without credentials, with another partition's or tenant's token, without the events:read scope, and without an upgrade", async () => {
    const { apiKey, tenantId } = await newTenant();
    const other = await newTenant();
    await expectProblem(await call("/partitions/p/stream", { key: null, headers: { upgrade: "websocket" } }), 401, "MISSING_API_KEY");
    await expectProblem(
      await call("/partitions/p/stream?token=nonsense", { key: null, headers: { upgrade: "websocket" } }),
      401,
      "INVALID_API_KEY",
    );
    const t = await json<{ token: string }>(await call("/partitions/p/stream-tokens", { method: "POST", key: apiKey }));
    // The token is signed for its tenant and partition: another partition, or another tenant
    // written into it, is refused by the worker before any partition is asked.
    await expectProblem(
      await call(`/partitions/q/stream?token=${t.token}`, { key: null, headers: { upgrade: "websocket" } }),
      401,
      "INVALID_API_KEY",
    );
    const forged = t.token.replace(`ebt_${tenantId}_`, `ebt_${other.tenantId}_`);
    expect(forged).not.toBe(t.token);
    await expectProblem(
      await call(`/partitions/p/stream?token=${forged}`, { key: null, headers: { upgrade: "websocket" } }),
      401,
      "INVALID_API_KEY",
    );
    const writer = await json<{ apiKey: string }>(
      await call("/tenants/keys", { method: "POST", key: apiKey, body: { name: "writer", scopes: ["events:publish"] } }),
    );
    await expectProblem(
      await call("/partitions/p/stream", { key: writer.apiKey, headers: { upgrade: "websocket" } }),
      403,
      "INSUFFICIENT_SCOPE",
    );
    await expectProblem(await call("/partitions/p/stream-tokens", { method: "POST", key: writer.apiKey }), 403, "INSUFFICIENT_SCOPE");
    const plain = await call("/partitions/p/stream", { key: apiKey });
    await expectProblem(plain, 426, "UPGRADE_REQUIRED");
  });

  it("another tenant's tail of the same partition key sees none of this tenant's events", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const tail = await open("/partitions/shared-key/stream", b.apiKey);
    await publish(a.apiKey, "shared-key", { secret: true });
    await publish(b.apiKey, "shared-key", { mine: true });
    await vi.waitFor(() => expect(tail.frames.map((f) => f.type)).toEqual(["ready", "event"]));
    expect(tail.frames[1]?.event?.data).toEqual({ mine: true });
    tail.ws.close(1000, "done");
  });

  it("holds at most 100 tails per partition (429), and a refused browser keeps its token for the retry", async () => {
    const { apiKey } = await newTenant();
    const tails = [];
    for (let i = 0; i < 100; i++) tails.push(await open("/partitions/full/stream", apiKey));
    await expectProblem(await call("/partitions/full/stream", { key: apiKey, headers: { upgrade: "websocket" } }), 429, "RATE_LIMITED");
    const t = await json<{ streamUrl: string }>(await call("/partitions/full/stream-tokens", { method: "POST", key: apiKey }));
    await expectProblem(await call(t.streamUrl, { key: null, headers: { upgrade: "websocket" } }), 429, "RATE_LIMITED");
    tails.pop()?.ws.close(1000, "make room");
    await vi.waitFor(async () => {
      const res = await call(t.streamUrl, { key: null, headers: { upgrade: "websocket" } });
      expect(res.status).toBe(101);
      res.webSocket?.accept();
      res.webSocket?.close(1000, "done");
    });
    for (const tail of tails) tail.ws.close(1000, "done");
  }, 30_000);
});
