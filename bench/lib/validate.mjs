/**
 * The shape check of bench/results/latest.json that the --quick smoke run ends with. It checks
 * that every figure is present and well-typed — never how fast anything was. Returns a list of
 * problems (empty = valid). Also usable alone: `node bench/lib/validate.mjs [file]`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const STATUSES = new Set(["ok", "skipped", "error"]);
const isNum = (x) => typeof x === "number" && Number.isFinite(x);
const isNumOrNull = (x) => x === null || isNum(x);

export function validate(doc) {
  const problems = [];
  const need = (cond, what) => {
    if (!cond) problems.push(what);
  };
  need(doc && typeof doc === "object", "document is not an object");
  if (!doc || typeof doc !== "object") return problems;
  need(doc.schemaVersion === 1, "schemaVersion must be 1");
  need(doc.mode === "quick" || doc.mode === "full", "mode must be quick or full");
  need(typeof doc.timestamp === "string" && !Number.isNaN(Date.parse(doc.timestamp)), "timestamp must be an ISO date");
  need(typeof doc.ok === "boolean", "ok must be a boolean");
  const m = doc.machine ?? {};
  need(typeof m.os === "string", "machine.os");
  need(typeof m.cpus?.model === "string" && isNum(m.cpus?.count) && m.cpus.count > 0, "machine.cpus {model, count}");
  need(isNum(m.memoryBytes) && m.memoryBytes > 0, "machine.memoryBytes");
  need(typeof m.node === "string" && m.node.startsWith("v"), "machine.node");
  need(typeof m.wrangler === "string" && /^\d+\.\d+\.\d+/.test(m.wrangler), "machine.wrangler");
  need(m.gitCommit === null || /^[0-9a-f]{40}$/.test(m.gitCommit), "machine.gitCommit");
  const s = doc.settings ?? {};
  for (const k of ["connections", "durationSec", "warmupSec", "rate", "e2eSec", "drainSec"]) need(isNum(s[k]), `settings.${k}`);
  need(Array.isArray(s.sizes) && s.sizes.every(isNum), "settings.sizes");
  need(Array.isArray(s.subscriptionCounts) && s.subscriptionCounts.every(isNum), "settings.subscriptionCounts");
  for (const k of ["deliveryEvents", "orderedPerPartition", "throttleEvents", "pullEvents", "replayEvents"])
    need(isNum(s[k]), `settings.${k}`);
  need(isNum(doc.baselineRps) && doc.baselineRps > 0, "baselineRps (GET /health) must be a positive number");

  need(Array.isArray(doc.scenarios) && doc.scenarios.length > 0, "scenarios must be a non-empty array");
  const required = [
    "health",
    "calibration.insert",
    "publish.none",
    "publish.schema",
    "publish.3subs",
    "publish.batch100",
    "cache.hit",
    "orders.hit",
    "tasks.worker",
    "calibration.outbound",
    "delivery.sustained",
    "delivery.ordered",
    "delivery.throttle",
    "delivery.isolation",
    "delivery.faults",
    "e2e.3subs",
    "pull.throughput",
    "replay.throughput",
  ];
  const ids = new Set((doc.scenarios ?? []).map((r) => r.id));
  for (const id of required) need(ids.has(id), `scenario ${id} is missing`);
  for (const size of s.sizes ?? [])
    need(ids.has(`growth.partition.${size}.publish`), `scenario growth.partition.${size}.publish is missing`);
  for (const n of s.subscriptionCounts ?? []) need(ids.has(`growth.subs.${n}`), `scenario growth.subs.${n} is missing`);
  for (const n of s.subscriptionCounts ?? []) need(ids.has(`growth.filtered.${n}`), `scenario growth.filtered.${n} is missing`);
  for (const r of doc.scenarios ?? []) {
    const at = `scenario ${r.id}`;
    need(typeof r.id === "string" && typeof r.title === "string", `${at}: id and title`);
    need(STATUSES.has(r.status), `${at}: status must be ok, skipped or error`);
    need(Array.isArray(r.notes), `${at}: notes must be an array`);
    if (r.status !== "ok") {
      need(typeof r.reason === "string" && r.reason.length > 0, `${at}: a ${r.status} scenario needs a reason`);
      continue;
    }
    if (r.group === "calibration") {
      const c = r.calibration ?? {};
      need(isNum(c.value) && c.value > 0, `${at}: calibration.value must be a positive number`);
      need(c.unit === "rps" || c.unit === "deliveriesPerSec", `${at}: calibration.unit`);
      need(Array.isArray(c.rounds) && c.rounds.length > 0 && c.rounds.every((x) => isNum(x[c.unit])), `${at}: calibration.rounds`);
      continue;
    }
    if (r.group === "delivery") {
      problems.push(...validateDelivery(r.id, r.delivery ?? {}));
      continue;
    }
    if (r.group === "faults") {
      problems.push(...validateFaults(r.id, r.faults ?? {}));
      continue;
    }
    if (r.group === "pull") {
      problems.push(...validatePull(r.id, r.pull ?? {}));
      continue;
    }
    if (r.group === "e2e") {
      const e = r.e2e ?? {};
      for (const k of [
        "rateOffered",
        "publishRateAchieved",
        "published",
        "accepted",
        "expectedDeliveries",
        "delivered",
        "lost",
        "duplicates",
        "deliveriesPerSec",
        "backlogQ1",
        "backlogQ4",
      ])
        need(isNum(e[k]), `${at}: e2e.${k}`);
      for (const k of ["latencyP50Ms", "latencyP95Ms", "latencyP99Ms", "receiptRateQ1", "receiptRateQ4"])
        need(isNumOrNull(e[k]), `${at}: e2e.${k}`);
      need(typeof e.backlogGrew === "boolean", `${at}: e2e.backlogGrew`);
      continue;
    }
    const x = r.metrics ?? {};
    for (const k of ["connections", "durationSec", "requests", "ok", "non2xx", "errors", "rps", "itemsPerSec"])
      need(isNum(x[k]), `${at}: metrics.${k}`);
    for (const k of ["p50Ms", "p99Ms"]) need(isNumOrNull(x[k]), `${at}: metrics.${k}`);
    need(isNum(r.ratioToHealth), `${at}: ratioToHealth`);
  }
  need(Array.isArray(doc.targets) && doc.targets.length === 17, "targets must list the 17 targets");
  for (const t of doc.targets ?? []) {
    need(typeof t.id === "string" && typeof t.description === "string", "target id/description");
    need(t.met === null || typeof t.met === "boolean", `target ${t.id}: met must be true, false or null`);
  }
  need(
    doc.seeding === null || (isNum(doc.seeding?.eventsPerSec) && isNum(doc.seeding?.events)),
    "seeding must be null or {events, seconds, eventsPerSec}",
  );
  return problems;
}

/** The figures of a delivery scenario (sustained, ordered, throttle). */
function validateDelivery(id, d) {
  const problems = [];
  const need = (cond, what) => cond || problems.push(`scenario ${id}: delivery.${what}`);
  for (const k of ["events", "expectedDeliveries", "delivered", "lost", "duplicates", "publishSec", "drainSec", "deliveriesPerSec"])
    need(isNum(d[k]), k);
  need(isNumOrNull(d.sustainedPerSec), "sustainedPerSec");
  if (id === "delivery.sustained") need(isNumOrNull(d.perCpuSecond), "perCpuSecond");
  if (id === "delivery.ordered") {
    for (const k of ["partitions", "orderViolations", "previousSequenceGaps", "partitionsSeen"]) need(isNum(d[k]), k);
    need(isNumOrNull(d.perPartitionPerSec), "perPartitionPerSec");
  }
  if (id === "delivery.throttle") {
    for (const k of ["perSecond", "maxPerSecondWindow", "maxPer900msWindow"]) need(isNum(d[k]), k);
    need(isNumOrNull(d.meanPerSecond), "meanPerSecond");
    need(Array.isArray(d.windowCounts) && d.windowCounts.every(isNum), "windowCounts");
  }
  return problems;
}

