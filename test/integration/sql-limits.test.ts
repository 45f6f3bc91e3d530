/**
 * Durable Object SQLite binds at most 100 values per statement: lists of ids are split. A full
 * queue chunk (100 deliveries) still gets its lease, outcomes of 150 deliveries are all written
 * back, 150 attempts are begun in one call, an ack of 1,000 ids works, and the delivery log takes
 * a batch's entries (each attempt once).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { settings } from "../../src/config.js";
import { endpointStub } from "../../src/objects/endpoint/client.js";
import type { LogEntry } from "../../src/objects/endpoint/log.js";
import { ACKED_BY_IDS, MAILBOX_MIGRATIONS } from "../../src/objects/endpoint/mailbox.js";
import type { Endpoint } from "../../src/objects/endpoint/object.js";
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

  it("begins 150 attempts in one call, each request seeing the ones before it", async () => {
    const stub = partitionStub(env, `t-${crypto.randomUUID()}`, "begins");
    await runInDurableObject(stub, async (object: Partition, state) => {
      const sql = state.storage.sql;
      const { leaseMs } = settings(env);
      const before = Date.now() - 1000;
      const row = (i: number, sub: string, { attempts = 0, lease = before + 61_000, blocked = 0, event = true } = {}) => {
        if (event)
          sql.exec(
            "INSERT INTO events (seq, id, body, result, created_at) VALUES (?, ?, ?, '{}', ?)",
            i + 1,
            `evt_${i}`,
            `{"i":${i}}`,
            before,
          );
        sql.exec(
          `INSERT INTO deliveries (id, event_id, seq, subscription_id, subscription_name, status, attempts, lease_until, created_at, updated_at, ordered, blocked)
           VALUES (?, ?, ?, ?, 'one', 'PENDING', ?, ?, ?, ?, ?, ?)`,
          `dlv_${i}`,
          `evt_${i}`,
          i + 1,
          sub,
          attempts,
          lease,
          before,
          before,
          sub === "sub_2" ? 1 : 0,
          blocked,
        );
      };
      for (let i = 0; i < 150; i++) row(i, "sub_1", { attempts: i >= 130 && i < 135 ? 1 : 0, event: i !== 140 });
      // An ordered subscription: row 200's event was pruned, row 201 waits behind it.
      row(200, "sub_2", { event: false });
      row(201, "sub_2", { blocked: 1, lease: Number.MAX_SAFE_INTEGER });
      const begin = (i: number, inFlightMs = 1000, attempt = 1) => ({ deliveryId: `dlv_${i}`, attempt, inFlightMs, ordered: i >= 200 });
      const requests = [
        // 0–119 begin with a 1 s timeout (one lease, written in two slices), 120–129 with 2 s.
        ...Array.from({ length: 130 }, (_, i) => begin(i, i < 120 ? 1000 : 2000)),
        // A second copy of a message begun above: stale.
        begin(7),
        // 130–134: attempt 1 begun elsewhere, throttled and given back; 135–139: deferred only.
        ...Array.from({ length: 5 }, (_, i) => ({
          deliveryId: `dlv_${130 + i}`,
          deferUntil: before + 90_000,
          unbegin: { attempt: 1, leaseUntil: before + 61_000 },
        })),
        ...Array.from({ length: 5 }, (_, i) => ({ deliveryId: `dlv_${135 + i}`, deferUntil: before + 2000 })),
        // The event was pruned: dropped.
        begin(140),
        // Begun, then dropped in the same call; begun, then throttled and given back.
        begin(141),
        { deliveryId: "dlv_141", drop: "subscription is disabled" },
        begin(142),
        { deliveryId: "dlv_142", deferUntil: before + 2000, unbegin: { attempt: 1, leaseUntil: Number.MAX_SAFE_INTEGER } },
        { deliveryId: "dlv_nope", attempt: 1, inFlightMs: 1000, ordered: false },
        // Dropping 200 releases 201, which then begins.
        begin(200),
        begin(201),
      ];
      const { results } = await object.beginAttempts(requests);
      const at = (n: number) => results[n];
      const leaseOf = (n: number) => (at(n) as { began: { leaseUntil: number } }).began.leaseUntil;
      for (let i = 0; i < 130; i++)
        expect(at(i), `request ${i}`).toMatchObject({ began: { event: { body: `{"i":${i}}`, sequence: i + 1 }, attempt: 1 } });
      expect(leaseOf(125) - leaseOf(5)).toBe(1000);
      expect(at(130)).toEqual({ stale: true });
      for (let k = 131; k < 136; k++) expect(at(k), `request ${k}`).toEqual({ deferred: true, unbegun: true });
      for (let k = 136; k < 141; k++) expect(at(k), `request ${k}`).toEqual({ deferred: true });
      expect(at(141)).toEqual({ dropped: { eventId: "evt_140", sequence: 141, previousSequence: 0 } });
      expect(at(142)).toMatchObject({ began: { attempt: 1 } });
      expect(at(143)).toEqual({ dropped: { eventId: "evt_141", sequence: 142, previousSequence: 0 } });
      expect(at(145)).toEqual({ deferred: true, unbegun: true });
      expect(at(146)).toEqual({ stale: true });
      expect(at(147)).toEqual({ dropped: { eventId: "evt_200", sequence: 201, previousSequence: 0 } });
      expect(at(148)).toMatchObject({ began: { attempt: 1, event: { sequence: 202 } } });
      expect(results).toHaveLength(requests.length);

      type Row = { status: string; attempts: number; lease_until: number; updated_at: number; blocked: number };
      const rows = new Map(
        sql
          .exec<Row & { id: string }>("SELECT id, status, attempts, lease_until, updated_at, blocked FROM deliveries")
          .toArray()
          .map((r) => [r.id, r]),
      );
      const rowOf = (i: number) => rows.get(`dlv_${i}`) as Row;
      for (let i = 0; i < 130; i++) expect(rowOf(i), `row ${i}`).toMatchObject({ status: "PENDING", attempts: 1, lease_until: leaseOf(i) });
      for (let i = 0; i < 130; i++) expect(rowOf(i).updated_at, `row ${i}`).toBeGreaterThan(before);
      for (let i = 130; i < 135; i++) expect(rowOf(i), `row ${i}`).toMatchObject({ attempts: 0, lease_until: before + 90_000 + leaseMs });
      // Deferred until before the lease ran out: the lease stands.
      for (let i = 135; i < 140; i++) expect(rowOf(i), `row ${i}`).toMatchObject({ attempts: 0, lease_until: before + 61_000 });
      expect(rowOf(140)).toMatchObject({ status: "DROPPED", attempts: 0 });
      expect(rowOf(141)).toMatchObject({ status: "DROPPED", attempts: 1, lease_until: leaseOf(142) });
      expect(rowOf(142)).toMatchObject({ status: "PENDING", attempts: 0 });
      for (let i = 143; i < 150; i++)
        expect(rowOf(i), `row ${i}`).toMatchObject({ attempts: 0, lease_until: before + 61_000, updated_at: before });
      expect(rowOf(200)).toMatchObject({ status: "DROPPED" });
      expect(rowOf(201)).toMatchObject({ status: "PENDING", blocked: 0, attempts: 1, lease_until: leaseOf(148) });
    });
  });

  it("writes 30 log entries in one call: new rows, each attempt added once, the same delivery twice in order", async () => {
    const stub = endpointStub(env, `t-${crypto.randomUUID()}`, "sub_log");
    await runInDurableObject(stub, async (object: Endpoint, state) => {
      const at = Date.now() - 5000;
      const entry = (i: number, status: LogEntry["status"], attempt?: number): LogEntry => ({
        deliveryId: `dlv_${i}`,
        eventId: `evt_${i}`,
        partitionKey: "p",
        sequence: i + 1,
        previousSequence: i,
        status,
        ...(attempt !== undefined ? { attempt: { attempt, statusCode: attempt === 1 ? 500 : 204, durationMs: 3, at: at + attempt } } : {}),
      });
      // 0–19 failed their first attempt earlier.
      await object.record(
        "t",
        "sub_log",
        Array.from({ length: 20 }, (_, i) => entry(i, "PENDING", 1)),
        false,
      );
      await object.record(
        "t",
        "sub_log",
        [
          // 0–9: the second attempt delivered; 10–14: attempt 1 reported again (kept once).
          ...Array.from({ length: 10 }, (_, i) => entry(i, "DELIVERED", 2)),
          ...Array.from({ length: 5 }, (_, i) => entry(10 + i, "PENDING", 1)),
          // 15: dropped, no attempt; 20–29: new, delivered at once.
          entry(15, "DROPPED"),
          ...Array.from({ length: 10 }, (_, i) => entry(20 + i, "DELIVERED", 1)),
          // 30 twice in the same call: its two attempts in order.
          entry(30, "PENDING", 1),
          entry(30, "DELIVERED", 2),
        ],
        false,
      );
      const rows = new Map(
        state.storage.sql
          .exec<{ delivery_id: string; status: string; attempts: string; seq: number; prev_seq: number; created_at: number }>(
            "SELECT delivery_id, status, attempts, seq, prev_seq, created_at FROM log",
          )
          .toArray()
          .map((r) => [r.delivery_id, { ...r, attempts: (JSON.parse(r.attempts) as Array<{ attempt: number }>).map((a) => a.attempt) }]),
      );
      expect(rows.size).toBe(31);
      for (let i = 0; i < 10; i++)
        expect(rows.get(`dlv_${i}`), `row ${i}`).toMatchObject({ status: "DELIVERED", attempts: [1, 2], created_at: at + 1 });
      for (let i = 10; i < 15; i++) expect(rows.get(`dlv_${i}`), `row ${i}`).toMatchObject({ status: "PENDING", attempts: [1] });
      expect(rows.get("dlv_15")).toMatchObject({ status: "DROPPED", attempts: [1] });
      for (let i = 16; i < 20; i++) expect(rows.get(`dlv_${i}`), `row ${i}`).toMatchObject({ status: "PENDING", attempts: [1] });
      for (let i = 20; i < 30; i++)
        expect(rows.get(`dlv_${i}`), `row ${i}`).toMatchObject({ status: "DELIVERED", attempts: [1], seq: i + 1, prev_seq: i });
      expect(rows.get("dlv_30")).toMatchObject({ status: "DELIVERED", attempts: [1, 2] });
      const full = state.storage.sql.exec<{ attempts: string }>("SELECT attempts FROM log WHERE delivery_id = 'dlv_3'").one();
      expect(JSON.parse(full.attempts)).toEqual([
        { attempt: 1, statusCode: 500, durationMs: 3, at: at + 1 },
        { attempt: 2, statusCode: 204, durationMs: 3, at: at + 2 },
      ]);
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
