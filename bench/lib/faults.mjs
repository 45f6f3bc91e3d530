/**
 * Delivery under bad receivers (each part with fresh tenants; figures taken at the receiver):
 *
 * - isolation: one tenant's endpoint answers only after 20 s (timeoutMs 30 s) and holds up to its
 *   in-flight cap of requests open; another tenant publishes at a fixed rate (open loop) to a
 *   fast endpoint. Its publish→receipt latency beside the hanging endpoint is compared with the
 *   same load measured alone just before, in the same run.
 * - faults: 3 webhooks whose receiver fails 30 % of requests (15 % 500, 10 % held past the 2 s
 *   `timeoutMs`, 5 % connection reset), a backlog published up front, `maxInFlight` 1,000 (the
 *   most allowed) so that held requests do not fill the in-flight cap. Compared with the same
 *   backlog to a healthy receiver in the same run: the rate of first attempts (a timeout must not
 *   hold up the deliveries around it), how late each retry came after the time its policy set,
 *   and the drain against the least time the retry policy itself allows for the unluckiest
 *   delivery. 429/503 answers are left out on purpose: their `Retry-After` pauses the whole
 *   endpoint, which is a chosen slowdown (the chaos run covers them).
 */
import { publishBacklog, sustainedRate } from "./delivery.mjs";
import { publishAtRate } from "./e2e.mjs";
import { percentile, round } from "./load.mjs";
import { guarded, probeSubscribers, record, sleep } from "./scenario.mjs";

const SLOW_MS = 20_000;
/** The endpoint gate's default in-flight cap per webhook. */
const IN_FLIGHT = 100;
const FAULT_RETRY = { maxAttempts: 30, backoffMs: 1000, timeoutMs: 2000 };

const sorted = (xs) => [...xs].sort((a, b) => a - b);

/** Latencies of one phase's receipts (ids starting with `prefix`): a straggler of another phase never counts. */
function latencies(ctx, bucket, prefix) {
  const l = sorted(
    ctx.receiver
      .bucket(bucket)
      .samples.filter((s) => Number.isFinite(s.ts) && String(s.id).startsWith(prefix))
      .map((s) => s.at - s.ts),
  );
  return { p50Ms: round(percentile(l, 50), 1), p99Ms: round(percentile(l, 99), 1), maxMs: round(l.at(-1) ?? NaN, 1), n: l.length };
}

/** Distinct ids starting with `prefix` the bucket has received. */
function distinctWith(ctx, bucket, prefix) {
  let n = 0;
  for (const id of ctx.receiver.bucket(bucket).ids.keys()) if (String(id).startsWith(prefix)) n++;
  return n;
}

/** Publishes the fast tenant's open-loop load and waits for its deliveries; returns its latencies. */
async function fastLoad(ctx, rec, api, bucket, phase) {
  const { isolationRate: rate, isolationSec: seconds } = ctx.cfg;
  const runId = `${ctx.runId}-${phase}`;
  const prefix = `fast-${runId}-`;
  const pub = await publishAtRate({ url: ctx.url, key: api.key, rate, seconds, runId, type: "bench.fast", prefix: "fast" });
  const accepted = pub.outcomes.filter((o) => o.status === 202).length;
  if (accepted < pub.total) rec.notes.push(`${phase}: ${pub.total - accepted} of ${pub.total} publishes not accepted`);
  const deadline = Date.now() + ctx.cfg.drainSec * 1000;
  while (distinctWith(ctx, bucket, prefix) < accepted && Date.now() < deadline) await sleep(100);
  const delivered = distinctWith(ctx, bucket, prefix);
  return { published: pub.total, accepted, delivered, lost: Math.max(0, accepted - delivered), ...latencies(ctx, bucket, prefix) };
}