/** The figures of the isolation and fault scenarios. */
function validateFaults(id, f) {
  const problems = [];
  const need = (cond, what) => cond || problems.push(`scenario ${id}: faults.${what}`);
  if (id === "delivery.isolation") {
    for (const k of [
      "rate",
      "seconds",
      "slowMs",
      "slowEvents",
      "slowHeldAtStart",
      "slowHeldAtEnd",
      "slowMaxHeld",
      "slowExpected",
      "slowDelivered",
    ])
      need(isNum(f[k]), k);
    for (const phase of ["alone", "beside"]) {
      for (const k of ["published", "accepted", "delivered", "lost"]) need(isNum(f[phase]?.[k]), `${phase}.${k}`);
      for (const k of ["p50Ms", "p99Ms", "maxMs"]) need(isNumOrNull(f[phase]?.[k]), `${phase}.${k}`);
    }
  }
  if (id === "delivery.faults") {
    for (const phase of ["healthy", "faulty"]) {
      for (const k of ["expected", "delivered", "stillRetrying", "neverAttempted", "duplicates", "requests", "failed"])
        need(isNum(f[phase]?.[k]), `${phase}.${k}`);
      for (const k of ["firstAttemptsPerSec", "drainSec"]) need(isNumOrNull(f[phase]?.[k]), `${phase}.${k}`);
    }
    for (const k of ["events", "retries", "policyDrainSec"]) need(isNum(f[k]), k);
    for (const k of ["firstAttemptRatio", "retryLateP50Ms", "retryLateP99Ms", "retryLateMaxMs"]) need(isNumOrNull(f[k]), k);
  }
  return problems;
}

/** The figures of the pull and replay scenarios. */
function validatePull(id, p) {
  const problems = [];
  const need = (cond, what) => cond || problems.push(`scenario ${id}: pull.${what}`);
  for (const k of ["events", "partitions", "pulled", "pullSec"]) need(isNum(p[k]), k);
  need(isNumOrNull(p.messagesPerSec), "messagesPerSec");
  if (id === "pull.throughput") {
    for (const k of ["expected", "acked", "redelivered", "pulls", "emptyPulls", "publishSec", "publishEventsPerSec"]) need(isNum(p[k]), k);
    for (const k of ["ratioToPublish", "batchPublishEventsPerSec", "ratioToBatchPublish"]) need(isNumOrNull(p[k]), k);
  }
  if (id === "replay.throughput") {
    for (const k of [
      "seedSec",
      "seedEventsPerSec",
      "partitionsScanned",
      "eventsScanned",
      "deliveriesCreated",
      "replaySec",
      "observedSec",
      "allPulledSec",
    ])
      need(isNum(p[k]), k);
    for (const k of ["eventsScannedPerSec", "deliveriesCreatedPerSec"]) need(isNumOrNull(p[k]), k);
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? new URL("../results/latest.json", import.meta.url);
  const problems = validate(JSON.parse(readFileSync(file, "utf8")));
  for (const p of problems) console.error(`invalid: ${p}`);
  console.log(problems.length === 0 ? "valid" : `${problems.length} problem(s)`);
  process.exit(problems.length === 0 ? 0 : 1);
}
