/**
 * Work queues: submitting a task (stored in its TaskShard before the 202, then sent to the queue
 * of its priority), reading and listing tasks across the tenant's shards, retrying a dead one,
 * and the honest estimate — `estimatedProcessingTime` from the tenant's TaskStats object (the
 * backlog ahead and the observed processing time) and the workers that serve the type.
 */
import { DEFAULT_TASK_RETRY } from "../domain/backoff.js";
import { estimatedProcessingTime, parallelism } from "../domain/eta.js";
import { newId } from "../domain/ids.js";
import { newTrace, type TraceContext } from "../domain/trace.js";
import { AppError } from "../errors.js";
import { eachShard, shardOf, shardStub, taskStub } from "../objects/task-shard/client.js";
import { statsStub } from "../objects/task-stats/client.js";
import type { EstimateInputs } from "../objects/task-stats/tables.js";
import {
  type CreateTask,
  DEFAULT_TASK_TIMEOUT_MS,
  PRIORITIES,
  type Priority,
  TASK_DATA_BYTES,
  type TaskState,
  type TaskStatus,
} from "../schemas/task.js";
import { servingWorkers, tenantWorkers } from "./worker-pool.js";

export interface Submitted {
  state: TaskState;
  created: boolean;
  estimatedProcessingTime?: string;
}

/**
 * Stores the task (an existing id returns the stored task, `created: false`) and estimates it.
 * `trace`: the request's trace context; without one the task starts its own trace.
 */
export async function submitTask(env: Env, tenantId: string, input: CreateTask, trace: TraceContext = newTrace()): Promise<Submitted> {
  const data = input.data ?? {};
  const dataText = JSON.stringify(data);
  const size = new TextEncoder().encode(dataText).byteLength;
  if (size > TASK_DATA_BYTES) {
    throw new AppError("PAYLOAD_TOO_LARGE", `Task data is limited to ${TASK_DATA_BYTES} bytes serialized; this one is ${size}.`);
  }
  const id = input.id ?? newId("task");
  const shard = shardOf(id);
  const { state, created } = await shardStub(env, tenantId, shard).submit(tenantId, shard, {
    id,
    type: input.type,
    priority: input.priority ?? dataPriority(data) ?? "normal",
    dataText,
    maxAttempts: input.maxAttempts ?? DEFAULT_TASK_RETRY.maxAttempts,
    backoffMs: input.backoffMs ?? DEFAULT_TASK_RETRY.backoffMs,
    timeoutMs: input.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
    onComplete: input.onComplete ?? false,
    delaySeconds: input.delaySeconds ?? 0,
    trace,
  });
  const eta = live(state) ? await estimate(env, tenantId, state, created) : undefined;
  return { state, created, ...(eta ? { estimatedProcessingTime: eta } : {}) };
}

export async function getTask(env: Env, tenantId: string, id: string): Promise<TaskState> {
  const state = await taskStub(env, tenantId, id).getTask(id);
  if (!state) throw new AppError("NOT_FOUND", `No task ${id}.`);
  return state;
}

/** Newest first across the tenant's shards. */
export async function listTasks(
  env: Env,
  tenantId: string,
  filter: { status?: TaskStatus; type?: string; limit: number },
): Promise<TaskState[]> {
  const perShard = await eachShard(env, tenantId, (s) => s.listTasks(filter));
  return perShard
    .flat()
    .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
    .slice(0, filter.limit);
}

/** DEAD → QUEUED: another run of maxAttempts attempts. */
export async function retryTask(env: Env, tenantId: string, id: string): Promise<{ state: TaskState; estimatedProcessingTime: string }> {
  const result = await taskStub(env, tenantId, id).retryTask(id);
  if (!result.ok) throw new AppError(result.code, result.detail);
  return { state: result.value, estimatedProcessingTime: await estimate(env, tenantId, result.value, true) };
}

/** Some producers send the priority inside `data`; a valid one there is used when `priority` is absent. */
function dataPriority(data: Record<string, unknown>): Priority | undefined {
  const p = data.priority;
  return typeof p === "string" && (PRIORITIES as readonly string[]).includes(p) ? (p as Priority) : undefined;
}

const live = (s: TaskState) => s.status === "QUEUED" || s.status === "RUNNING" || s.status === "RETRYING";

/** The estimate for a live task; `accepted` counts it into its priority's backlog. Never fails the request. */
async function estimate(env: Env, tenantId: string, s: TaskState, accepted: boolean): Promise<string> {
  let inputs: EstimateInputs = { ahead: 0, typeAvgMs: null, anyAvgMs: null };
  let concurrencies: number[] = [];
  try {
    const [fromStats, workers] = await Promise.all([
      statsStub(env, tenantId).enqueue(tenantId, s.priority, s.type, accepted ? 1 : 0),
      tenantWorkers(env, tenantId),
    ]);
    inputs = fromStats;
    concurrencies = servingWorkers(workers, s.type).map((w) => w.concurrency);
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", message: "task estimate without stats", error: String(err) }));
  }
  const waitsFor = s.nextAttemptAt === null ? 0 : Math.max(0, (s.nextAttemptAt - Date.now()) / 1000);
  return estimatedProcessingTime({
    ...inputs,
    ahead: s.status === "QUEUED" ? inputs.ahead : 0,
    parallelism: parallelism(concurrencies),
    delaySeconds: s.status === "RUNNING" ? 0 : waitsFor,
  });
}
