/**
 * The calibrations: floors measured in the same run as edgebus, on the same machine, by the
 * calibration worker (bench/calibration/worker.ts) in its own `wrangler dev`, beside the edgebus
 * figure it calibrates: on a shared machine the load drifts within minutes, so neither may run
 * under conditions the other did not see. The outbound ceiling is measured twice, right before and
 * right after the sustained delivery run (which is minutes long and cannot be cut up), and that
 * run is reported against their mean. The publish floor is measured in slices alternated with the
 * publish's own. Before each outbound round, and before the publish floor's first slice, the run
 * waits (bounded) until edgebus's own processes are idle, so a calibration never starts beside
 * edgebus's background work (outcomes still being recorded after a drain). Between slices it does
 * not wait: what a publish leaves behind (the partitions' count reports, their alarms) is small,
 * but it runs during the next floor slice and is missing from the publish's CPU time.
 *
 * Outbound ceiling: closed-loop drivers, each asking the worker to sign and POST a fan-out of
 * deliveries to the receiver and waiting for the answer, then asking again. Drivers × fan-out is
 * the number of POSTs in flight; it is set to edgebus's own ceiling in the delivery scenarios
 * (3 webhooks × the gate's default maxInFlight of 100). Counted at the receiver, like edgebus.
 *
 * Besides deliveries per second, the outbound rounds record deliveries per CPU-second of the
 * calibration worker's process group: on a machine shared with other work the wall-clock rate
 * moves with the neighbours' load, while the CPU cost per delivery does not (much).
 *
 * Publish floor: autocannon against `POST /insert` with the same body, connections and slice
 * lengths as `POST /events`. Each slice also records the calibration worker's process-group CPU
 * time, so the floor's requests per CPU-second compare with `POST /events`'s of edgebus's.
 */
import { Agent, request } from "node:http";
import { measure, round } from "./load.mjs";
import { eventBody } from "./load-scenarios.mjs";
import { guarded, record, sleep } from "./scenario.mjs";

export const OUTBOUND_DRIVERS = 6;
export const OUTBOUND_FANOUT = 50;

function post(agent, url) {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(0));
    req.end();
  });
}

/** One round: warm-up, then receipts per second at the receiver over the measured seconds. */
async function outboundRound(ctx, tag) {
  const { warmupSec, durationSec } = ctx.cfg;
  const quiesceMs = await ctx.quiesce();
  const buckets = [0, 1, 2].map((i) => ctx.receiver.open(`${ctx.runId}-cal-${tag}-${i}`));
  const agent = new Agent({ keepAlive: true, maxSockets: OUTBOUND_DRIVERS });
  const stopAt = Date.now() + (warmupSec + durationSec) * 1000;
  let failed = 0;
  const drivers = Array.from({ length: OUTBOUND_DRIVERS }, async (_, d) => {
    const target = `${ctx.receiver.url}/hook/${buckets[d % buckets.length]}`;
    const url = `${ctx.calibrationUrl}/fanout?n=${OUTBOUND_FANOUT}&tag=${tag}-${d}&url=${encodeURIComponent(target)}`;
    while (Date.now() < stopAt) if ((await post(agent, url)) !== 200) failed += 1;
  });
  await sleep(warmupSec * 1000);
  const before = ctx.receiver.totals(buckets).received;
  const cpu0 = ctx.cpu.calibration();
  const t0 = performance.now();
  await sleep(durationSec * 1000);
  const received = ctx.receiver.totals(buckets).received - before;
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpu0 === null ? null : ctx.cpu.calibration() - cpu0;
  await Promise.all(drivers);
  agent.destroy();
  if (received === 0) throw new Error(`the calibration worker delivered nothing (${failed} failed fan-out requests)`);
  return {
    deliveriesPerSec: round(received / seconds, 1),
    received,
    seconds: round(seconds, 2),
    // The worker's own cost per delivery (its process group: wrangler and workerd, all threads).
    perCpuSecond: cpuSeconds ? round(received / cpuSeconds, 1) : null,
    failedRequests: failed,
    quiesceMs,
  };
}

/**
 * Measures the outbound ceiling around `between` (the edgebus measurement it calibrates);
 * returns the calibration record. `between` runs even when the calibration fails.
 */
