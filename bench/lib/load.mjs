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
 */
export async function measure({ url, request, connections, durationSec, warmupSec, perRequest = 1, cpu }) {
  const base = { url, connections, requests: [request] };
  let warmup2xx = 0;
  if (warmupSec > 0) {
    const w = await once({ ...base, duration: warmupSec });
    warmup2xx = w.result["2xx"];
  }
  const cpu0 = cpu?.() ?? null;
  const { result, times } = await once({ ...base, duration: durationSec });
  const cpuSeconds = cpu0 === null ? null : (cpu?.() ?? cpu0) - cpu0;
  times.sort((a, b) => a - b);
  const ok = result["2xx"];
  const seconds = result.duration;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, Number(v.count)]));
  return {
    connections,
    durationSec: round(seconds, 2),
    warmupSec,
    requests: ok + result.non2xx,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    rps: round(ok / seconds, 1),
    itemsPerSec: round((ok * perRequest) / seconds, 1),
    p50Ms: round(percentile(times, 50), 2),
    p99Ms: round(percentile(times, 99), 2),
    warmup2xx,
    ...(cpuSeconds ? { perCpuSecond: round(ok / cpuSeconds, 1) } : {}),
  };
}

export function round(x, digits = 2) {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
