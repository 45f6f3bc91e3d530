/**
 * The delivery engine under pressure: head-of-line blocking (a slow endpoint must delay only its
 * own deliveries), ordered delivery per partition, the previous sequence on every delivery,
 * throttling and backpressure — all measured at a real receiver.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { partitionStub } from "../../src/objects/partition/client.js";
import { Partition } from "../../src/objects/partition/object.js";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";
import { bucket, received, script, waitFor } from "../helpers/hooks.js";

async function register(apiKey: string, body: Record<string, unknown>): Promise<{ webhookId: string }> {
  const res = await call("/webhooks", { method: "POST", key: apiKey, body: { secret: "engine-test-secret-0123", ...body } });
  if (res.status !== 201) throw new Error(`register failed ${res.status} ${await res.text()}`);
  return json<{ webhookId: string }>(res);
}

async function publish(apiKey: string, body: Record<string, unknown>) {
  const res = await call("/events", { method: "POST", key: apiKey, body: { type: "order.created", data: {}, ...body } });
  expect(res.status).toBe(202);
  return json<{ eventId: string; partitionKey: string; sequence: number }>(res);
}

describe("no head-of-line blocking", () => {
  it("a hanging endpoint delays only its own deliveries, not another tenant's", async () => {
    const slow = await newTenant();
    const fast = await newTenant();
    const slowHook = bucket("slow");
    const fastHook = bucket("fast");
    await script(slowHook.name, { responses: [{ status: 200, delayMs: 6_000 }] });
    await register(slow.apiKey, { url: slowHook.url, events: ["order.*"], retryPolicy: { maxAttempts: 1, timeoutMs: 10_000 } });
    await register(fast.apiKey, { url: fastHook.url, events: ["order.*"] });
    // The slow tenant's deliveries are in flight first; then the fast tenant publishes.
    for (let i = 0; i < 3; i++) await publish(slow.apiKey, { partitionKey: `s-${i}` });
    await vi.waitFor(async () => expect((await received(slowHook.name)).length).toBeGreaterThan(0), { timeout: 5_000, interval: 50 });
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const sent = Date.now();
      await publish(fast.apiKey, { partitionKey: `f-${i}` });
      const got = await waitFor(fastHook.name, i + 1, 5_000);
      latencies.push((got[i]?.at ?? Number.POSITIVE_INFINITY) - sent);
    }
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    // The slow endpoint still gets every delivery (and the test ends only when they are settled).
    await waitFor(slowHook.name, 3, 15_000);
    const slowHooks = await json<{ webhooks: Array<{ webhookId: string }> }>(await call("/webhooks", { key: slow.apiKey }));
    await settled(slow.apiKey, (slowHooks.webhooks[0] as { webhookId: string }).webhookId, 3);
  }, 30_000);
});

type Got = Awaited<ReturnType<typeof received>>[number];
const seqOf = (r: Got) => Number(r.headers["x-event-sequence"]);
const prevOf = (r: Got) => Number(r.headers["x-previous-sequence"]);
const byPartition = (rs: Got[]) => {
  const map = new Map<string, Got[]>();
  for (const r of rs) map.set(r.headers["x-partition-key"] ?? "", [...(map.get(r.headers["x-partition-key"] ?? "") ?? []), r]);
  return map;
};
type LogRow = { status: string; sequence: number; previousSequence: number; partitionKey: string };
/** Every page of a webhook's delivery log, newest first. */
async function fullLog(apiKey: string, id: string): Promise<LogRow[]> {
  const rows: LogRow[] = [];
  let cursor: string | null = "";
  while (cursor !== null) {
    const page: { deliveries: LogRow[]; nextCursor: string | null } = await json(
      await call(`/webhooks/${id}/deliveries${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`, { key: apiKey }),
    );
    rows.push(...page.deliveries);
    cursor = page.nextCursor;
  }
  return rows;
}
/** Waits until at least `n` deliveries of the webhook are settled (and so recorded everywhere). */
const settled = async (apiKey: string, id: string, n: number, timeout = 20_000) =>
  vi.waitFor(
    async () => {
      const log = await fullLog(apiKey, id);
      expect(log.filter((d) => d.status !== "PENDING").length).toBeGreaterThanOrEqual(n);
      return log;
    },
    { timeout, interval: 200 },
  );

