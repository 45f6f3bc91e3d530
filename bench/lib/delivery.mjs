/**
 * Delivery scenarios (each with a fresh tenant; events published up front with POST
 * /events/batch, so a backlog exists from the start and the publishing is over in a fraction of
 * the drain; figures are taken at the receiver):
 *
 * - sustained: 3 webhooks; deliveries/s while the backlog drains, between the receipts at 10 %
 *   and 90 % (ramp-up and the last stragglers left out). Reported against the outbound ceiling.
 * - ordered: one webhook with `ordering: "partition"`, 16 partition keys; deliveries/s and the
 *   order checked per partition at the receiver (violations and X-Previous-Sequence gaps).
 * - throttle: one webhook with `rateLimit: {perSecond: 50}`; the highest count in any one-second
 *   window (sliding: a window starts at every receipt; also 0.9 s, a 10 % tolerance on
 *   time) and the mean count per one-second window while the backlog drains.
 */
import { pool } from "./api.mjs";
import { percentile, round } from "./load.mjs";
import { SAMPLE_DATA, webhookSubscribers } from "./load-scenarios.mjs";
import { guarded, probeSubscribers, record } from "./scenario.mjs";

const RETRY = { maxAttempts: 5, backoffMs: 1000, timeoutMs: 5000 };

/** Publishes `count` events (100 per request, 4 in flight); `partitionOf(i)` names event i's key. */
export async function publishBacklog(api, count, type, partitionOf = () => undefined) {
  const started = Date.now();
  await pool(Math.ceil(count / 100), 4, async (b) => {
    const events = Array.from({ length: Math.min(100, count - b * 100) }, (_, k) => {
      const i = b * 100 + k;
      const partitionKey = partitionOf(i);
      return { type, source: "bench", data: { ...SAMPLE_DATA, i }, ...(partitionKey ? { partitionKey } : {}) };
    });
    const res = await api.call("POST", "/events/batch", { body: { events }, expect: [202] });
    const bad = res.body.results.filter((r) => r?.status !== "PUBLISHED");
    if (bad.length > 0) throw new Error(`batch ${b}: ${bad.length} not published: ${JSON.stringify(bad[0])}`);
  });
  return { started, seconds: (Date.now() - started) / 1000 };
}

/** One webhook with extra settings; waits until a probe matches it and its probe deliveries arrived. */
async function oneWebhook(ctx, api, rec, name, extra) {
  const bucket = ctx.receiver.open(`${ctx.runId}-${name}`);
  await api.call("POST", "/webhooks", {
    body: { name, events: ["bench.#"], url: `${ctx.receiver.url}/hook/${bucket}`, retryPolicy: RETRY, ...extra },
    expect: [201],
  });
  const probes = await probeSubscribers(api, JSON.stringify({ type: `bench.${name}.probe`, data: {} }), 1, rec);
  await ctx.receiver.waitFor([bucket], probes, 10_000);
  return bucket;
}

/**
 * Receipt times of the buckets, ascending, after waiting for all `expected` of them: at least
 * --drain seconds, longer when the backlog at `minRate` deliveries/s would need it (a slow
 * machine must not leave a backlog running under the next scenario).
 */
async function receipts(ctx, rec, buckets, expected, minRate) {
  const boundSec = Math.max(ctx.cfg.drainSec, Math.ceil(expected / minRate));
  const d = await ctx.receiver.waitFor(buckets, expected, boundSec * 1000);
  if (!d.complete) rec.notes.push(`only ${d.distinct} of ${expected} deliveries arrived within ${boundSec} s`);
  const times = buckets.flatMap((b) => ctx.receiver.bucket(b).samples.map((s) => s.at)).sort((a, b) => a - b);
  return { ...d, times };
}

/** Deliveries/s between the receipts at 10 % and 90 %: the rate while the backlog drains. */
export function sustainedRate(times) {
  if (times.length < 10) return null;
  const lo = percentile(times, 10);
  const hi = percentile(times, 90);
  const n = times.filter((t) => t >= lo && t <= hi).length;
  return hi > lo ? round((n - 1) / ((hi - lo) / 1000), 1) : null;
}

function summary(pub, d, expected) {
  const first = d.times[0] ?? pub.started;
  const last = d.times.at(-1) ?? pub.started;
  return {
    events: pub.events,
    expectedDeliveries: expected,
    delivered: d.distinct,
    lost: Math.max(0, expected - d.distinct),
    duplicates: d.duplicates,
    publishSec: round(pub.seconds, 2),
    firstReceiptMs: round(first - pub.started, 0),
    drainSec: round((last - pub.started) / 1000, 2),
    deliveriesPerSec: round(d.distinct / Math.max(0.001, (last - pub.started) / 1000), 1),
    sustainedPerSec: sustainedRate(d.times),
  };
}