export async function runIsolation(ctx) {
  const { isolationRate: rate, isolationSec: seconds, isolationSlowEvents: slowEvents } = ctx.cfg;
  const rec = record("delivery.isolation", `Isolation: a fast tenant beside an endpoint that answers after ${SLOW_MS / 1000} s`, "faults");
  ctx.log.start(rec, `${rate} events/s × ${seconds} s alone, then beside ${slowEvents} hanging deliveries`);
  return guarded(rec, ctx.log, async () => {
    const fast = await ctx.api.createTenant(`bench-${ctx.runId}-fast`);
    const fastBucket = ctx.receiver.open(`${ctx.runId}-fast`);
    await fast.call("POST", "/webhooks", {
      body: { name: "fast", events: ["bench.#"], url: `${ctx.receiver.url}/hook/${fastBucket}` },
      expect: [201],
    });
    const probes = await probeSubscribers(fast, JSON.stringify({ type: "bench.fast.probe", data: {} }), 1, rec);
    await ctx.receiver.waitFor([fastBucket], probes, 10_000);
    ctx.receiver.open(fastBucket, { record: true });
    const alone = await fastLoad(ctx, rec, fast, fastBucket, "alone");

    const slow = await ctx.api.createTenant(`bench-${ctx.runId}-slow`);
    const slowBucket = ctx.receiver.open(`${ctx.runId}-slow`, { delayMs: SLOW_MS });
    await slow.call("POST", "/webhooks", {
      body: {
        name: "slow",
        events: ["bench.#"],
        url: `${ctx.receiver.url}/hook/${slowBucket}`,
        retryPolicy: { maxAttempts: 1, backoffMs: 1000, timeoutMs: 30_000 },
      },
      expect: [201],
    });
    const slowProbes = await probeSubscribers(slow, JSON.stringify({ type: "bench.slow.probe", data: {} }), 1, rec);
    await publishBacklog(slow, slowEvents, "bench.slow", (i) => `slow-${i % 16}`);
    // Start the fast load only once the slow endpoint holds its in-flight cap (or all of its backlog).
    const holdTarget = Math.min(IN_FLIGHT, slowEvents + slowProbes);
    const holdDeadline = Date.now() + 15_000;
    while (ctx.receiver.bucket(slowBucket).holding < holdTarget && Date.now() < holdDeadline) await sleep(50);
    const heldAtStart = ctx.receiver.bucket(slowBucket).holding;
    if (heldAtStart < holdTarget)
      rec.notes.push(`the slow endpoint held only ${heldAtStart} of ${holdTarget} requests when the fast load started`);
    const beside = await fastLoad(ctx, rec, fast, fastBucket, "beside");
    const heldAtEnd = ctx.receiver.bucket(slowBucket).holding;

    // Let every slow delivery finish, so none runs under the next scenario.
    const slowTotal = slowEvents + slowProbes;
    const waves = Math.ceil(slowTotal / IN_FLIGHT);
    const s = await ctx.receiver.waitFor([slowBucket], slowTotal, waves * SLOW_MS + 30_000);
    if (!s.complete) rec.notes.push(`the slow endpoint got ${s.distinct} of ${slowTotal} deliveries`);
    rec.faults = {
      rate,
      seconds,
      slowMs: SLOW_MS,
      slowEvents,
      slowHeldAtStart: heldAtStart,
      slowHeldAtEnd: heldAtEnd,
      slowMaxHeld: ctx.receiver.bucket(slowBucket).maxHolding,
      slowExpected: slowTotal,
      slowDelivered: s.distinct,
      alone,
      beside,
    };
  });
}

/** Receipt log of a set of buckets: per delivery, its attempts in order (first receipt of each number). */
function chains(ctx, buckets) {
  const byDelivery = new Map();
  for (const b of buckets) {
    for (const a of ctx.receiver.bucket(b).attempts) {
      const key = `${b}|${a.id}`;
      const list = byDelivery.get(key) ?? [];
      if (!list.some((x) => x.attempt === a.attempt)) list.push(a);
      byDelivery.set(key, list);
    }
  }
  for (const list of byDelivery.values()) list.sort((x, y) => x.attempt - y.attempt);
  return byDelivery;
}

/** The retry window the policy sets after failed attempt n: [lo, hi) seconds (jitter ±20 %, whole seconds, ≥ 1 s). */
function delayWindow(n, backoffMs) {
  const base = (backoffMs * 2 ** (n - 1)) / 1000;
  // The jitter factor is below 1.2, so a product ending in exactly .5 never rounds up.
  return { lo: Math.max(1, Math.round(0.8 * base)), hi: Math.max(1, Math.round(1.2 * base - 1e-9)) };
}

