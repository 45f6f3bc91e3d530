/**
 * Durable Object SQLite binds at most 100 values per statement: lists of ids are split. A full
 * queue chunk (100 deliveries) still gets its lease, and an ack of 1,000 ids works.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { partitionStub } from "../../src/objects/partition/client.js";
import { call, json, newTenant } from "../helpers/api.js";
import { bucket } from "../helpers/hooks.js";

describe("statements over long id lists", () => {
  it("a chunk of 100 deliveries handed to the queue gets the full lease (no 'too many SQL variables')", async () => {
    const { tenantId, apiKey } = await newTenant();
    const warn = vi.spyOn(console, "warn");
    await call("/webhooks", { method: "POST", key: apiKey, body: { url: bucket("sql").url, secret: "sql-limit-secret-0123" } });
    const res = await call("/events/batch", {
      method: "POST",
      key: apiKey,
      body: { events: Array.from({ length: 100 }, () => ({ type: "a.b", data: {}, partitionKey: "many" })) },
    });
    expect(res.status).toBe(202);
    const leases = await runInDurableObject(partitionStub(env, tenantId, "many"), (_o, state) =>
      state.storage.sql.exec<{ lease_until: number; created_at: number }>("SELECT lease_until, created_at FROM deliveries").toArray(),
    );
    expect(leases).toHaveLength(100);
    // The full lease (30 s locally), not the 5 s hand-off lease of a row the queue never took.
    for (const l of leases) expect(l.lease_until - l.created_at).toBeGreaterThanOrEqual(25_000);
    expect(warn.mock.calls.flat().join(" ")).not.toContain("sendBatch failed");
    warn.mockRestore();
  });

  it("an ack of 1,000 ids counts the valid ones", async () => {
    const { apiKey } = await newTenant();
    const sub = await json<{ id: string }>(await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "many-acks" } }));
    await call("/events/batch", {
      method: "POST",
      key: apiKey,
      body: { events: Array.from({ length: 3 }, (_, i) => ({ type: "a.b", data: {}, partitionKey: `m-${i}` })) },
    });
    const ackIds: string[] = [];
    await vi.waitFor(
      async () => {
        const got = await json<{ messages: Array<{ ackId: string }> }>(
          await call(`/subscriptions/${sub.id}/pull`, { method: "POST", key: apiKey, body: { waitSeconds: 1 } }),
        );
        ackIds.push(...got.messages.map((m) => m.ackId));
        expect(ackIds).toHaveLength(3);
      },
      { timeout: 10_000 },
    );
    const padded = [...Array.from({ length: 997 }, (_, i) => `ack_missing_${i}`), ...ackIds];
    const res = await call(`/subscriptions/${sub.id}/ack`, { method: "POST", key: apiKey, body: { ackIds: padded } });
    expect(await json(res)).toEqual({ acked: 3 });
  });
});