export async function bracketOutbound(ctx, between) {
  const rec = record("calibration.outbound", "Outbound ceiling: calibration worker, signed POSTs/s", "calibration");
  const inFlight = OUTBOUND_DRIVERS * OUTBOUND_FANOUT;
  const started = Date.now();
  ctx.log.start(rec, `${OUTBOUND_DRIVERS} drivers × fan-out ${OUTBOUND_FANOUT} (${inFlight} in flight), before and after`);
  const rounds = [];
  const one = (tag) => guarded(rec, { done: () => {} }, async () => rounds.push(await outboundRound(ctx, tag)));
  await one("a");
  const inner = await between();
  if (rec.status === "ok") await one("b");
  finish(rec, started, rounds, "deliveriesPerSec", { inFlight, drivers: OUTBOUND_DRIVERS, fanout: OUTBOUND_FANOUT });
  ctx.log.done(rec);
  return [rec, ...inner];
}

/**
 * Measures the publish floor interleaved with `between` (the publish it calibrates); returns the
 * calibration record and `between`'s records. The publish's measured seconds are cut into slices
 * with a floor slice of the same length beside each, in the order floor, publish, publish,
 * floor, floor… (load.mjs, `interleave`); the floor warms up before its first slice. Short
 * alternated slices rather than one round before and one after: the machine's load drifts within
 * seconds, and the slices halved the spread of the ratio between runs (BENCHMARKS.md).
 */
export async function bracketInsert(ctx, between) {
  const rec = record("calibration.insert", "Publish floor: calibration worker, one DO call + one SQLite insert", "calibration");
  const { connections, durationSec, warmupSec } = ctx.cfg;
  // Whole seconds (autocannon stops on its one-second tick), at least the configured duration.
  const sliceSec = durationSec >= 4 ? 2 : 1;
  const slices = 2 * Math.max(1, Math.ceil(durationSec / (2 * sliceSec)));
  const started = Date.now();
  ctx.log.start(rec, `${connections} connections, warm-up ${warmupSec} s, ${slices} slices of ${sliceSec} s between the publish's`);
  const rounds = [];
  const request = { method: "POST", path: "/insert", headers: { "content-type": "application/json" }, body: eventBody("bench.none") };
  const slice = (warmup) =>
    guarded(rec, { done: () => {} }, async () => {
      const quiesceMs = warmup ? await ctx.quiesce() : 0;
      const m = await measure({
        url: ctx.calibrationUrl,
        request,
        connections,
        durationSec: sliceSec,
        warmupSec: warmup ? warmupSec : 0,
        cpu: ctx.cpu.calibration,
      });
      if (m.ok === 0 || m.non2xx + m.errors > m.ok) throw new Error(`floor: ${m.ok} 2xx, ${m.non2xx} non-2xx, ${m.errors} errors`);
      rounds.push({
        rps: m.rps,
        perCpuSecond: m.perCpuSecond ?? null,
        p50Ms: m.p50Ms,
        p99Ms: m.p99Ms,
        ok: m.ok,
        seconds: m.durationSec,
        cpuSeconds: m.cpuSeconds ?? null,
        quiesceMs,
      });
    });
  // The warm-up's slice counts as the first one; the others run between the publish's slices.
  let first = true;
  ctx.interleave = {
    slices,
    sliceSec,
    run: async () => {
      if (rec.status !== "ok") return;
      await slice(first);
      first = false;
    },
  };
  let inner;
  try {
    inner = await between();
  } finally {
    ctx.interleave = null;
  }
  if (rec.status === "ok" && rounds.length === 0) {
    rec.status = "skipped";
    rec.reason = "the publish it calibrates measured nothing";
  }
  finish(rec, started, rounds, "rps", { connections, slices });
  if (rec.calibration) {
    // Over all slices, as the publish's own figures are: requests over seconds, and over CPU time.
    const sum = (key) => rounds.reduce((a, r) => a + r[key], 0);
    rec.calibration.value = round(sum("ok") / sum("seconds"), 1);
    const cpuKnown = rounds.every((r) => r.cpuSeconds);
    if (cpuKnown) rec.calibration.perCpuSecond = round(sum("ok") / sum("cpuSeconds"), 1);
    else delete rec.calibration.perCpuSecond;
  }
  ctx.log.done(rec);
  return [rec, ...inner];
}

/** The calibrated value is the mean of the rounds (the elapsed time includes the bracketed run); the publish floor sums its slices instead. */
function finish(rec, started, rounds, key, settings) {
  rec.elapsedSec = round((Date.now() - started) / 1000, 1);
  if (rec.status !== "ok") return;
  const mean = (values) => round(values.reduce((a, b) => a + b, 0) / values.length, 1);
  const perCpu = rounds.map((r) => r.perCpuSecond).filter((x) => x != null);
  rec.calibration = {
    value: mean(rounds.map((r) => r[key])),
    unit: key,
    ...(perCpu.length ? { perCpuSecond: mean(perCpu) } : {}),
    rounds,
    ...settings,
  };
}
