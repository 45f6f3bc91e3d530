/**
 * Turns a run's records into the result document (bench/results/latest.json), the targets with
 * met/missed, and the Markdown tables printed at the end and written into BENCHMARKS.md between
 * `<!-- bench:start -->` and `<!-- bench:end -->` (the rest of that file is left as it is).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { arch, cpus, release, totalmem, type } from "node:os";
import { join } from "node:path";
import { fmt } from "./growth.mjs";
import { round } from "./load.mjs";
import { deliveryMarkdown, deliveryTargets } from "./report-delivery.mjs";

export const START = "<!-- bench:start -->";
export const END = "<!-- bench:end -->";

function git(root, args) {
  try {
    return execFileSync("git", ["--no-optional-locks", ...args], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(root) {
  const list = cpus();
  const wrangler = JSON.parse(readFileSync(join(root, "node_modules", "wrangler", "package.json"), "utf8")).version;
  const status = git(root, ["status", "--porcelain", "--", "src", "wrangler.toml"]);
  return {
    os: `${type()} ${release()} ${arch()}`,
    cpus: { model: list[0]?.model?.trim() ?? "unknown", count: list.length },
    memoryBytes: totalmem(),
    node: process.version,
    wrangler,
    gitCommit: git(root, ["rev-parse", "HEAD"]),
    gitDirty: status === null ? null : status !== "",
  };
}

/** Ratio of every load/growth figure to the baseline's requests/s. */
export function applyRatios(records) {
  const base = records.find((r) => r.id === "health");
  const baseRps = base?.status === "ok" ? base.metrics.rps : null;
  for (const r of records) {
    if (r.metrics && baseRps) r.ratioToHealth = round(r.metrics.rps / baseRps, 3);
  }
  return baseRps;
}

const byId = (records, id) => records.find((r) => r.id === id && r.status === "ok");

function ratioTarget(id, description, threshold, num, den, unit = "×") {
  if (num == null || den == null || den === 0)
    return { id, description, target: `≥ ${threshold}${unit}`, measured: null, measuredText: "not measured", met: null };
  const ratio = round(num / den, 3);
  return {
    id,
    description,
    target: `≥ ${threshold}${unit}`,
    measured: ratio,
    measuredText: `${ratio.toFixed(2)}×`,
    met: ratio >= threshold,
  };
}

export function targets(records, cfg) {
  const rps = (id) => byId(records, id)?.metrics.rps ?? null;
  const eps = (id) => byId(records, id)?.metrics.itemsPerSec ?? null;
  const sizes = [...cfg.sizes].sort((a, b) => a - b);
  const [small, large] = [sizes[0], sizes.at(-1)];
  const [fewSubs, manySubs] = [Math.min(...cfg.subscriptionCounts), Math.max(...cfg.subscriptionCounts)];
  const e2e = byId(records, "e2e.3subs")?.e2e;
  const at = `at ${cfg.rate} events/s${cfg.quick ? " (quick mode; the target is at 200/s)" : ""}`;
  return [
    ratioTarget("publish-vs-health", "POST /events (no subscribers) req/s vs GET /health", 0.8, rps("publish.none"), rps("health")),
    ratioTarget(
      "batch-vs-single",
      "POST /events/batch events/s vs single-publish events/s",
      5,
      eps("publish.batch100"),
      eps("publish.none"),
    ),
    ratioTarget(
      "schema-vs-none",
      "POST /events of a type with a registered schema vs one without",
      0.9,
      rps("publish.schema"),
      rps("publish.none"),
    ),
    ratioTarget("cache-vs-health", "GET /cache/:key hit req/s vs GET /health", 0.9, rps("cache.hit"), rps("health")),
    e2e
      ? {
          id: "e2e-lost",
          description: `End to end, 3 subscribers ${at}: lost deliveries`,
          target: "0",
          measured: e2e.lost,
          measuredText: `${e2e.lost} of ${e2e.expectedDeliveries}`,
          met: e2e.lost === 0,
        }
      : {
          id: "e2e-lost",
          description: "End to end: lost deliveries",
          target: "0",
          measured: null,
          measuredText: "not measured",
          met: null,
        },
    e2e
      ? {
          id: "e2e-backlog",
          description: `End to end ${at}: backlog does not grow`,
          target: "no growth",
          measured: e2e.backlogGrew,
          measuredText: `latency p50 ${e2e.latencyP50Q1Ms} → ${e2e.latencyP50Q4Ms} ms, backlog ${e2e.backlogQ1} → ${e2e.backlogQ4} (first → last quarter)`,
          met: !e2e.backlogGrew,
        }
      : {
          id: "e2e-backlog",
          description: "End to end: backlog does not grow",
          target: "no growth",
          measured: null,
          measuredText: "not measured",
          met: null,
        },
    e2e
      ? {
          id: "e2e-p99",
          description: `End to end ${at}: publish→receipt p99`,
          target: "≤ 250 ms",
          measured: e2e.latencyP99Ms,
          measuredText: `${e2e.latencyP99Ms} ms`,
          met: e2e.latencyP99Ms !== null && e2e.latencyP99Ms <= 250,
        }
      : {
          id: "e2e-p99",
          description: "End to end: publish→receipt p99",
          target: "≤ 250 ms",
          measured: null,
          measuredText: "not measured",
          met: null,
        },
    ratioTarget(
      "partition-growth",
      `POST /events into a partition of ${fmt(large)} vs ${fmt(small)} events`,
      0.9,
      rps(`growth.partition.${large}.publish`),
      rps(`growth.partition.${small}.publish`),
    ),
    ratioTarget(
      "subscription-growth",
      `POST /events with ${fmt(manySubs)} vs ${fmt(fewSubs)} subscriptions`,
      0.9,
      rps(`growth.subs.${manySubs}`),
      rps(`growth.subs.${fewSubs}`),
    ),
    ...deliveryTargets(records, cfg.quick),
    ratioTarget(
      "filtered-growth",
      `POST /events with ${fmt(manySubs)} vs ${fmt(fewSubs)} subscriptions, all with filters`,
      0.9,
      rps(`growth.filtered.${manySubs}`),
      rps(`growth.filtered.${fewSubs}`),
    ),
  ];
}