describe("ordered delivery per partition", () => {
  it("delivers each partition strictly in sequence, under random latency and failed first attempts", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("ordered");
    // The first request of all fails (a retry follows its 1 s backoff); the rest answer after varying delays.
    const delays = [0, 120, 10, 60, 200, 5, 90, 30, 150, 0, 70, 40, 110, 20, 80, 0, 60];
    await script(hook.name, { responses: [{ status: 500 }, ...delays.map((delayMs) => ({ status: 200, delayMs }))] });
    const created = await register(apiKey, {
      url: hook.url,
      events: ["order.*"],
      ordering: "partition",
      retryPolicy: { maxAttempts: 5, backoffMs: 1000, timeoutMs: 5000 },
    });
    const got = await json<{ ordering: string }>(await call(`/webhooks/${created.webhookId}`, { key: apiKey }));
    expect(got.ordering).toBe("partition");
    const partitions = ["o-a", "o-b", "o-c"];
    for (let i = 0; i < 5; i++) await Promise.all(partitions.map((p) => publish(apiKey, { partitionKey: p })));
    await settled(apiKey, created.webhookId, 15);
    const requests = await received(hook.name);
    expect(requests.length).toBe(16); // 15 events, one of them twice
    for (const [, rs] of byPartition(requests)) {
      const seqs = rs.map(seqOf);
      // Strictly in order; a retry repeats the same sequence before the next one is attempted.
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect([...new Set(seqs)]).toEqual([1, 2, 3, 4, 5]);
      expect(rs.map(prevOf).filter((_, i) => seqs[i] !== seqs[i - 1])).toEqual([0, 1, 2, 3, 4]);
    }
  }, 40_000);

  it("a dead-lettered delivery unblocks its partition, and the next one tells the receiver what it missed", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("ordered-dlq");
    await script(hook.name, { responses: [{ status: 500 }, { status: 200 }] });
    const created = await register(apiKey, {
      url: hook.url,
      ordering: "partition",
      retryPolicy: { maxAttempts: 1, backoffMs: 1000, timeoutMs: 5000 },
    });
    await publish(apiKey, { partitionKey: "dl" });
    await publish(apiKey, { partitionKey: "dl" });
    const log = await settled(apiKey, created.webhookId, 2);
    expect(log.map((d) => [d.sequence, d.status, d.previousSequence])).toEqual([
      [2, "DELIVERED", 1],
      [1, "FAILED", 0],
    ]);
    const requests = await received(hook.name);
    expect(requests.map((r) => [seqOf(r), prevOf(r)])).toEqual([
      [1, 0],
      [2, 1],
    ]);
  }, 20_000);

  it("a failing partition holds back only itself", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("ordered-iso");
    await script(hook.name, { responses: [{ status: 500 }, { status: 200 }] });
    const created = await register(apiKey, {
      url: hook.url,
      ordering: "partition",
      retryPolicy: { maxAttempts: 5, backoffMs: 60_000, timeoutMs: 5000 },
    });
    await publish(apiKey, { partitionKey: "stuck" });
    await publish(apiKey, { partitionKey: "stuck" });
    await waitFor(hook.name, 1);
    for (let i = 0; i < 3; i++) await publish(apiKey, { partitionKey: "free" });
    const requests = await waitFor(hook.name, 4);
    const parts = byPartition(requests);
    expect(parts.get("free")?.map(seqOf)).toEqual([1, 2, 3]);
    // "stuck" waits for its retry (a minute away): its second event was never attempted.
    expect(parts.get("stuck")?.map(seqOf)).toEqual([1]);
    const detail = await json<{ backlog: { pending: number; inFlight: number } }>(
      await call(`/webhooks/${created.webhookId}`, { key: apiKey }),
    );
    expect(detail.backlog.pending).toBe(2);
  }, 20_000);

  it("keeps the order when queue messages are lost (a restart): the partition's rows are the state", async () => {
    const { tenantId, apiKey } = await newTenant();
    const hook = bucket("ordered-restart");
    await register(apiKey, { url: hook.url, ordering: "partition" });
    // Every message the partition sends is lost, as local queues lose theirs when wrangler dev restarts.
    const lost = vi
      .spyOn(Partition.prototype as unknown as { sendToQueue: (m: unknown[]) => Promise<void> }, "sendToQueue")
      .mockResolvedValue(undefined);
    for (let i = 0; i < 4; i++) await publish(apiKey, { partitionKey: "rs" });
    lost.mockRestore();
    const stub = partitionStub(env, tenantId, "rs");
    // Time passes: every lease runs out, and the alarm sends what is due — only the head of the stream.
    for (let round = 0; round < 4; round++) {
      await runInDurableObject(stub, (_o, state) => state.storage.sql.exec("UPDATE deliveries SET lease_until = 0 WHERE blocked = 0"));
      await runDurableObjectAlarm(stub);
      await waitFor(hook.name, round + 1);
    }
    const requests = await waitFor(hook.name, 4);
    expect(requests.map(seqOf)).toEqual([1, 2, 3, 4]);
  }, 30_000);

  it("hands each next delivery of an ordered stream straight to its endpoint: one queue message for the whole stream", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("ordered-handback");
    await register(apiKey, { url: hook.url, ordering: "partition" });
    const sends = vi.spyOn(
      Partition.prototype as unknown as { sendToQueue: (m: Array<{ partitionKey: string }>) => Promise<void> },
      "sendToQueue",
    );
    try {
      for (let i = 0; i < 5; i++) await publish(apiKey, { partitionKey: "handback" });
      const requests = await waitFor(hook.name, 5);
      expect(requests.map(seqOf)).toEqual([1, 2, 3, 4, 5]);
      // Only the head of the stream went through the queue; each settle released the next one to the endpoint.
      const messages = sends.mock.calls.flatMap(([batch]) => batch).filter((m) => m.partitionKey === "handback");
      expect(messages).toHaveLength(1);
    } finally {
      sends.mockRestore();
    }
  }, 20_000);

  it("an ordered stream stops at once when its webhook is disabled (the hand-back reads the subscription as it is now)", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("ordered-disable");
    await script(hook.name, { responses: [{ status: 200, delayMs: 150 }] });
    const created = await register(apiKey, { url: hook.url, ordering: "partition" });
    for (let i = 0; i < 30; i++) await publish(apiKey, { partitionKey: "stop" });
    await waitFor(hook.name, 3);
    const res = await call(`/webhooks/${created.webhookId}`, { method: "PATCH", key: apiKey, body: { status: "DISABLED" } });
    expect(res.status).toBe(200);
    // Within the isolates' 2 s subscription cache (plus the request in flight) the stream stops.
    await new Promise((r) => setTimeout(r, 2_600));
    const atStop = (await received(hook.name)).length;
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await received(hook.name)).length).toBe(atStop);
    expect(atStop).toBeLessThan(30);
  }, 20_000);

  /**
   * An ordered webhook whose first delivery of partition `key` fails (retried after `backoffMs`)
   * while 3 more events wait behind it; then PATCH ordering none.
   */
  async function orderedStuckThenUnordered(name: string, key: string, backoffMs: number) {
    const { apiKey } = await newTenant();
    const hook = bucket(name);
    await script(hook.name, { responses: [{ status: 500 }, { status: 200 }] });
    const created = await register(apiKey, {
      url: hook.url,
      ordering: "partition",
      retryPolicy: { maxAttempts: 5, backoffMs, timeoutMs: 5000 },
    });
    await publish(apiKey, { partitionKey: key });
    await waitFor(hook.name, 1);
    for (let i = 0; i < 3; i++) await publish(apiKey, { partitionKey: key });
    const patched = await call(`/webhooks/${created.webhookId}`, { method: "PATCH", key: apiKey, body: { ordering: "none" } });
    expect(patched.status).toBe(200);
    expect((await json<{ ordering: string }>(patched)).ordering).toBe("none");
    return { apiKey, hook };
  }

  it("PATCH ordering to none releases the waiting deliveries", async () => {
    const { hook } = await orderedStuckThenUnordered("ordered-patch", "pt", 2000);
    // The retry of 1 (after its backoff) finds the subscription unordered: 2–4 go at once.
    const requests = await waitFor(hook.name, 5, 15_000);
    expect(requests.map(seqOf).sort()).toEqual([1, 1, 2, 3, 4]);
  }, 25_000);

  it("after PATCH ordering none, the next new event releases the waiting deliveries while the head is in a long backoff", async () => {
    const { apiKey, hook } = await orderedStuckThenUnordered("ordered-patch-backoff", "pb", 600_000);
    // Past the isolates' 2 s subscription cache, a new event is published unordered; beginning it
    // lets 2–4 go too, though 1 waits ten minutes for its retry.
    await new Promise((r) => setTimeout(r, 2_200));
    await publish(apiKey, { partitionKey: "pb" });
    const requests = await waitFor(hook.name, 5, 10_000);
    expect(requests.map(seqOf).sort()).toEqual([1, 2, 3, 4, 5]);
  }, 25_000);
});

