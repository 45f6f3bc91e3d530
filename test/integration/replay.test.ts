/** Replays to push and pull subscriptions, their progress and cancellation, and the partition directory. */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { ADMIN, call, expectProblem, json, newTenant } from "../helpers/api.js";
import { bucket, waitFor } from "../helpers/hooks.js";

type State = { replayId: string; status: string; partitionsScanned: number; eventsScanned: number; deliveriesCreated: number };

async function publish(apiKey: string, body: Record<string, unknown>) {
  const res = await call("/events", { method: "POST", key: apiKey, body: { data: {}, ...body } });
  expect(res.status).toBe(202);
  return json<{ eventId: string; sequence: number }>(res);
}

const finished = (apiKey: string, id: string) =>
  vi.waitFor(
    async () => {
      const s = await json<State>(await call(`/replays/${id}`, { key: apiKey }));
      expect(s.status).toBe("COMPLETED");
      return s;
    },
    { timeout: 15_000, interval: 100 },
  );

describe("replay", () => {
  it("a webhook created later receives the earlier matching events again, with X-Replay-Id and the same ids", async () => {
    const { apiKey } = await newTenant();
    const since = new Date(Date.now() - 1_000).toISOString();
    const a = await publish(apiKey, { type: "order.created", partitionKey: "r-1" });
    await publish(apiKey, { type: "user.created", partitionKey: "r-1" });
    const b = await publish(apiKey, { type: "order.created", partitionKey: "r-2" });
    const hook = bucket("replay");
    const created = await json<{ webhookId: string }>(
      await call("/webhooks", {
        method: "POST",
        key: apiKey,
        body: { url: hook.url, events: ["order.*"], secret: "replay-secret-012345" },
      }),
    );
    // The directory learns of partitions without holding up publishes: wait until both are listed.
    await vi.waitFor(async () => {
      const page = await json<{ partitions: Array<{ partitionKey: string; lastSequence: number }> }>(
        await call("/partitions", { key: apiKey }),
      );
      // Registered at the first event; later figures are refreshed lazily (within about a minute).
      expect(page.partitions.map((p) => [p.partitionKey, p.lastSequence >= 1])).toEqual([
        ["r-1", true],
        ["r-2", true],
      ]);
    });
    const started = await call(`/subscriptions/${created.webhookId}/replay`, { method: "POST", key: apiKey, body: { since } });
    expect(started.status).toBe(202);
    const state = await json<State>(started);
    expect(state).toMatchObject({ status: "RUNNING" });
    expect(state.replayId).toMatch(/^rpl_/);
    const done = await finished(apiKey, state.replayId);
    expect(done).toMatchObject({ partitionsScanned: 2, eventsScanned: 3, deliveriesCreated: 2 });
    const got = await waitFor(hook.name, 2);
    expect(got.map((r) => r.headers["x-event-id"]).sort()).toEqual([a.eventId, b.eventId].sort());
    expect(got.every((r) => r.headers["x-replay-id"] === state.replayId)).toBe(true);
  });

  it("a partition and sequence range, to a pull subscription; cancel; and bad input", async () => {
    const { apiKey } = await newTenant();
    const other = await newTenant();
    for (let i = 0; i < 5; i++) await publish(apiKey, { type: "a.b", partitionKey: "rr" });
    const sub = await json<{ id: string }>(await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "late-puller" } }));
    const res = await call(`/subscriptions/${sub.id}/replay`, {
      method: "POST",
      key: apiKey,
      body: { since: "2020-01-01T00:00:00Z", partitionKey: "rr", fromSequence: 2, toSequence: 4 },
    });
    const state = await json<State>(res);
    await finished(apiKey, state.replayId);
    const messages: Array<{ replayId?: string; event: { sequence: number } }> = [];
    await vi.waitFor(
      async () => {
        const page = await json<{ messages: typeof messages }>(
          await call(`/subscriptions/${sub.id}/pull`, { method: "POST", key: apiKey, body: { waitSeconds: 1 } }),
        );
        messages.push(...page.messages);
        expect(messages).toHaveLength(3);
      },
      { timeout: 10_000 },
    );
    expect(messages.map((m) => m.event.sequence).sort()).toEqual([2, 3, 4]);
    expect(messages.every((m) => m.replayId === state.replayId)).toBe(true);
    // Cancelling a finished replay leaves it as it ended; another tenant cannot see it.
    expect((await json<State>(await call(`/replays/${state.replayId}`, { method: "DELETE", key: apiKey }))).status).toBe("COMPLETED");
    await expectProblem(await call(`/replays/${state.replayId}`, { key: other.apiKey }), 404, "NOT_FOUND");
    await expectProblem(
      await call(`/subscriptions/${sub.id}/replay`, {
        method: "POST",
        key: apiKey,
        body: { since: "2020-01-01T00:00:00Z", fromSequence: 2 },
      }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(await call(`/subscriptions/${sub.id}/replay`, { method: "POST", key: apiKey, body: {} }), 400, "VALIDATION_FAILED");
    await expectProblem(await call("/replays/rpl_doesnotexist", { key: apiKey }), 404, "NOT_FOUND");
  });

  it("is paced: it creates at most REPLAY_DELIVERIES_PER_SECOND deliveries per second (200 in the tests)", async () => {
    const { apiKey, tenantId } = await newTenant();
    const limits = { publishPerSecond: 100_000 };
    expect((await call(`/tenants/${tenantId}`, { method: "PATCH", key: ADMIN, body: { limits } })).status).toBe(200);
    for (let b = 0; b < 4; b++) {
      const events = Array.from({ length: 100 }, () => ({ type: "a.b", partitionKey: "paced", data: {} }));
      expect((await call("/events/batch", { method: "POST", key: apiKey, body: { events } })).status).toBe(202);
    }
    const sub = await json<{ id: string }>(await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "paced" } }));
    const body = { since: "2020-01-01T00:00:00Z", partitionKey: "paced" };
    const started = await json<State>(await call(`/subscriptions/${sub.id}/replay`, { method: "POST", key: apiKey, body }));
    const done = (await finished(apiKey, started.replayId)) as State & { startedAt: string; finishedAt: string };
    expect(done).toMatchObject({ eventsScanned: 400, deliveriesCreated: 400 });
    // Each step waits until its deliveries fit the rate, so the replay cannot finish sooner.
    const floorMs = (400 * 1000) / Number(env.REPLAY_DELIVERIES_PER_SECOND);
    expect(floorMs).toBe(2000);
    expect(Date.parse(done.finishedAt) - Date.parse(done.startedAt)).toBeGreaterThanOrEqual(floorMs);
  });

  it("walks every partition of the directory to the end (no step leaves the replay without a next alarm)", async () => {
    const { apiKey, tenantId } = await newTenant();
    const limits = { publishPerSecond: 100_000 };
    expect((await call(`/tenants/${tenantId}`, { method: "PATCH", key: ADMIN, body: { limits } })).status).toBe(200);
    const partitions = 30;
    const events = Array.from({ length: partitions * 3 }, (_, i) => ({ type: "a.b", partitionKey: `walk-${i % partitions}`, data: {} }));
    expect((await call("/events/batch", { method: "POST", key: apiKey, body: { events } })).status).toBe(202);
    await vi.waitFor(async () => {
      const page = await json<{ partitions: unknown[] }>(await call(`/partitions?limit=100`, { key: apiKey }));
      expect(page.partitions).toHaveLength(partitions);
    });
    const sub = await json<{ id: string }>(await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "walk" } }));
    const body = { since: "2020-01-01T00:00:00Z" };
    const started = await json<State>(await call(`/subscriptions/${sub.id}/replay`, { method: "POST", key: apiKey, body }));
    const done = await finished(apiKey, started.replayId);
    expect(done).toMatchObject({ partitionsScanned: partitions, eventsScanned: partitions * 3, deliveriesCreated: partitions * 3 });
  });
});