const num = (x, d = 1) =>
  x === null || x === undefined || !Number.isFinite(x)
    ? "–"
    : x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: 0 });

function row(r) {
  const m = r.metrics;
  const note =
    r.status === "skipped"
      ? `skipped: ${r.reason}`
      : r.status === "error"
        ? `ERROR: ${r.reason.split("\n")[0].slice(0, 160)}`
        : r.notes.join("; ");
  const items = m && r.perItem ? num(m.itemsPerSec, 0) : "";
  return `| ${r.title} | ${m ? num(m.rps) : "–"} | ${items} | ${m ? num(m.p50Ms, 2) : "–"} | ${m ? num(m.p99Ms, 2) : "–"} | ${r.ratioToHealth != null ? `${r.ratioToHealth.toFixed(2)}×` : "–"} | ${note.replace(/\|/g, "\\|")} |`;
}

export function markdown(doc) {
  const m = doc.machine;
  const s = doc.settings;
  const lines = [
    `Mode **${doc.mode}**, ${doc.timestamp}, commit \`${(m.gitCommit ?? "unknown").slice(0, 10)}\`${m.gitDirty ? " (with uncommitted changes)" : ""}.`,
    `Machine: ${m.os}; ${m.cpus.count} × ${m.cpus.model}; ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB; Node ${m.node}; wrangler ${m.wrangler}.`,
    `Load: ${s.connections} connections, warm-up ${s.warmupSec} s, ${s.durationSec} s per scenario (POST /events without subscribers: in slices alternated with the publish floor's, see Calibration). End to end: ${s.rate} events/s for ${s.e2eSec} s, drain ≤ ${s.drainSec} s.`,
    "",
    "| Scenario | req/s | events/s | p50 ms | p99 ms | × /health | notes |",
    "|---|--:|--:|--:|--:|--:|---|",
    ...doc.scenarios.filter((r) => r.group === "load" || r.group === "growth").map(row),
    "",
    ...deliveryMarkdown(doc),
  ];
  const e = doc.scenarios.find((r) => r.id === "e2e.3subs");
  if (e?.e2e) {
    const x = e.e2e;
    lines.push(
      "| End to end | value |",
      "|---|--:|",
      `| offered | ${x.rateOffered} events/s × ${x.seconds} s, 3 subscribers |`,
      `| published / accepted | ${x.published} / ${x.accepted}, at ${num(x.publishRateAchieved)} events/s achieved (publish p50 ${num(x.publishP50Ms, 2)} ms, p99 ${num(x.publishP99Ms, 2)} ms) |`,
      `| delivered / expected | ${x.delivered} / ${x.expectedDeliveries} |`,
      `| lost / duplicated | ${x.lost} / ${x.duplicates} |`,
      `| deliveries/s | ${num(x.deliveriesPerSec)} |`,
      `| publish→receipt p50 / p95 / p99 / max | ${num(x.latencyP50Ms)} / ${num(x.latencyP95Ms)} / ${num(x.latencyP99Ms)} / ${num(x.latencyMaxMs)} ms |`,
      `| receipts/s first → last quarter | ${num(x.receiptRateQ1)} → ${num(x.receiptRateQ4)} (offered ${x.rateOffered * 3}) |`,
      `| latency p50, events published in the first → last quarter | ${num(x.latencyP50Q1Ms)} → ${num(x.latencyP50Q4Ms)} ms |`,
      `| backlog (deliveries owed), mean in the first → last quarter | ${num(x.backlogQ1)} → ${num(x.backlogQ4)}: ${x.backlogGrew ? "**grew**" : "steady"} |`,
      `| drain after publishing | ${num(x.drainSec)} s |`,
      "",
    );
  } else if (e) {
    lines.push(`End to end: ${e.status}${e.reason ? ` — ${e.reason.split("\n")[0]}` : ""}`, "");
  }
  lines.push(...pullMarkdown(doc));
  if (doc.seeding)
    lines.push(
      `Seeding (POST /events/batch of 100, 4 in flight, one partition): ${num(doc.seeding.eventsPerSec, 0)} events/s (${doc.seeding.events} events in ${num(doc.seeding.seconds, doc.seeding.seconds < 1 ? 3 : 1)} s).`,
      "",
    );
  lines.push("| Target | goal | measured | |", "|---|---|---|---|");
  for (const t of doc.targets)
    lines.push(
      `| ${t.description} | ${t.target} | ${t.measuredText} | ${t.met === null ? "not measured" : t.met ? "met" : "**missed**"} |`,
    );
  return lines.join("\n");
}

