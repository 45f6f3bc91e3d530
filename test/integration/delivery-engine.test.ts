/**
 * The delivery engine under pressure: head-of-line blocking (a slow endpoint must delay only its
 * own deliveries), ordered delivery per partition, the previous sequence on every delivery,
 * throttling and backpressure — all measured at a real receiver.
 */
import { describe, expect, it, vi } from "vitest";
import { call, json, newTenant } from "../helpers/api.js";
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
    // The slow endpoint still gets every delivery.
    await waitFor(slowHook.name, 3, 15_000);
  }, 30_000);
});
