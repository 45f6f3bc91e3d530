#!/usr/bin/env node
/**
 * `npm run bench` — edgebus benchmarks on one machine in one run (see BENCHMARKS.md).
 *
 *   node bench/run.mjs [--quick] [--sizes 0,100000,1000000] [--subs 10,1000] [--connections 10]
 *                      [--duration S] [--warmup S] [--rate N] [--e2e-seconds S] [--drain S] [--settle S]
 *                      [--only health,publish.none,delivery,faults,e2e,partition,subs,filtered,pull,replay.throughput] [--write-md|--no-write-md]
 *                      [--keep-state]
 *
 * Starts wrangler dev (fresh state, free port), the calibration worker (bench/calibration, in its
 * own wrangler dev) and a receiver, runs every scenario, prints a
 * progress line per scenario and the tables, writes bench/results/latest.json and (full mode, or
 * --write-md) the table in BENCHMARKS.md. Exits 1 when the run failed (server did not start, a
 * scenario errored, the result is malformed) — never because something was slow.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Api } from "./lib/api.mjs";
import { bracketInsert, bracketOutbound } from "./lib/calibration.mjs";
import { runOrdered, runSustained, runThrottle } from "./lib/delivery.mjs";
import { runE2E } from "./lib/e2e.mjs";
import { runFaults, runIsolation } from "./lib/faults.mjs";
import { runPartitionGrowth, runSubscriptionGrowth } from "./lib/growth.mjs";
import { stopLoad } from "./lib/load.mjs";
import { loadScenarios, runLoadScenario } from "./lib/load-scenarios.mjs";
import { runPullThroughput, runReplayThroughput } from "./lib/pull.mjs";
import { Receiver } from "./lib/receiver.mjs";
import { applyRatios, machineInfo, markdown, targets, updateBenchmarksMd } from "./lib/report.mjs";
import { WranglerDev } from "./lib/server.mjs";
import { validate } from "./lib/validate.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULT = join(ROOT, "bench", "results", "latest.json");

const MODES = {
  quick: {
    connections: 10,
    warmupSec: 1,
    durationSec: 2,
    rate: 50,
    e2eSec: 3,
    drainSec: 20,
    settleSec: 10,
    duplicateGraceMs: 500,
    sizes: [0, 2000],
    subscriptionCounts: [10, 250],
    deliveryEvents: 500,
    orderedPerPartition: 10,
    throttleEvents: 150,
    isolationRate: 20,
    isolationSec: 4,
    isolationSlowEvents: 100,
    faultEvents: 100,
    faultDrainSec: 120,
    pullEvents: 2000,
    replayEvents: 2000,
    replayPartitions: 100,
    watchdogSec: 300,
  },
  full: {
    connections: 10,
    warmupSec: 3,
    durationSec: 10,
    rate: 200,
    e2eSec: 20,
    drainSec: 60,
    settleSec: 240,
    duplicateGraceMs: 2000,
    sizes: [0, 100_000, 1_000_000],
    subscriptionCounts: [10, 1000],
    deliveryEvents: 3000,
    orderedPerPartition: 100,
    throttleEvents: 600,
    isolationRate: 50,
    isolationSec: 10,
    isolationSlowEvents: 300,
    faultEvents: 1000,
    faultDrainSec: 480,
    pullEvents: 10_000,
    replayEvents: 100_000,
    replayPartitions: 100,
    watchdogSec: 5400,
  },
};

function config() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      sizes: { type: "string" },
      subs: { type: "string" },
      connections: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      rate: { type: "string" },
      "e2e-seconds": { type: "string" },
      drain: { type: "string" },
      settle: { type: "string" },
      only: { type: "string" },
      "write-md": { type: "boolean" },
      "no-write-md": { type: "boolean", default: false },
      "keep-state": { type: "boolean", default: false },
    },
  });
  const mode = values.quick ? "quick" : "full";
  const cfg = { mode, quick: values.quick, ...MODES[mode] };
  const list = (s) =>
    s
      .split(",")
      .map((x) => Number(x.trim()))
      .filter((x) => Number.isInteger(x) && x >= 0);
  if (values.sizes) cfg.sizes = list(values.sizes);
  if (values.subs) cfg.subscriptionCounts = list(values.subs).map((n) => Math.min(1000, Math.max(3, n)));
  for (const [flag, key] of [
    ["connections", "connections"],
    ["duration", "durationSec"],
    ["warmup", "warmupSec"],
    ["rate", "rate"],
    ["e2e-seconds", "e2eSec"],
    ["drain", "drainSec"],
    ["settle", "settleSec"],
  ]) {
    if (values[flag] !== undefined) cfg[key] = Number(values[flag]);
  }
  cfg.only = values.only ? new Set(values.only.split(",").map((s) => s.trim())) : null;
  cfg.writeMd = values["no-write-md"] ? false : (values["write-md"] ?? mode === "full");
  cfg.keepState = values["keep-state"];
  return cfg;
}

const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s`;
const log = {
  start: (rec, detail) => console.log(`${clock()} ▶ ${rec.title}${detail ? ` — ${detail}` : ""}`),
  progress: (text) => console.log(`${clock()}   … ${text}`),
  done: (rec) => {
    const m = rec.metrics;
    let text;
    if (rec.status === "skipped") text = `– ${rec.title}: skipped: ${rec.reason}`;
    else if (rec.status === "error") text = `✗ ${rec.title}: ERROR ${rec.reason}`;
    else if (rec.calibration) {
      const c = rec.calibration;
      text = `✓ ${rec.title}: ${c.value} ${c.unit === "rps" ? "req" : "deliveries"}/s (rounds ${c.rounds.map((r) => r[c.unit]).join(", ")})`;
    } else if (rec.delivery) {
      const d = rec.delivery;
      text = `✓ ${rec.title}: ${d.delivered}/${d.expectedDeliveries} delivered, ${d.sustainedPerSec} deliveries/s sustained, dup ${d.duplicates}${d.orderViolations !== undefined ? `, order violations ${d.orderViolations}, gaps ${d.previousSequenceGaps}` : ""}${d.maxPerSecondWindow !== undefined ? `, max 1 s window ${d.maxPerSecondWindow}, mean ${d.meanPerSecond}/s` : ""}`;
    } else if (rec.faults?.beside) {
      const f = rec.faults;
      text = `✓ ${rec.title}: fast tenant p50/p99 ${f.alone.p50Ms}/${f.alone.p99Ms} ms alone, ${f.beside.p50Ms}/${f.beside.p99Ms} ms beside ${f.slowHeldAtStart} hanging requests; lost ${f.alone.lost + f.beside.lost}`;
    } else if (rec.faults) {
      const f = rec.faults;
      text = `✓ ${rec.title}: first attempts ${f.faulty.firstAttemptsPerSec}/s vs ${f.healthy.firstAttemptsPerSec}/s healthy (${f.firstAttemptRatio}×); retries late p50/p99 ${f.retryLateP50Ms}/${f.retryLateP99Ms} ms; drained in ${f.faulty.drainSec ?? "–"} s (policy allows ${f.policyDrainSec} s); still retrying ${f.faulty.stillRetrying}, never attempted ${f.faulty.neverAttempted}, dup ${f.faulty.duplicates}`;
    } else if (rec.pull?.eventsScanned !== undefined) {
      const p = rec.pull;
      text = `✓ ${rec.title}: ${p.eventsScanned} scanned, ${p.deliveriesCreated} deliveries in ${p.replaySec} s = ${p.eventsScannedPerSec} scanned/s, ${p.deliveriesCreatedPerSec} created/s; all ${p.pulled} pulled ${p.allPulledSec} s after the replay POST (${p.messagesPerSec} messages/s)`;
    } else if (rec.pull) {
      const p = rec.pull;
      text = `✓ ${rec.title}: ${p.pulled}/${p.expected} pulled and acked, ${p.messagesPerSec} messages/s = ${p.ratioToPublish}× publishing them (${p.publishEventsPerSec} events/s)${p.ratioToBatchPublish !== null ? `, ${p.ratioToBatchPublish}× the batch scenario` : ""}`;
    } else if (rec.e2e) {
      const e = rec.e2e;
      text = `✓ ${rec.title}: ${e.delivered}/${e.expectedDeliveries} delivered, lost ${e.lost}, dup ${e.duplicates}, p50/p95/p99 ${e.latencyP50Ms}/${e.latencyP95Ms}/${e.latencyP99Ms} ms, backlog ${e.backlogGrew ? "grew" : "steady"}`;
    } else {
      text = `✓ ${rec.title}: ${m.rps} req/s${rec.perItem ? ` (${m.itemsPerSec} ${rec.perItem}/s)` : ""}, p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms`;
    }
    const notes = rec.status === "ok" && rec.notes.length ? ` [${rec.notes.join("; ")}]` : "";
    console.log(`${clock()} ${text}${notes} (${rec.elapsedSec} s)`);
  },
};

let server = null;
let calibration = null;
let receiver = null;
let cleaning = null;

function cleanup() {
  cleaning ??= (async () => {
    stopLoad();
    await Promise.allSettled([server?.stop(), calibration?.stop(), receiver?.close()]);
  })();
  return cleaning;
}

async function bail(code, message) {
  console.error(message);
  await cleanup();
  process.exit(code);
}

async function main() {
  const cfg = config();
  const wanted = (id, group) => !cfg.only || cfg.only.has(id) || cfg.only.has(group);
  process.once("SIGINT", () => bail(130, "\ninterrupted: stopping wrangler dev and the receiver"));
  process.once("SIGTERM", () => bail(143, "\nterminated: stopping wrangler dev and the receiver"));
  process.once("exit", () => {
    server?.killNow();
    calibration?.killNow();
  });
  setTimeout(() => bail(1, `watchdog: the run took longer than ${cfg.watchdogSec} s`), cfg.watchdogSec * 1000).unref();

  console.log(`edgebus bench — ${cfg.mode} mode; sizes ${cfg.sizes.join(", ")}; subscriptions ${cfg.subscriptionCounts.join(", ")}`);
  receiver = new Receiver();
  await receiver.start();
  // The per-tenant publish quota (1,000 events/s by default) is lifted: the benchmarks measure
  // throughput, and batch publishing and seeding go faster than that. The quota is still checked.
  server = new WranglerDev(ROOT, { keepState: cfg.keepState, vars: { PUBLISH_PER_SECOND: "1000000" } });
  calibration = new WranglerDev(ROOT, { keepState: cfg.keepState, config: "bench/calibration/wrangler.toml" });
  const [url, calibrationUrl] = await Promise.all([server.start(), calibration.start()]);
  console.log(
    `${clock()} wrangler dev ready at ${url} (state in ${server.tmp}); calibration worker at ${calibrationUrl}; receiver at ${receiver.url}`,
  );
  const quiesce = () => server.quiesce();
  const cpu = { edgebus: () => server.cpuSeconds(), calibration: () => calibration.cpuSeconds() };
  const ctx = { url, calibrationUrl, quiesce, cpu, cfg, log, receiver, api: new Api(url, "dev-api-key"), runId: Date.now().toString(36) };

  const records = [];
  ctx.records = records;
  for (const s of loadScenarios()) {
    if (s.id !== "health" && !wanted(s.id, "load")) continue;
    // The publish floor is measured in slices alternated with the publish it calibrates.
    if (s.id === "publish.none") records.push(...(await bracketInsert(ctx, async () => [await runLoadScenario(ctx, s)])));
    else records.push(await runLoadScenario(ctx, s));
  }
  if (wanted("delivery.sustained", "delivery")) records.push(...(await bracketOutbound(ctx, async () => [await runSustained(ctx)])));
  if (wanted("delivery.ordered", "delivery")) records.push(await runOrdered(ctx));
  if (wanted("delivery.throttle", "delivery")) records.push(await runThrottle(ctx));
  if (wanted("delivery.isolation", "faults")) records.push(await runIsolation(ctx));
  if (wanted("delivery.faults", "faults")) records.push(await runFaults(ctx));
  if (wanted("e2e", "e2e")) records.push(await runE2E(ctx));
  if (wanted("partition", "growth")) records.push(...(await runPartitionGrowth(ctx)));
  if (wanted("subs", "growth")) records.push(...(await runSubscriptionGrowth(ctx)));
  if (wanted("filtered", "growth")) records.push(...(await runSubscriptionGrowth(ctx, { filtered: true })));
  if (wanted("pull.throughput", "pull")) records.push(await runPullThroughput(ctx));
  if (wanted("replay.throughput", "pull") || cfg.only?.has("replay")) records.push(await runReplayThroughput(ctx));

  const baselineRps = applyRatios(records);
  const seeds = records.map((r) => r.extra?.seeding).filter(Boolean);
  const seeded = seeds.reduce((a, s) => ({ events: a.events + s.events, seconds: a.seconds + s.seconds }), { events: 0, seconds: 0 });
  const serverLog = server.logSummary();
  const calibrationLog = calibration.logSummary();
  await cleanup();

  const doc = {
    schemaVersion: 1,
    mode: cfg.mode,
    timestamp: new Date().toISOString(),
    ok: baselineRps !== null && records.every((r) => r.status !== "error"),
    partial: cfg.only !== null,
    durationSec: Math.round((Date.now() - t0) / 1000),
    machine: machineInfo(ROOT),
    settings: {
      connections: cfg.connections,
      durationSec: cfg.durationSec,
      warmupSec: cfg.warmupSec,
      rate: cfg.rate,
      e2eSec: cfg.e2eSec,
      drainSec: cfg.drainSec,
      sizes: cfg.sizes,
      subscriptionCounts: cfg.subscriptionCounts,
      deliveryEvents: cfg.deliveryEvents,
      orderedPerPartition: cfg.orderedPerPartition,
      throttleEvents: cfg.throttleEvents,
      isolationRate: cfg.isolationRate,
      isolationSec: cfg.isolationSec,
      isolationSlowEvents: cfg.isolationSlowEvents,
      faultEvents: cfg.faultEvents,
      faultDrainSec: cfg.faultDrainSec,
      pullEvents: cfg.pullEvents,
      replayEvents: cfg.replayEvents,
      replayPartitions: cfg.replayPartitions,
    },
    baselineRps,
    seeding:
      seeded.events > 0
        ? {
            events: seeded.events,
            seconds: Math.round(seeded.seconds * 1000) / 1000,
            // Each seed step counts at least a millisecond.
            eventsPerSec: Math.round(seeded.events / seeded.seconds),
          }
        : null,
    scenarios: records,
    targets: targets(records, cfg),
    serverLog,
    calibrationLog,
  };
  mkdirSync(dirname(RESULT), { recursive: true });
  writeFileSync(RESULT, `${JSON.stringify(doc, null, 2)}\n`);

  const table = markdown(doc);
  console.log(`\n${table}\n`);
  if (serverLog.errorLines > 0)
    console.log(`server log: ${serverLog.errorLines} error line(s), e.g.\n  ${serverLog.errorSamples.join("\n  ")}\n`);

  // --only runs leave scenarios out on purpose; everything else is still checked.
  const problems = validate(doc).filter((p) => !doc.partial || !p.endsWith("is missing"));
  for (const p of problems) console.error(`result invalid: ${p}`);
  if (problems.length === 0 && cfg.writeMd && !doc.partial) {
    updateBenchmarksMd(join(ROOT, "BENCHMARKS.md"), table);
    console.log("BENCHMARKS.md updated between the bench markers");
  }
  console.log(`wrote ${RESULT} in ${doc.durationSec} s — ${doc.ok && problems.length === 0 ? "run OK" : "run FAILED"}`);
  process.exit(doc.ok && problems.length === 0 ? 0 : 1);
}

main().catch((err) => bail(1, `bench failed: ${err?.stack ?? err}`));
