/**
 * The closed-loop scenarios of the point 2, each against a fresh tenant: the GET /health
 * baseline, publish with 0 and 3 webhook subscribers, batch publish of 100, cache hit, order hit
 * and task enqueue with a worker. POSTs carry no event/task id, so the server generates a new one
 * per request and deduplication never short-circuits a publish.
 *
 * After a scenario that causes deliveries (webhooks, tasks) the run waits, bounded, until the
 * receiver has them all, so the backlog does not leak into the next scenario's figures.
 */
import { measure } from "./load.mjs";
import { CONFIG_PROPAGATION_MS, guarded, headerCounter, probeSubscribers, record, sleep } from "./scenario.mjs";

const json = (key) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });
const auth = (key) => ({ authorization: `Bearer ${key}` });

export const SAMPLE_DATA = { orderId: "order-123", customerId: "cust-456", total: 99.95, currency: "USD" };

/** A JSON Schema that SAMPLE_DATA satisfies (the publish-with-schema scenario validates every event against it). */
export const SAMPLE_SCHEMA = {
  type: "object",
  properties: {
    orderId: { type: "string", maxLength: 64 },
    customerId: { type: "string" },
    total: { type: "number", minimum: 0 },
    currency: { type: "string", enum: ["USD", "EUR", "GBP"] },
  },
  required: ["orderId", "customerId", "total", "currency"],
};

/** A publish request body, no id (the server generates one per request). */
export function eventBody(type, extra = {}) {
  return JSON.stringify({ type, source: "bench", data: SAMPLE_DATA, ...extra });
}

/** Creates the 3 matching webhook subscriptions of a scenario; returns their receiver buckets. */
export async function webhookSubscribers(ctx, api, prefix, n = 3, extra = {}) {
  const buckets = [];
  for (let i = 0; i < n; i++) {
    const bucket = ctx.receiver.open(`${ctx.runId}-${prefix}-${i}`);
    await api.call("POST", "/subscriptions", {
      body: {
        name: `${prefix}-hook-${i}`,
        events: ["bench.#"],
        url: `${ctx.receiver.url}/hook/${bucket}`,
        retryPolicy: { maxAttempts: 5, backoffMs: 1000, timeoutMs: 5000 },
        ...extra,
      },
      expect: [201],
    });
    buckets.push(bucket);
  }
  return buckets;
}

/** Waits (bounded) for the deliveries a load run caused; records how far they got. */
export async function drain(ctx, rec, buckets, expected, opts = {}) {
  const d = await ctx.receiver.waitFor(buckets, expected, ctx.cfg.drainSec * 1000, opts);
  rec.extra.deliveries = {
    expected,
    delivered: opts.byReceipts ? d.received : d.distinct,
    duplicates: d.duplicates,
    drainSec: d.waitedMs / 1000,
    complete: d.complete,
  };
  if (!d.complete)
    rec.notes.push(`only ${rec.extra.deliveries.delivered} of ${expected} deliveries arrived within ${ctx.cfg.drainSec} s after the run`);
}

function load(ctx, request, perRequest = 1) {
  const { connections, durationSec, warmupSec } = ctx.cfg;
  // ctx.interleave is set while a calibration runs its floor between this measurement's slices.
  return measure({
    url: ctx.url,
    request,
    connections,
    durationSec,
    warmupSec,
    perRequest,
    cpu: ctx.cpu.edgebus,
    interleave: ctx.interleave,
  });
}

