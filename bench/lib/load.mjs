/**
 * Closed-loop load with autocannon: a fixed number of connections for a fixed duration, after a
 * separate warm-up run with the same requests (its results are discarded, but its 2xx count is
 * returned so scenarios can account for the deliveries it caused).
 *
 * Latency percentiles come from every response's own time (autocannon's `response` event, in
 * fractional ms) rather than from autocannon's histogram, which rounds to whole milliseconds —
 * too coarse for a sub-millisecond GET /health. Requests/s counts 2xx responses only.
 */
import autocannon from "autocannon";

let current = null;

/** Stops a running autocannon instance (SIGINT handling). */
export function stopLoad() {
  current?.stop();
}

/** Percentile by nearest rank over a sorted copy; NaN when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function once(opts) {
  return new Promise((resolve, reject) => {
    const times = [];
    const instance = autocannon({ ...opts, timeout: 30 }, (err, result) => {
      current = null;
      if (err) reject(err);
      else resolve({ result, times });
    });
    current = instance;
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) times.push(responseTime);
    });
  });
}

/**
 * Runs warm-up then measurement. `request` is autocannon's request shape ({method, path, headers,
 * body} or with setupRequest); `perRequest` scales requests/s into items/s (100 for a batch).
 */
/**
 * `cpu` (optional) reads the server's process-group CPU-seconds; with it the result also has the
 * 2xx requests per CPU-second of the measured run (warm-up excluded).
 *
 * `interleave` (optional, `{ slices, sliceSec, run }`): instead of `durationSec` at once, the
 * measurement runs `slices` slices of `sliceSec` seconds, and `run()` (another measurement, such
 * as a floor this figure is compared with) runs between them in the order A B B A A B…: both
 * sides then see the same load of the machine, and neither is always first. The result adds up
 * the slices (their requests, time and CPU) and takes the percentiles over all their responses.
 */
export async function measure({ url, request, connections, durationSec, warmupSec, perRequest = 1, cpu, interleave }) {
  const base = { url, connections, requests: [request] };
  let warmup2xx = 0;
  if (warmupSec > 0) {
    const w = await once({ ...base, duration: warmupSec });
    warmup2xx = w.result["2xx"];
  }
  const slices = interleave ? interleave.slices : 1;
  const total = { ok: 0, non2xx: 0, errors: 0, timeouts: 0, seconds: 0, cpuSeconds: 0, statusCodes: {}, times: [] };
  for (let i = 0; i < slices; i++) {
    if (interleave && i % 2 === 0) await interleave.run();
    const cpu0 = cpu?.() ?? null;
    const { result, times } = await once({ ...base, duration: interleave ? interleave.sliceSec : durationSec });
    const cpu1 = cpu?.() ?? null;
    // One reading that failed leaves the whole CPU figure out, rather than a slice counted as free.
    total.cpuSeconds = cpu0 === null || cpu1 === null || total.cpuSeconds === null ? null : total.cpuSeconds + (cpu1 - cpu0);
    total.ok += result["2xx"];
    total.non2xx += result.non2xx;
    total.errors += result.errors;
    total.timeouts += result.timeouts;
    total.seconds += result.duration;
    for (const [k, v] of Object.entries(result.statusCodeStats ?? {})) total.statusCodes[k] = (total.statusCodes[k] ?? 0) + Number(v.count);
    for (const t of times) total.times.push(t);
    if (interleave && i % 2 === 1) await interleave.run();
  }
  const { ok, seconds, cpuSeconds, times } = total;
  times.sort((a, b) => a - b);
  return {
    connections,
    durationSec: round(seconds, 2),
    warmupSec,
    ...(interleave ? { slices } : {}),
    requests: ok + total.non2xx,
    ok,
    non2xx: total.non2xx,
    errors: total.errors,
    timeouts: total.timeouts,
    statusCodes: total.statusCodes,
    rps: round(ok / seconds, 1),
    itemsPerSec: round((ok * perRequest) / seconds, 1),
    p50Ms: round(percentile(times, 50), 2),
    p99Ms: round(percentile(times, 99), 2),
    warmup2xx,
    ...(cpuSeconds ? { cpuSeconds: round(cpuSeconds, 2), perCpuSecond: round(ok / cpuSeconds, 1) } : {}),
  };
}

export function round(x, digits = 2) {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
