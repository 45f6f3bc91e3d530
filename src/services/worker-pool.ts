/**
 * The isolate's view of a tenant's worker endpoints, for the task consumer and the estimate:
 * the list read from the Tenant object at most every WORKER_CACHE_MS (changes made through this
 * isolate drop it at once), which workers serve a type, per-worker health (a failed attempt
 * makes a worker "unhealthy" for UNHEALTHY_MS or until it succeeds), and per-worker slots that
 * cap concurrent attempts at the worker's `concurrency`, handing free slots to high priority first.
 * Health and slots are per isolate: in production each consumer isolate keeps its own.
 */
import { SUBSCRIPTION_CACHE_MS } from "../config.js";
import { matchPattern } from "../domain/patterns.js";
import { tenantStub } from "../objects/tenant/client.js";
import { PRIORITIES, type Priority } from "../schemas/task.js";
import type { WorkerRecord } from "../schemas/worker.js";

export const WORKER_CACHE_MS = SUBSCRIPTION_CACHE_MS;
export const UNHEALTHY_MS = 30_000;

// Only resolved values are shared between requests: workerd refuses I/O (an RPC promise included)
// that one request started and another awaits, so concurrent misses each read the Tenant object.
const lists = new Map<string, { until: number; workers: WorkerRecord[] }>();

export async function tenantWorkers(env: Env, tenantId: string, fresh = false): Promise<WorkerRecord[]> {
  const cached = lists.get(tenantId);
  if (cached && !fresh && cached.until > Date.now()) return cached.workers;
  const workers = await tenantStub(env, tenantId).listWorkers();
  lists.set(tenantId, { until: Date.now() + WORKER_CACHE_MS, workers });
  return workers;
}

export function forgetWorkers(tenantId: string): void {
  lists.delete(tenantId);
}

export function servingWorkers(workers: readonly WorkerRecord[], type: string): WorkerRecord[] {
  return workers.filter((w) => w.taskTypes.some((p) => matchPattern(p, type)));
}

// --- health ---

const failures = new Map<string, number>();

export function reportHealth(workerId: string, ok: boolean, now = Date.now()): void {
  if (ok) failures.delete(workerId);
  else failures.set(workerId, now);
}

export function isHealthy(workerId: string, now = Date.now()): boolean {
  const at = failures.get(workerId);
  return at === undefined || now - at > UNHEALTHY_MS;
}

// --- slots ---
// The three queues' batches are separate requests, and a promise that one request resolves for
// another is refused by workerd (and reported as a hang). So waiting is polling over plain shared
// state: waiters queue by priority, the head takes a free slot. A waiter that stopped polling (its
// request ended) is dropped, and a slot is held at most `holdMs`, so nothing leaks.

const POLL_MS = 20;
const WAITER_STALE_MS = 2_000;

interface Waiter {
  token: number;
  rank: number;
  seenAt: number;
}

interface Slots {
  /** token → the time the slot is released at the latest */
  held: Map<number, number>;
  waiting: Waiter[];
}

const slots = new Map<string, Slots>();
let tokens = 0;
let turn = 0;

function slotsOf(workerId: string): Slots {
  let s = slots.get(workerId);
  if (!s) {
    s = { held: new Map(), waiting: [] };
    slots.set(workerId, s);
  }
  return s;
}

/** Attempts running or waiting on this worker in this isolate. */
export function load(workerId: string): number {
  const s = slots.get(workerId);
  return s ? s.held.size + s.waiting.length : 0;
}
/**
 * The worker for an attempt: healthy before unhealthy, then not the one the previous attempt
 * failed on (when there is another), then the least loaded; ties rotate so load spreads.
 */
export function chooseWorker(candidates: readonly WorkerRecord[], avoid?: string, now = Date.now()): WorkerRecord | undefined {
  turn = (turn + 1) % 1_000_000;
  const n = candidates.length;
  const ranked = candidates
    .map((w, i) => ({ w, order: (i + turn) % Math.max(1, n) }))
    .sort(
      (a, b) =>
        Number(!isHealthy(a.w.id, now)) - Number(!isHealthy(b.w.id, now)) ||
        Number(a.w.id === avoid) - Number(b.w.id === avoid) ||
        load(a.w.id) / a.w.concurrency - load(b.w.id) / b.w.concurrency ||
        a.order - b.order,
    );
  return ranked[0]?.w;
}

/** Waits for a free slot on the worker (high priority first); the returned function gives it back. */
export async function acquire(worker: WorkerRecord, priority: Priority, holdMs: number): Promise<() => void> {
  const s = slotsOf(worker.id);
  const me: Waiter = { token: ++tokens, rank: PRIORITIES.indexOf(priority), seenAt: Date.now() };
  const at = s.waiting.findIndex((w) => w.rank > me.rank);
  s.waiting.splice(at === -1 ? s.waiting.length : at, 0, me);
  for (;;) {
    const now = Date.now();
    me.seenAt = now;
    for (const [token, until] of s.held) if (until <= now) s.held.delete(token);
    s.waiting = s.waiting.filter((w) => w === me || now - w.seenAt < WAITER_STALE_MS);
    if (s.waiting[0] === me && s.held.size < Math.max(1, worker.concurrency)) {
      s.waiting.shift();
      s.held.set(me.token, now + holdMs);
      break;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return () => void s.held.delete(me.token);
}