export function loadScenarios() {
  return [
    {
      id: "health",
      title: "GET /health (baseline)",
      run: async (ctx, rec) => {
        rec.metrics = await load(ctx, { method: "GET", path: "/health" });
      },
    },
    {
      id: "publish.none",
      title: "POST /events, no subscribers",
      run: async (ctx, rec) => {
        const api = await ctx.api.createTenant(`bench-${ctx.runId}-none`);
        await api.call("POST", "/events", { body: eventBody("bench.none"), expect: [202] });
        rec.metrics = await load(ctx, { method: "POST", path: "/events", headers: json(api.key), body: eventBody("bench.none") });
      },
    },
    {
      id: "publish.schema",
      title: "POST /events, type with a registered schema",
      run: async (ctx, rec) => {
        const api = await ctx.api.createTenant(`bench-${ctx.runId}-schema`);
        await api.call("PUT", "/schemas/bench.schema/versions/1.0", { body: { schema: SAMPLE_SCHEMA }, expect: [201] });
        await api.call("POST", "/events", { body: eventBody("bench.schema"), expect: [202] });
        rec.metrics = await load(ctx, { method: "POST", path: "/events", headers: json(api.key), body: eventBody("bench.schema") });
      },
    },
    {
      id: "publish.3subs",
      title: "POST /events, 3 webhook subscribers",
      run: async (ctx, rec) => {
        const api = await ctx.api.createTenant(`bench-${ctx.runId}-p3`);
        const buckets = await webhookSubscribers(ctx, api, "p3");
        const probes = await probeSubscribers(api, eventBody("bench.p3"), 3, rec);
        rec.metrics = await load(ctx, { method: "POST", path: "/events", headers: json(api.key), body: eventBody("bench.p3") });
        await drain(ctx, rec, buckets, probes + 3 * (rec.metrics.warmup2xx + rec.metrics.ok));
      },
    },
    {
      id: "publish.batch100",
      title: "POST /events/batch, 100 events",
      perItem: "events",
      run: async (ctx, rec) => {
        const api = await ctx.api.createTenant(`bench-${ctx.runId}-batch`);
        const body = JSON.stringify({
          events: Array.from({ length: 100 }, (_, i) => ({ type: "bench.batch", source: "bench", data: { ...SAMPLE_DATA, i } })),
        });
        const probe = await api.call("POST", "/events/batch", { body, expect: [202] });
        const published = (probe.body?.results ?? []).filter((r) => r?.status === "PUBLISHED").length;
        if (published !== 100) throw new Error(`probe batch published ${published} of 100: ${JSON.stringify(probe.body).slice(0, 300)}`);
        rec.metrics = await load(ctx, { method: "POST", path: "/events/batch", headers: json(api.key), body }, 100);
      },
    },
    {
      id: "cache.hit",
      title: "GET /cache/:key, hit",
      run: async (ctx, rec) => {
        const api = await ctx.api.createTenant(`bench-${ctx.runId}-cache`);
        const path = `/cache/bench-${ctx.runId}`;
        await api.call("PUT", path, {
          body: { id: "order-123", status: "PROCESSING", total: 99.99 },
          headers: { "cache-control": "max-age=3600" },
          optional: true,
        });
        const first = await api.call("GET", path, { expect: [200], optional: true });
        if (first.headers.get("x-cache-status") !== "HIT")
          rec.notes.push(`GET after PUT answered X-Cache-Status: ${first.headers.get("x-cache-status")}`);
        const hits = headerCounter("x-cache-status");
        rec.metrics = await load(ctx, { method: "GET", path, headers: auth(api.key), onResponse: hits.onResponse });
        rec.extra.cacheStatus = hits.counts;
      },
    },
    {
      id: "orders.hit",
      title: "GET /orders/:id, hit",
      run: async (ctx, rec) => {
        const api = await ctx.api.createTenant(`bench-${ctx.runId}-orders`);
        await api.call("PUT", "/catalog/items/bench-item", { body: { name: "Bench item", price: 19.99 }, optional: true });
        const order = await api.call("POST", "/orders", {
          body: { customerId: "cust-bench", items: [{ itemId: "bench-item", quantity: 2 }] },
          expect: [201],
          optional: true,
        });
        const path = `/orders/${encodeURIComponent(order.body.id)}`;
        await api.call("GET", path, { expect: [200], optional: true });
        const second = await api.call("GET", path, { expect: [200], optional: true });
        if (second.headers.get("x-cache-status") !== "HIT")
          rec.notes.push(`second GET answered X-Cache-Status: ${second.headers.get("x-cache-status")}`);
        const hits = headerCounter("x-cache-status");
        rec.metrics = await load(ctx, { method: "GET", path, headers: auth(api.key), onResponse: hits.onResponse });
        rec.extra.cacheStatus = hits.counts;
      },
    },
    {
      id: "tasks.worker",
      title: "POST /tasks, 1 worker",
      run: async (ctx, rec) => {
        const api = await ctx.api.createTenant(`bench-${ctx.runId}-tasks`);
        const bucket = ctx.receiver.open(`${ctx.runId}-tasks`);
        await api.call("POST", "/workers", {
          body: { name: "bench-worker", url: `${ctx.receiver.url}/task/${bucket}`, taskTypes: ["#"] },
          expect: [200, 201],
          optional: true,
        });
        await sleep(CONFIG_PROPAGATION_MS);
        const body = JSON.stringify({ type: "bench.task", data: { n: 1 } });
        await api.call("POST", "/tasks", { body, expect: [202], optional: true });
        rec.metrics = await load(ctx, { method: "POST", path: "/tasks", headers: json(api.key), body });
        await drain(ctx, rec, [bucket], 1 + rec.metrics.warmup2xx + rec.metrics.ok);
      },
    },
  ];
}

export async function runLoadScenario(ctx, scenario) {
  const rec = record(scenario.id, scenario.title, "load");
  if (scenario.perItem) rec.perItem = scenario.perItem;
  const { connections, warmupSec, durationSec } = ctx.cfg;
  const measured = ctx.interleave
    ? `${ctx.interleave.slices} slices of ${ctx.interleave.sliceSec} s between the floor's`
    : `${durationSec} s`;
  ctx.log.start(rec, `${connections} connections, warm-up ${warmupSec} s, ${measured}`);
  return guarded(rec, ctx.log, (r) => scenario.run(ctx, r));
}
