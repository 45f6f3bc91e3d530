/**
 * What every scenario shares: a result record with a status (ok / skipped / error), the rule that
 * turns a route answering 404 into "skipped: route not available (404)", and the check that a
 * load run actually exercised the route (mostly 2xx) before its figures are trusted.
 */
import { ApiError, RouteUnavailable } from "./api.mjs";

export function record(id, title, group) {
  return { id, title, group, status: "ok", reason: null, metrics: null, ratioToHealth: null, notes: [], extra: {} };
}

/** Runs `body(rec)`, converting a missing route into a skip and any other failure into an error. */
export async function guarded(rec, log, body) {
  const started = Date.now();
  try {
    await body(rec);
    if (rec.status === "ok" && rec.metrics) judge(rec);
  } catch (err) {
    if (err instanceof RouteUnavailable) {
      rec.status = "skipped";
      rec.reason = `route not available (${err.status})`;
    } else {
      rec.status = "error";
      rec.reason = err instanceof ApiError ? err.message : String(err?.stack ?? err);
    }
  }
  rec.elapsedSec = Math.round((Date.now() - started) / 100) / 10;
  log.done(rec);
  return rec;
}

/** A run whose responses were mostly not 2xx measured the error path, not the route. */
function judge(rec) {
  const m = rec.metrics;
  const failed = m.non2xx + m.errors;
  if (m.ok === 0 || failed > 0.5 * (m.ok + failed)) {
    rec.status = "error";
    rec.reason = `${m.ok} 2xx, ${m.non2xx} non-2xx ${JSON.stringify(m.statusCodes)}, ${m.errors} connection errors`;
    return;
  }
  if (m.non2xx > 0) rec.notes.push(`${m.non2xx} non-2xx responses ${JSON.stringify(m.statusCodes)}`);
  if (m.errors > 0) rec.notes.push(`${m.errors} connection errors (${m.timeouts} timeouts)`);
}

/** Counts a response header's values during a load run (e.g. X-Cache-Status), via onResponse. */
export function headerCounter(name) {
  const counts = {};
  return {
    counts,
    onResponse: (_status, _body, _context, headers) => {
      const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name);
      const v = key ? headers[key] : "(none)";
      counts[v] = (counts[v] ?? 0) + 1;
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * New or changed subscriptions/workers are seen by every isolate 2 s after the change (each isolate
 * caches a tenant's subscription and worker lists for at most 2 s).
 */
export const CONFIG_PROPAGATION_MS = 2_200;

/**
 * Publishes probe events until one matches `n` subscribers (new subscriptions may take up to 2 s
 * to be seen), instead of always sleeping for the propagation time. Returns how many deliveries
 * the probes caused, so the scenario's drain can expect them too.
 */
export async function probeSubscribers(api, body, n, rec) {
  const deadline = Date.now() + CONFIG_PROPAGATION_MS + 1000;
  let caused = 0;
  for (;;) {
    const res = await api.call("POST", "/events", { body, expect: [202] });
    const matched = res.body?.subscribers?.length ?? 0;
    caused += matched;
    if (matched === n) return caused;
    if (Date.now() > deadline) {
      rec.notes.push(`probe matched ${matched} subscribers, expected ${n}`);
      return caused;
    }
    await sleep(300);
  }
}
