/**
 * The estimate behind `estimatedProcessingTime` (pure: no bindings, no clock). A Worker cannot
 * read a queue's depth, so the inputs are counts kept by the tenant's stats object: the backlog
 * ahead of the task in its priority, and an exponentially weighted average of how long workers
 * took for its type. The formula (also in the README):
 *
 *   seconds = delaySeconds + dispatchMs/1000 + (floor(ahead / parallelism) + 1) × avgMs/1000
 *
 * where `parallelism` = min(consumer batch size, Σ concurrency of the workers serving the type),
 * at least 1, and `avgMs` is the type's average, else the tenant's average over all types, else
 * DEFAULT_PROCESSING_MS.
 */
import { formatDuration } from "./backoff.js";

/** Assumed processing time of a type nobody has measured yet. */
export const DEFAULT_PROCESSING_MS = 1000;
/** Time from enqueue to a consumer picking the message up (the queue's max_batch_timeout). */
export const DISPATCH_MS = 1000;
/** Weight of the newest sample in the moving average (about the last 10 samples matter). */
export const EWMA_ALPHA = 0.2;
/** The task queues' max_batch_size: one consumer runs at most this many tasks at once. */
export const CONSUMER_BATCH = 10;

/** The new moving average after one sample; the first sample is taken as is. */
export function ewma(previous: number | null, sampleMs: number, alpha = EWMA_ALPHA): number {
  const sample = Number.isFinite(sampleMs) ? Math.max(0, sampleMs) : 0;
  if (previous === null || !Number.isFinite(previous)) return sample;
  return previous + alpha * (sample - previous);
}

/** How many tasks of a type run at once: bounded by the batch and by the workers' concurrency. */
export function parallelism(concurrencies: readonly number[], batchSize = CONSUMER_BATCH): number {
  const total = concurrencies.reduce((sum, c) => sum + (Number.isFinite(c) && c > 0 ? Math.floor(c) : 0), 0);
  return Math.max(1, Math.min(batchSize, total));
}

export interface EtaInput {
  /** Unfinished tasks of the same priority accepted before this one. */
  ahead: number;
  /** Moving average for the task's type, or null when none was measured. */
  typeAvgMs: number | null;
  /** Moving average over all of the tenant's types, or null. */
  anyAvgMs: number | null;
  parallelism: number;
  delaySeconds?: number;
  dispatchMs?: number;
}

/** The processing time used for a type: its own average, else the tenant's, else the default. */
export function processingMs(input: Pick<EtaInput, "typeAvgMs" | "anyAvgMs">): number {
  const pick = input.typeAvgMs ?? input.anyAvgMs ?? DEFAULT_PROCESSING_MS;
  return Number.isFinite(pick) && pick >= 0 ? pick : DEFAULT_PROCESSING_MS;
}

/** Seconds until the task is expected to have finished (see the module comment). */
export function estimateSeconds(input: EtaInput): number {
  const ahead = Number.isFinite(input.ahead) ? Math.max(0, Math.floor(input.ahead)) : 0;
  const par = Number.isFinite(input.parallelism) ? Math.max(1, Math.floor(input.parallelism)) : 1;
  const delay = Math.max(0, input.delaySeconds ?? 0);
  const dispatch = Math.max(0, input.dispatchMs ?? DISPATCH_MS);
  const rounds = Math.floor(ahead / par) + 1;
  return delay + dispatch / 1000 + (rounds * processingMs(input)) / 1000;
}

/** The estimate as a whole number with a unit: "30s", "2m", "1h". */
export function estimatedProcessingTime(input: EtaInput): string {
  return formatDuration(Math.ceil(estimateSeconds(input)));
}