/** Rows of the pull/replay table (empty when neither ran). */
function pullMarkdown(doc) {
  const rows = [];
  for (const r of doc.scenarios.filter((x) => x.group === "pull")) {
    const p = r.pull;
    if (r.status !== "ok")
      rows.push(`| ${r.title} | ${r.status}${r.reason ? `: ${r.reason.split("\n")[0].slice(0, 160).replace(/\|/g, "\\|")}` : ""} |`);
    else if (r.id === "replay.throughput")
      rows.push(
        `| ${r.title} | **${num(p.eventsScannedPerSec, 0)}** events scanned/s, **${num(p.deliveriesCreatedPerSec, 0)}** deliveries created/s (${p.eventsScanned} / ${p.deliveriesCreated} over ${p.partitionsScanned} partitions in ${num(p.replaySec, 2)} s); all ${p.pulled} pulled ${num(p.allPulledSec)} s after the replay POST (${num(p.messagesPerSec)} messages/s); seeded at ${num(p.seedEventsPerSec, 0)} events/s |`,
      );
    else
      rows.push(
        `| ${r.title} | **${num(p.messagesPerSec)}** messages/s pulled and acked (${p.pulled} / ${p.expected} in ${num(p.pullSec, 2)} s, ${p.pulls} pulls) = **${p.ratioToPublish === null ? "–" : `${p.ratioToPublish.toFixed(2)}×`}** publishing them (${num(p.publishEventsPerSec, 0)} events/s, batches of 100)${p.ratioToBatchPublish === null ? "" : `, ${p.ratioToBatchPublish.toFixed(2)}× the batch publish scenario`} |`,
      );
  }
  return rows.length === 0 ? [] : ["| Pull and replay | value |", "|---|---|", ...rows, ""];
}

/** Replaces the block between the markers; appends one when the markers are missing. */
export function updateBenchmarksMd(path, table) {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = "# Benchmarks\n";
  }
  const block = `${START}\n${table}\n${END}`;
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const next = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n## Results\n\n${block}\n`;
  writeFileSync(path, next);
}