describe("the previous sequence", () => {
  it("names the previous event of the partition routed to this subscription, skipping others' types", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("prev");
    const created = await register(apiKey, { url: hook.url, events: ["order.created"] });
    await publish(apiKey, { partitionKey: "pv", type: "order.created" });
    await publish(apiKey, { partitionKey: "pv", type: "order.shipped" });
    await publish(apiKey, { partitionKey: "pv", type: "order.created" });
    await waitFor(hook.name, 2);
    const requests = (await received(hook.name)).sort((a, b) => seqOf(a) - seqOf(b));
    expect(requests.map((r) => [seqOf(r), prevOf(r)])).toEqual([
      [1, 0],
      [3, 1],
    ]);
    const log = await settled(apiKey, created.webhookId, 2);
    expect(log.map((d) => [d.sequence, d.previousSequence])).toEqual([
      [3, 1],
      [1, 0],
    ]);
  });
});

describe("throttling and backpressure", () => {
  it("never more than perSecond requests in any window at the receiver", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("rate");
    const created = await register(apiKey, { url: hook.url, rateLimit: { perSecond: 20 } });
    const detail = await json<{ rateLimit: unknown }>(await call(`/webhooks/${created.webhookId}`, { key: apiKey }));
    expect(detail.rateLimit).toEqual({ perSecond: 20 });
    const res = await call("/events/batch", {
      method: "POST",
      key: apiKey,
      body: { events: Array.from({ length: 60 }, (_, i) => ({ type: "order.created", data: {}, partitionKey: `r-${i % 7}` })) },
    });
    expect(res.status).toBe(202);
    const requests = await waitFor(hook.name, 60, 15_000);
    const at = requests.map((r) => r.at).sort((a, b) => a - b);
    // 10 % tolerance on time: no 21 requests within 0.9 s.
    for (let i = 0; i + 20 < at.length; i++) expect((at[i + 20] as number) - (at[i] as number)).toBeGreaterThanOrEqual(900);
    // …and the backlog drains near the limit: 60 at 20/s take about 2 s after the first second's 20.
    expect((at.at(-1) as number) - (at[0] as number)).toBeLessThan(4_500);
    await settled(apiKey, created.webhookId, 60);
  }, 30_000);

  it("never more than maxInFlight requests at once", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("inflight");
    await script(hook.name, { responses: [{ status: 200, delayMs: 300 }] });
    const created = await register(apiKey, { url: hook.url, rateLimit: { maxInFlight: 2 } });
    for (let i = 0; i < 6; i++) await publish(apiKey, { partitionKey: `f-${i}` });
    const requests = await waitFor(hook.name, 6, 15_000);
    const at = requests.map((r) => r.at).sort((a, b) => a - b);
    // Each request is answered after 300 ms, so a third one can start only when one finished.
    for (let i = 0; i + 2 < at.length; i++) expect((at[i + 2] as number) - (at[i] as number)).toBeGreaterThanOrEqual(290);
    await settled(apiKey, created.webhookId, 6);
  }, 30_000);

  it("a 429 with Retry-After pauses the whole endpoint, visible as pausedUntil", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("pause");
    await script(hook.name, { responses: [{ status: 429, headers: { "retry-after": "2" } }, { status: 200 }] });
    const created = await register(apiKey, { url: hook.url, retryPolicy: { maxAttempts: 5, backoffMs: 1000, timeoutMs: 5000 } });
    await publish(apiKey, { partitionKey: "z-1" });
    const [first] = await waitFor(hook.name, 1);
    await vi.waitFor(
      async () => {
        const d = await json<{ pausedUntil?: string }>(await call(`/webhooks/${created.webhookId}`, { key: apiKey }));
        expect(Date.parse(d.pausedUntil ?? "")).toBeGreaterThan(Date.now());
      },
      { timeout: 3_000, interval: 50 },
    );
    await publish(apiKey, { partitionKey: "z-2" });
    await publish(apiKey, { partitionKey: "z-3" });
    const requests = await waitFor(hook.name, 4, 15_000);
    // Nothing reached the endpoint during the pause: every later request came at least ~2 s after the 429.
    for (const r of requests.slice(1)) expect(r.at - (first as Got).at).toBeGreaterThanOrEqual(1_900);
    await settled(apiKey, created.webhookId, 3);
  }, 30_000);
});

