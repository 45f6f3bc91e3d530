/**
 * Growth (the point 4): does publishing slow down as state grows?
 *
 * Partition size: one tenant, one partition key. For each size (ascending) the partition is
 * seeded up to that many events with POST /events/batch of 100 (several batches in flight),
 * then publish throughput into that partition and the latency of a replay page from its middle
 * (`?after=<middle>&limit=100`) are measured. Sizes are cumulative: the events published by one
 * measurement count towards the next size.
 *
 * Subscription count: a fresh tenant per count with 3 matching webhook subscriptions and
 * count − 3 pull subscriptions on `other<i>.#` that never match; publish throughput is compared.
 * The filtered variant gives every subscription a content filter as well (the 3 webhooks' filters
 * match the event, the others' would not), to show that filters cost nothing for subscriptions
 * the type index already rules out.
 */
import { pool } from "./api.mjs";
import { measure, round } from "./load.mjs";
import { drain, eventBody, SAMPLE_DATA, webhookSubscribers } from "./load-scenarios.mjs";
import { guarded, probeSubscribers, record } from "./scenario.mjs";

const PARTITION = "bench-growth";
const SEED_CONCURRENCY = 4;

function load(ctx, request) {
  const { connections, durationSec, warmupSec } = ctx.cfg;
  return measure({ url: ctx.url, request, connections, durationSec, warmupSec });
}

/** Seeds `count` events into the partition; returns {events, seconds, eventsPerSec}. */
async function seed(ctx, api, count, state) {
  const batches = Math.ceil(count / 100);
  const started = Date.now();
  let done = 0;
  let lastReport = started;
  await pool(batches, SEED_CONCURRENCY, async (b) => {
    const n = Math.min(100, count - b * 100);
    const events = Array.from({ length: n }, (_, i) => ({
      type: "bench.seed",
      partitionKey: PARTITION,
      data: { ...SAMPLE_DATA, i: b * 100 + i },
    }));
    const res = await api.call("POST", "/events/batch", { body: { events }, expect: [202] });
    const ok = res.body.results.filter((r) => r?.status === "PUBLISHED").length;
    if (ok !== n)
      throw new Error(
        `seeding batch ${b}: ${ok} of ${n} published: ${JSON.stringify(res.body.results.find((r) => r?.status !== "PUBLISHED"))}`,
      );
    state.seq = Math.max(state.seq, ...res.body.results.map((r) => r.sequence));
    done += n;
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      const rate = done / ((Date.now() - started) / 1000);
      ctx.log.progress(`seeding ${done}/${count} events, ${Math.round(rate)} events/s, ~${Math.round((count - done) / rate)} s left`);
    }
  });
  // Milliseconds, not tenths: a few hundred events can take under 50 ms, and the run adds these up.
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  return { events: count, seconds: round(seconds, 3), eventsPerSec: round(count / seconds, 0) };
}

export async function runPartitionGrowth(ctx) {
  const results = [];
  const state = { seq: 0 };
  let api;
  try {
    api = await ctx.api.createTenant(`bench-${ctx.runId}-growth`);
  } catch (err) {
    const rec = record("growth.partition", "Partition growth", "growth");
    return [await guarded(rec, ctx.log, () => Promise.reject(err))];
  }
  const publishBody = eventBody("bench.growth", { partitionKey: PARTITION });
  for (const size of [...ctx.cfg.sizes].sort((a, b) => a - b)) {
    const pub = record(`growth.partition.${size}.publish`, `POST /events, partition holds ${fmt(size)}`, "growth");
    pub.extra.size = size;
    ctx.log.start(pub, size > state.seq ? `seeding ${fmt(size - state.seq)} events first` : "");
    await guarded(pub, ctx.log, async (r) => {
      if (size > state.seq) r.extra.seeding = await seed(ctx, api, size - state.seq, state);
      r.extra.logLength = state.seq;
      r.metrics = await load(ctx, {
        method: "POST",
        path: "/events",
        headers: { authorization: `Bearer ${api.key}`, "content-type": "application/json" },
        body: publishBody,
      });
      state.seq += r.metrics.warmup2xx + r.metrics.ok;
    });
    results.push(pub);
    if (pub.status === "error") break;

    const middle = Math.floor(state.seq / 2);
    const replay = record(
      `growth.partition.${size}.replay`,
      `GET /partitions/:key/events (page of 100 from the middle), ${fmt(size)}`,
      "growth",
    );
    replay.extra.size = size;
    ctx.log.start(replay, `after=${middle}&limit=100 of ${state.seq}`);
    await guarded(replay, ctx.log, async (r) => {
      const path = `/partitions/${PARTITION}/events?after=${middle}&limit=100`;
      const probe = await api.call("GET", path, { expect: [200] });
      r.extra.logLength = state.seq;
      r.extra.pageEvents = probe.body?.events?.length ?? 0;
      if (r.extra.pageEvents !== Math.min(100, state.seq - middle)) r.notes.push(`page held ${r.extra.pageEvents} events`);
      r.metrics = await load(ctx, { method: "GET", path, headers: { authorization: `Bearer ${api.key}` } });
    });
    results.push(replay);
  }
  return results;
}

export async function runSubscriptionGrowth(ctx, { filtered = false } = {}) {
  const results = [];
  const kind = filtered ? "filtered" : "subs";
  const matching = filtered ? { filter: { data: { currency: ["USD"], total: [{ numeric: [">", 0] }] } } } : {};
  const other = (i) => (filtered ? { filter: { data: { customerId: [{ prefix: `cust-${i}-` }] } } } : {});
  for (const count of ctx.cfg.subscriptionCounts) {
    const rec = record(
      `growth.${kind}.${count}`,
      `POST /events, ${fmt(count)} subscriptions (3 match)${filtered ? ", all with filters" : ""}`,
      "growth",
    );
    rec.extra.subscriptions = count;
    ctx.log.start(rec, `creating ${count} subscriptions first`);
    await guarded(rec, ctx.log, async (r) => {
      const api = await ctx.api.createTenant(`bench-${ctx.runId}-${kind}${count}`);
      const started = Date.now();
      const buckets = await webhookSubscribers(ctx, api, `${kind}${count}`, 3, matching);
      await pool(Math.max(0, count - 3), 8, (i) =>
        api.call("POST", "/subscriptions", { body: { name: `other-${i}`, events: [`other${i}.#`], ...other(i) }, expect: [201] }),
      );
      r.extra.createSec = round((Date.now() - started) / 1000, 1);
      const probes = await probeSubscribers(api, eventBody("bench.subs"), 3, r);
      r.metrics = await load(ctx, {
        method: "POST",
        path: "/events",
        headers: { authorization: `Bearer ${api.key}`, "content-type": "application/json" },
        body: eventBody("bench.subs"),
      });
      await drain(ctx, r, buckets, probes + 3 * (r.metrics.warmup2xx + r.metrics.ok));
    });
    results.push(rec);
  }
  return results;
}

export function fmt(n) {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1000 && n % 1000 === 0) return `${n / 1000}k`;
  return String(n);
}
