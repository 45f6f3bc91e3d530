/**
 * Durable Object SQLite binds at most 100 values per statement: lists of ids are split. A full
 * queue chunk (100 deliveries) still gets its lease, outcomes of 150 deliveries are all written
 * back, and an ack of 1,000 ids works.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { ACKED_BY_IDS, MAILBOX_MIGRATIONS } from "../../src/objects/endpoint/mailbox.js";
import { partitionStub } from "../../src/objects/partition/client.js";
import type { Partition } from "../../src/objects/partition/object.js";
import { BY_IDS } from "../../src/objects/partition/sql.js";
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

  it("writes back outcomes of 150 deliveries in one call, alike ones together, late ones ignored", async () => {
    const stub = partitionStub(env, `t-${crypto.randomUUID()}`, "outcomes");
    await runInDurableObject(stub, async (object: Partition, state) => {
      const now = Date.now();
      for (let i = 0; i < 150; i++) {
        state.storage.sql.exec(
          `INSERT INTO deliveries (id, event_id, seq, subscription_id, subscription_name, status, attempts, lease_until, created_at, updated_at)
           VALUES (?, ?, ?, 'sub_1', 'one', 'PENDING', 1, ?, ?, ?)`,
          `dlv_${i}`,
          `evt_${i}`,
          i + 1,
          now + 3_600_000,
          now,
          now,
        );
      }
      const outcome = (i: number) =>
        i < 120
          ? { attempt: 1, durationMs: 5, statusCode: 204, settle: "DELIVERED" as const }
          : i < 140
            ? { attempt: 1, durationMs: 5, statusCode: 500, error: "receiver answered 500", retryInSeconds: 60 }
            : // A late outcome of an earlier attempt than the row's: it changes nothing.
              { attempt: 0, durationMs: 5, statusCode: 204, settle: "DELIVERED" as const };
      const { backlog } = await object.recordAttempts(
        Array.from({ length: 150 }, (_, i) => ({ deliveryId: `dlv_${i}`, outcome: outcome(i) })),
      );
      const rows = state.storage.sql
        .exec<{ id: string; status: string; next_attempt_at: number | null; last_error: string | null }>(
          "SELECT id, status, next_attempt_at, last_error FROM deliveries",
        )
        .toArray();
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (let i = 0; i < 150; i++) {
        const row = byId.get(`dlv_${i}`);
        if (i < 120) expect(row).toMatchObject({ status: "DELIVERED", next_attempt_at: null });
        else if (i < 140) {
          expect(row).toMatchObject({ status: "PENDING", last_error: "receiver answered 500" });
          expect(row?.next_attempt_at).toBeGreaterThanOrEqual(now + 60_000);
        } else expect(row).toMatchObject({ status: "PENDING", next_attempt_at: null, last_error: null });
      }
      expect(backlog).toEqual([{ subscriptionId: "sub_1", pending: 30, oldestAt: now }]);
    });
  });

  it("looks the ids up by key in every statement over a list of ids, whatever its length", async () => {
    await runInDurableObject(partitionStub(env, `t-${crypto.randomUUID()}`, "plans"), (_o, state) => {
      const sql = state.storage.sql;
      // The Endpoint object's mailbox table, created in this scratch partition only to read plans.
      for (const statement of MAILBOX_MIGRATIONS) sql.exec(statement);
      const plan = (text: string) =>
        sql
          .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, ...Array.from(text.match(/\?/g) ?? [], () => 1))
          .toArray()
          .map((r) => r.detail)
          .join("; ");
      for (const n of [1, 3, 10, 94]) {
        const marks = Array.from({ length: n }, () => "?").join(",");
        for (const [name, build] of Object.entries(BY_IDS)) {
          expect(plan(build(marks)), `${name}, ${n} ids`).toBe("SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 (id=?)");
        }
        expect(plan(ACKED_BY_IDS(marks)), `acks, ${n} ids`).toBe("SEARCH mailbox USING INDEX mailbox_ack (ack_id=?)");
      }
    });
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
