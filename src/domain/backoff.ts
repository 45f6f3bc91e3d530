/**
 * Retry timing for webhook deliveries and tasks: exponential backoff with jitter, `Retry-After`
 * handling, classification of receiver responses, and compact duration formatting.
 */

export interface RetryPolicy {
  maxAttempts: number;
  backoffMs: number;
  timeoutMs: number;
}

export type TaskRetryPolicy = Pick<RetryPolicy, "maxAttempts" | "backoffMs">;

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 12,
  backoffMs: 5000,
  timeoutMs: 15000,
});

export const DEFAULT_TASK_RETRY: Readonly<TaskRetryPolicy> = Object.freeze({
  maxAttempts: 5,
  backoffMs: 1000,
});

/** Longest delay ever scheduled: 24 h. */
export const MAX_DELAY_SECONDS = 86_400;
/** Shortest delay ever scheduled: 1 s. */
export const MIN_DELAY_SECONDS = 1;
/** Jitter: the delay is scaled by a factor in [1 - JITTER, 1 + JITTER). */
export const JITTER = 0.2;

function clampDelay(seconds: number): number {
  if (Number.isNaN(seconds)) return MIN_DELAY_SECONDS;
  return Math.min(MAX_DELAY_SECONDS, Math.max(MIN_DELAY_SECONDS, seconds));
}

/**
 * Delay before attempt n+1 after attempt n failed: `backoffMs × 2^(n-1)` scaled by a jitter
 * factor in [0.8, 1.2) (`random() = 0.5` gives exactly 1), rounded to whole seconds, within
 * [1 s, 24 h]. Deterministic given `random`.
 */
export function retryDelaySeconds(attempt: number, backoffMs: number, random: () => number = Math.random): number {
  const n = Number.isFinite(attempt) ? Math.min(Math.max(1, Math.floor(attempt)), 64) : 1;
  const base = Math.max(0, Number.isFinite(backoffMs) ? backoffMs : 0) * 2 ** (n - 1);
  const r = Math.min(1, Math.max(0, random()));
  const factor = 1 - JITTER + 2 * JITTER * (Number.isNaN(r) ? 0.5 : r);
  return clampDelay(Math.round((base * factor) / 1000));
}

const DELTA_SECONDS = /^\d+$/;
// HTTP-date forms (IMF-fixdate, RFC 850, asctime) all start with a day name.
const HTTP_DATE = /^[A-Za-z]{3,9},?\s/;

/**
 * Seconds to wait from a `Retry-After` value (delta-seconds or an HTTP date), clamped to
 * [1, 86400]; undefined when absent or invalid.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === "") return undefined;
  if (DELTA_SECONDS.test(v)) return clampDelay(Number(v));
  if (!HTTP_DATE.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return clampDelay(Math.ceil((at - nowMs) / 1000));
}

export interface NextDelayOptions {
  attempt: number;
  policy: { backoffMs: number };
  status?: number;
  retryAfter?: string | null;
  nowMs: number;
  random?: () => number;
}

/** The delay before the next attempt: a valid `Retry-After` on 429/503, else exponential backoff. */
export function nextDelaySeconds(opts: NextDelayOptions): number {
  if (opts.status === 429 || opts.status === 503) {
    const fromHeader = parseRetryAfter(opts.retryAfter, opts.nowMs);
    if (fromHeader !== undefined) return fromHeader;
  }
  return retryDelaySeconds(opts.attempt, opts.policy.backoffMs, opts.random);
}

export type ResponseClass = "success" | "disable" | "retry";

/** 2xx success; 410 Gone disables the subscription; anything else (3xx, 4xx, 5xx) is retried. */
export function classifyResponse(status: number): ResponseClass {
  if (status >= 200 && status <= 299) return "success";
  if (status === 410) return "disable";
  return "retry";
}

/** Compact duration: under 90 s "Ns" (at least "1s"), under 90 min "Nm", else "Nh". */
export function formatDuration(seconds: number): string {
  const s = Number.isFinite(seconds) ? Math.round(seconds) : 0;
  if (s < 90) return `${Math.max(1, s)}s`;
  if (s < 90 * 60) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}
