/**
 * The calibrated figures' part of the report: the targets that compare edgebus with the
 * calibration worker (and the ordered and throttling checks), and their Markdown table.
 */
import { round } from "./load.mjs";

const ok = (records, id) => records.find((r) => r.id === id && r.status === "ok");

function target(id, description, goal, measured, measuredText, met) {
  return measured === null || measured === undefined
    ? { id, description, target: goal, measured: null, measuredText: "not measured", met: null }
    : { id, description, target: goal, measured, measuredText, met };
}

/** Deliveries/s of the sustained scenario ÷ the outbound ceiling, and publish ÷ the insert floor. */
export function calibratedRatios(records) {
  const ceiling = ok(records, "calibration.outbound")?.calibration?.value;
  const sustained = ok(records, "delivery.sustained")?.delivery?.sustainedPerSec;
  const floor = ok(records, "calibration.insert")?.calibration?.value;
  const publish = ok(records, "publish.none")?.metrics?.rps;
  const ceilingCpu = ok(records, "calibration.outbound")?.calibration?.perCpuSecond;
  const sustainedCpu = ok(records, "delivery.sustained")?.delivery?.perCpuSecond;
  const floorCpu = ok(records, "calibration.insert")?.calibration?.perCpuSecond;
  const publishCpu = ok(records, "publish.none")?.metrics?.perCpuSecond;
  return {
    deliveryVsCeiling: ceiling && sustained != null ? round(sustained / ceiling, 3) : null,
    // Deliveries per CPU-second of each process group: the cost ratio, steadier on a shared machine.
    deliveryVsCeilingCpu: ceilingCpu && sustainedCpu ? round(sustainedCpu / ceilingCpu, 3) : null,
    publishVsFloor: floor && publish != null ? round(publish / floor, 3) : null,
    publishVsFloorCpu: floorCpu && publishCpu ? round(publishCpu / floorCpu, 3) : null,
  };
}

export function deliveryTargets(records, quick = false) {
  const r = calibratedRatios(records);
  const ordered = ok(records, "delivery.ordered")?.delivery;
  const throttle = ok(records, "delivery.throttle")?.delivery;
  const isolation = ok(records, "delivery.isolation")?.faults;
  const faults = ok(records, "delivery.faults")?.faults;
  const x = (v) => (v === null ? null : `${v.toFixed(2)}×`);
  return [
    target(
      "delivery-vs-ceiling",
      "Sustained deliveries/s vs the outbound ceiling (calibration worker)",
      "≥ 0.8×",
      r.deliveryVsCeiling,
      x(r.deliveryVsCeiling),
      r.deliveryVsCeiling >= 0.8,
    ),
    target(
      "publish-vs-floor",
      "POST /events (no subscribers) req/s vs the publish floor (calibration worker)",
      "≥ 0.95×",
      r.publishVsFloor,
      x(r.publishVsFloor),
      r.publishVsFloor >= 0.95,
    ),
    target(
      "ordered-violations",
      "Ordered delivery: order violations at the receiver",
      "0",
      ordered?.orderViolations,
      `${ordered?.orderViolations} in ${ordered?.delivered} deliveries (X-Previous-Sequence gaps: ${ordered?.previousSequenceGaps})`,
      ordered?.orderViolations === 0 && ordered?.lost === 0,
    ),
    target(
      "throttle-max",
      "Throttling at 50/s: highest one-second window at the receiver",
      "≤ 55",
      throttle?.maxPerSecondWindow,
      `${throttle?.maxPerSecondWindow}`,
      throttle?.maxPerSecondWindow <= 55,
    ),
    target(
      "throttle-mean",
      "Throttling at 50/s: mean rate while a backlog exists",
      "≥ 45/s",
      throttle?.meanPerSecond,
      `${throttle?.meanPerSecond}/s`,
      throttle?.meanPerSecond >= 45,
    ),
    target(
      "isolation-p99",
      "Beside an endpoint that answers after 20 s: another tenant's publish→receipt p99",
      "< 1,000 ms",
      isolation?.beside.p99Ms,
      `${isolation?.beside.p99Ms} ms (alone: ${isolation?.alone.p99Ms} ms)`,
      isolation?.beside.p99Ms < 1000 && isolation?.beside.lost === 0,
    ),
    target(
      "faults-rate",
      `30 % of requests failing (incl. time-outs): first attempts/s vs a healthy receiver${quick ? " (quick mode: only indicative, its first attempts are over before the first retry)" : ""}`,
      "≥ 0.9×",
      faults?.firstAttemptRatio,
      x(faults?.firstAttemptRatio ?? null),
      faults?.firstAttemptRatio >= 0.9 && faults?.faulty.neverAttempted === 0,
    ),
  ];
}

const n = (v, d = 1) => (v === null || v === undefined ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: d }));

function rounds(c) {
  return c.rounds.map((r) => n(r[c.unit])).join(" / ");
}