/** One backlog of `events` × 3 webhooks, healthy or failing; what the receiver saw. */
async function backlogRun(ctx, rec, name, events, faulty) {
  const api = await ctx.api.createTenant(`bench-${ctx.runId}-${name}`);
  const buckets = [];
  for (let i = 0; i < 3; i++) {
    const bucket = ctx.receiver.open(`${ctx.runId}-${name}-${i}`);
    await api.call("POST", "/webhooks", {
      body: {
        name: `${name}-${i}`,
        events: ["bench.#"],
        url: `${ctx.receiver.url}/hook/${bucket}`,
        retryPolicy: FAULT_RETRY,
        // Time-outs hold their slot for the whole timeoutMs: under the default cap of 100 in flight,
        // 10 % of ~600 requests/s held 2 s would fill it, and the cap, not the engine, would set the pace.
        rateLimit: { maxInFlight: 1000 },
      },
      expect: [201],
    });
    buckets.push(bucket);
  }
  const probes = await probeSubscribers(api, JSON.stringify({ type: `bench.${name}.probe`, data: {} }), 3, rec);
  await ctx.receiver.waitFor(buckets, probes, 10_000);
  // Every request is logged from here on; the healthy run uses the same log with no faults.
  buckets.forEach((b, i) => {
    ctx.receiver.open(b, faulty ? { faults: { seed: 15 + i, timeoutMs: FAULT_RETRY.timeoutMs } } : { log: true });
  });
  await ctx.quiesce();
  const pub = await publishBacklog(api, events, `bench.${name}`);
  const expected = events * 3;
  const bound = faulty ? ctx.cfg.faultDrainSec : ctx.cfg.drainSec;
  const d = await ctx.receiver.waitFor(buckets, expected, bound * 1000);
  await sleep(ctx.cfg.duplicateGraceMs);
  const t = ctx.receiver.totals(buckets);
  const all = buckets.flatMap((b) => ctx.receiver.bucket(b).attempts);
  // A delivery still missing is either still retrying (the receiver failed its last attempt: with
  // 30 attempts nothing is given up, the tail of back-offs just ran past the wait) or was never
  // attempted at all, which would be a loss.
  const missing = Math.max(0, expected - t.distinct);
  const byDelivery = chains(ctx, buckets);
  let retrying = 0;
  for (const list of byDelivery.values()) if (!list.some((a) => a.answer === "ok")) retrying++;
  if (!d.complete)
    rec.notes.push(
      `${name}: ${t.distinct} of ${expected} delivered within ${bound} s, ${retrying} still retrying, ${missing - retrying} never attempted`,
    );
  const firsts = sorted(all.filter((a) => a.attempt === 1).map((a) => a.at));
  const oks = all.filter((a) => a.answer === "ok");
  const lastOk = oks.reduce((m, a) => Math.max(m, a.at), pub.started);
  return {
    chains: byDelivery,
    pub,
    expected,
    delivered: t.distinct,
    stillRetrying: retrying,
    neverAttempted: Math.max(0, missing - retrying),
    duplicates: t.duplicates,
    requests: all.length,
    failed: all.filter((a) => a.answer !== "ok").length,
    firstAttemptsPerSec: sustainedRate(firsts),
    // Only a complete drain has a duration.
    drainSec: d.complete ? round((lastOk - pub.started) / 1000, 2) : null,
  };
}

export async function runFaults(ctx) {
  const events = ctx.cfg.faultEvents;
  const rec = record("delivery.faults", `Faults: 3 webhooks, ${events} events, 30 % of requests failing, vs healthy`, "faults");
  ctx.log.start(rec, `${events} events × 3 webhooks to a healthy receiver, then to a failing one`);
  return guarded(rec, ctx.log, async () => {
    const healthy = await backlogRun(ctx, rec, "healthy", events, false);
    const faulty = await backlogRun(ctx, rec, "faulty", events, true);
    // Per retry: the gap between two attempts' receipts, less what the policy asked for (the
    // time-out of a held request plus the latest end of the jittered backoff window).
    const late = [];
    let policyEnd = faulty.pub.started;
    for (const list of faulty.chains.values()) {
      let minSec = 0;
      for (let k = 1; k < list.length; k++) {
        const prev = list[k - 1];
        const cur = list[k];
        // Only a retry of a failed attempt, both seen by the receiver, is timed.
        if (cur.attempt !== prev.attempt + 1 || prev.answer === "ok") continue;
        const w = delayWindow(prev.attempt, FAULT_RETRY.backoffMs);
        const held = prev.answer === "timeout" ? FAULT_RETRY.timeoutMs : 0;
        late.push(cur.at - prev.at - held - w.hi * 1000);
        minSec += held / 1000 + w.lo;
      }
      // The earliest this delivery could have succeeded, given when its first attempt went out
      // (a complete chain that ended in a 2xx only).
      const complete = list[0]?.attempt === 1 && list.every((a, k) => a.attempt === k + 1);
      if (complete && list.at(-1)?.answer === "ok") policyEnd = Math.max(policyEnd, list[0].at + minSec * 1000);
    }
    const lateSorted = sorted(late);
    rec.faults = {
      events,
      retryPolicy: FAULT_RETRY,
      healthy: strip(healthy),
      faulty: strip(faulty),
      firstAttemptRatio:
        healthy.firstAttemptsPerSec && faulty.firstAttemptsPerSec
          ? round(faulty.firstAttemptsPerSec / healthy.firstAttemptsPerSec, 2)
          : null,
      retries: late.length,
      retryLateP50Ms: round(percentile(lateSorted, 50), 0),
      retryLateP99Ms: round(percentile(lateSorted, 99), 0),
      retryLateMaxMs: round(lateSorted.at(-1) ?? NaN, 0),
      // The drain can end no earlier than this: the first attempts as they went, every retry at
      // the earliest time its policy allows. The rest of faulty.drainSec is the engine's.
      policyDrainSec: round((policyEnd - faulty.pub.started) / 1000, 2),
    };
  });
}

function strip({ chains: _chains, pub, ...figures }) {
  return { ...figures, publishSec: round(pub.seconds, 2) };
}