describe("bad input", () => {
  it("invalid ordering or rateLimit values are 400 problems naming the field", async () => {
    const { apiKey } = await newTenant();
    const url = bucket("bad").url;
    for (const [body, path] of [
      [{ url, ordering: "random" }, "ordering"],
      [{ url, rateLimit: { perSecond: 0 } }, "rateLimit.perSecond"],
      [{ url, rateLimit: { perSecond: 10_001 } }, "rateLimit.perSecond"],
      [{ url, rateLimit: { perSecond: 1.5 } }, "rateLimit.perSecond"],
      [{ url, rateLimit: { maxInFlight: 1001 } }, "rateLimit.maxInFlight"],
      [{ url, rateLimit: { maxInFlight: "2" } }, "rateLimit.maxInFlight"],
      [{ url, rateLimit: {} }, "rateLimit"],
    ] as const) {
      const res = await call("/webhooks", { method: "POST", key: apiKey, body });
      const problem = await expectProblem(res, 400, "VALIDATION_FAILED");
      expect((problem.errors as Array<{ path: string }>).map((e) => e.path)).toContain(path);
    }
    const pull = await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "p", rateLimit: { perSecond: 5 } } });
    await expectProblem(pull, 400, "VALIDATION_FAILED");
  });
});

describe("worker throttling", () => {
  it("a worker's rateLimit holds for task dispatches, and every task still runs", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("wk-rate");
    const res = await call("/workers", {
      method: "POST",
      key: apiKey,
      body: { name: "slow-lane", url: hook.url, taskTypes: ["ship.*"], concurrency: 20, rateLimit: { perSecond: 4 } },
    });
    expect(res.status).toBe(201);
    expect((await json<{ rateLimit: unknown }>(res)).rateLimit).toEqual({ perSecond: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const t = await call("/tasks", { method: "POST", key: apiKey, body: { type: "ship.parcel", data: { i } } });
      expect(t.status).toBe(202);
      ids.push((await json<{ taskId: string }>(t)).taskId);
    }
    const requests = await waitFor(hook.name, 12, 15_000);
    const at = requests.map((r) => r.at).sort((a, b) => a - b);
    for (let i = 0; i + 4 < at.length; i++) expect((at[i + 4] as number) - (at[i] as number)).toBeGreaterThanOrEqual(900);
    await vi.waitFor(
      async () => {
        for (const id of ids)
          expect((await json<{ status: string }>(await call(`/tasks/${id}`, { key: apiKey }))).status).toBe("SUCCEEDED");
      },
      { timeout: 10_000, interval: 200 },
    );
  }, 30_000);
});