/** Rows of the calibration table (empty when none of these scenarios ran). */
export function deliveryMarkdown(doc) {
  const rec = (id) => doc.scenarios.find((r) => r.id === id);
  const ratios = calibratedRatios(doc.scenarios);
  const rows = [];
  const failed = (r) => `${r.status}${r.reason ? `: ${r.reason.split("\n")[0].slice(0, 160).replace(/\|/g, "\\|")}` : ""}`;
  const add = (r, text) => r && rows.push(`| ${r.title} | ${r.status === "ok" ? text(r) : failed(r)} |`);
  add(
    rec("calibration.insert"),
    (r) =>
      `${n(r.calibration.value)} req/s (slices alternated with the publish's: ${rounds(r.calibration)})${r.calibration.perCpuSecond ? `; ${n(r.calibration.perCpuSecond)} per CPU-second` : ""}`,
  );
  const pub = rec("publish.none");
  if (pub?.status === "ok" && ratios.publishVsFloor !== null)
    rows.push(
      `| POST /events, no subscribers, vs the floor | ${n(pub.metrics.rps)} req/s = **${ratios.publishVsFloor.toFixed(2)}×**${
        ratios.publishVsFloorCpu === null
          ? ""
          : `; ${n(pub.metrics.perCpuSecond)} per CPU-second (${ratios.publishVsFloorCpu.toFixed(2)}× per CPU-second)`
      } |`,
    );
  add(
    rec("calibration.outbound"),
    (r) =>
      `${n(r.calibration.value)} deliveries/s, ${r.calibration.inFlight} in flight (before / after: ${rounds(r.calibration)}); ${n(r.calibration.perCpuSecond)} per CPU-second`,
  );
  add(rec("delivery.sustained"), (r) => {
    const d = r.delivery;
    const ratio = ratios.deliveryVsCeiling === null ? "" : ` = **${ratios.deliveryVsCeiling.toFixed(2)}×** the ceiling`;
    const cpu = ratios.deliveryVsCeilingCpu === null ? "" : ` (${ratios.deliveryVsCeilingCpu.toFixed(2)}× per CPU-second)`;
    return `${n(d.sustainedPerSec)} deliveries/s sustained${ratio}; ${n(d.perCpuSecond)} per CPU-second${cpu}; ${d.delivered} / ${d.expectedDeliveries} in ${n(d.drainSec)} s, ${d.duplicates} duplicated`;
  });
  add(rec("delivery.ordered"), (r) => {
    const d = r.delivery;
    return `${n(d.sustainedPerSec)} deliveries/s (${n(d.perPartitionPerSec)}/s per partition); ${d.delivered} / ${d.expectedDeliveries}; order violations **${d.orderViolations}**, X-Previous-Sequence gaps ${d.previousSequenceGaps}`;
  });
  add(rec("delivery.throttle"), (r) => {
    const d = r.delivery;
    return `highest 1 s window **${d.maxPerSecondWindow}** (0.9 s: ${d.maxPer900msWindow}), mean **${n(d.meanPerSecond)}/s** (per second from the first receipt: ${d.windowCounts.join(", ")}); ${d.delivered} / ${d.expectedDeliveries} in ${n(d.drainSec)} s`;
  });
  add(rec("delivery.isolation"), (r) => {
    const f = r.faults;
    return `fast tenant at ${f.rate} events/s: p50 / p99 / max **${n(f.beside.p50Ms)} / ${n(f.beside.p99Ms)}** / ${n(f.beside.maxMs)} ms beside ${f.slowHeldAtStart} held requests (alone: ${n(f.alone.p50Ms)} / ${n(f.alone.p99Ms)} / ${n(f.alone.maxMs)} ms); lost ${f.alone.lost + f.beside.lost}; the slow endpoint got ${f.slowDelivered} / ${f.slowExpected}, each after ${n(f.slowMs / 1000)} s`;
  });
  add(rec("delivery.faults"), (r) => {
    const f = r.faults;
    return `first attempts **${n(f.faulty.firstAttemptsPerSec)}/s** vs ${n(f.healthy.firstAttemptsPerSec)}/s healthy = **${f.firstAttemptRatio === null ? "–" : `${f.firstAttemptRatio.toFixed(2)}×`}**; ${f.retries} retries, each after its policy's latest time by p50 / p99 / max ${n(f.retryLateP50Ms, 0)} / ${n(f.retryLateP99Ms, 0)} / ${n(f.retryLateMaxMs, 0)} ms; ${f.faulty.drainSec === null ? `${f.faulty.stillRetrying} still retrying at the end of the wait, ${f.faulty.neverAttempted} never attempted` : `drained in ${n(f.faulty.drainSec)} s (the policy allows ${n(f.policyDrainSec)} s at the earliest)`}; ${f.faulty.delivered} / ${f.faulty.expected}, ${f.faulty.duplicates} duplicated; ${f.faulty.failed} of ${f.faulty.requests} requests failed on purpose`;
  });
  return rows.length === 0 ? [] : ["| Calibration and delivery | value |", "|---|---|", ...rows, ""];
}