export async function runSustained(ctx) {
  const events = ctx.cfg.deliveryEvents;
  const rec = record("delivery.sustained", `Sustained delivery, 3 webhooks, backlog of ${events} events`, "delivery");
  ctx.log.start(rec, `${events} events × 3 webhooks published in batches of 100`);
  return guarded(rec, ctx.log, async () => {
    const api = await ctx.api.createTenant(`bench-${ctx.runId}-sustained`);
    const buckets = await webhookSubscribers(ctx, api, "sustained");
    const probes = await probeSubscribers(api, JSON.stringify({ type: "bench.sustained.probe", data: {} }), 3, rec);
    await ctx.receiver.waitFor(buckets, probes, 10_000);
    for (const b of buckets) ctx.receiver.open(b, { record: true });
    await ctx.quiesce();
    const cpu0 = ctx.cpu.edgebus();
    const pub = { events, ...(await publishBacklog(api, events, "bench.sustained")) };
    rec.delivery = summary(pub, await receipts(ctx, rec, buckets, events * 3, 50), events * 3);
    // edgebus's CPU-seconds from the first publish to the last receipt (publishing included).
    const cpu = cpu0 === null ? null : ctx.cpu.edgebus() - cpu0;
    rec.delivery.perCpuSecond = cpu ? round(rec.delivery.delivered / cpu, 1) : null;
  });
}

export async function runOrdered(ctx) {
  const { orderedPerPartition: per } = ctx.cfg;
  const partitions = 16;
  const rec = record("delivery.ordered", `Ordered delivery, 1 webhook, ${partitions} partitions × ${per} events`, "delivery");
  ctx.log.start(rec, `ordering "partition", ${partitions * per} events`);
  return guarded(rec, ctx.log, async () => {
    const api = await ctx.api.createTenant(`bench-${ctx.runId}-ordered`);
    const bucket = await oneWebhook(ctx, api, rec, "ordered", { ordering: "partition" });
    ctx.receiver.open(bucket, { record: true, order: true });
    const events = partitions * per;
    // Round-robin over the keys, so every partition has a backlog from the first batch on.
    const pub = { events, ...(await publishBacklog(api, events, "bench.ordered", (i) => `ord-${i % partitions}`)) };
    const d = await receipts(ctx, rec, [bucket], events, 10);
    const order = ctx.receiver.bucket(bucket).order;
    const s = summary(pub, d, events);
    rec.delivery = {
      ...s,
      partitions,
      perPartitionPerSec: s.sustainedPerSec === null ? null : round(s.sustainedPerSec / partitions, 1),
      orderViolations: order.violations,
      previousSequenceGaps: order.gaps,
      partitionsSeen: order.partitions.size,
    };
  });
}

/** The highest number of receipts in any window of `ms` that starts at a receipt. */
function maxWindow(times, ms) {
  let best = 0;
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    while (j < times.length && times[j] < times[i] + ms) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

export async function runThrottle(ctx) {
  const { throttleEvents: events } = ctx.cfg;
  const perSecond = 50;
  const rec = record("delivery.throttle", `Throttling, 1 webhook, rateLimit ${perSecond}/s, backlog of ${events} events`, "delivery");
  ctx.log.start(rec, `${events} events, expected ≈ ${round(events / perSecond, 0)} s`);
  return guarded(rec, ctx.log, async () => {
    const api = await ctx.api.createTenant(`bench-${ctx.runId}-throttle`);
    const bucket = await oneWebhook(ctx, api, rec, "throttle", { rateLimit: { perSecond } });
    ctx.receiver.open(bucket, { record: true });
    const pub = { events, ...(await publishBacklog(api, events, "bench.throttle")) };
    const d = await receipts(ctx, rec, [bucket], events, perSecond / 2);
    // All was published up front, so from the first receipt to the last a backlog exists. The
    // mean is per one-second window laid end to end from the first receipt (the last one counts
    // whole): a gate that starts its requests in bursts at each second is judged fairly, where
    // receipts ÷ (last − first) would count one second too few.
    const windows = d.times.length ? Math.floor((d.times.at(-1) - d.times[0]) / 1000) + 1 : 0;
    const windowCounts = Array.from({ length: windows }, () => 0);
    for (const t of d.times) windowCounts[Math.floor((t - d.times[0]) / 1000)] += 1;
    rec.delivery = {
      ...summary(pub, d, events),
      perSecond,
      maxPerSecondWindow: maxWindow(d.times, 1000),
      maxPer900msWindow: maxWindow(d.times, 900),
      windows,
      windowCounts,
      meanPerSecond: windows > 0 ? round(d.times.length / windows, 1) : null,
    };
  });
}
