/**
 * /tasks: submit a task to its priority's queue (stored in its TaskShard before the 202), read
 * its status, list tasks across the tenant's shards, and retry a dead one. The 202's
 * `estimatedProcessingTime` comes from the tenant's stats object and domain/eta.ts.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "../errors.js";
import { DEFAULT_TASK_RETRY } from "../domain/backoff.js";
import { estimatedProcessingTime, parallelism } from "../domain/eta.js";
import { CLIENT_ID, newId } from "../domain/ids.js";
import { eachShard, shardOf, shardStub, statsStub, taskStub } from "../objects/task-shard/client.js";
import { servingWorkers, tenantWorkers } from "../services/worker-pool.js";
import { jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import {
  CreateTaskSchema,
  DEFAULT_TASK_TIMEOUT_MS,
  PRIORITIES,
  TASK_DATA_BYTES,
  TaskAcceptedSchema,
  TaskIdParam,
  TaskListQuery,
  TaskListSchema,
  TaskSchema,
  taskView,
  type Priority,
  type TaskState,
} from "../schemas/task.js";
import { tenantRoute } from "./route.js";
import type { AppEnv } from "../context.js";
import type { EstimateInputs } from "../objects/task-stats/tables.js";

const tags = ["tasks"];

/** The seed sends the priority inside `data`; a valid one there is used when `priority` is absent. */
function dataPriority(data: Record<string, unknown>): Priority | undefined {
  const p = data.priority;
  return typeof p === "string" && (PRIORITIES as readonly string[]).includes(p) ? (p as Priority) : undefined;
}

function checkId(id: string): string {
  if (!CLIENT_ID.test(id)) throw new AppError("BAD_ID", "A task id is 1–256 characters of letters, digits and . _ : ~ @ -.");
  return id;
}

/** The estimate for a live task; `accepted` counts it into its priority's backlog. Never fails the request. */
async function estimate(env: Env, tenantId: string, s: TaskState, accepted: boolean): Promise<string> {
  let inputs: EstimateInputs = { ahead: 0, typeAvgMs: null, anyAvgMs: null };
  let concurrencies: number[] = [];
  try {
    const [fromStats, workers] = await Promise.all([
      statsStub(env, tenantId).statsEnqueue(tenantId, s.priority, s.type, accepted ? 1 : 0),
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

const live = (s: TaskState) => s.status === "QUEUED" || s.status === "RUNNING" || s.status === "RETRYING";

export const tasks = new OpenAPIHono<AppEnv>();

tasks.openapi(
  tenantRoute({
    method: "post",
    path: "/tasks",
    tags,
    summary: "Submit a task",
    description: `Stored in its shard before the 202, then sent to the queue of its priority (high, normal, low). The same \`id\` again answers 202 with the same task (\`duplicate: true\`, \`Idempotent-Replayed: true\`). \`data\` is limited to ${TASK_DATA_BYTES} bytes serialized (413).`,
    request: { body: jsonBody(CreateTaskSchema) },
    responses: { 202: jsonContent(TaskAcceptedSchema, "Accepted (or the existing task with that id)"), ...problemResponses(413) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const { tenantId } = c.var.principal;
    const data = input.data ?? {};
    const dataText = JSON.stringify(data);
    const size = new TextEncoder().encode(dataText).byteLength;
    if (size > TASK_DATA_BYTES) {
      throw new AppError("PAYLOAD_TOO_LARGE", `Task data is limited to ${TASK_DATA_BYTES} bytes serialized; this one is ${size}.`);
    }
    const id = input.id ?? newId("task");
    const shard = shardOf(id);
    const { state, created } = await shardStub(c.env, tenantId, shard).submit(tenantId, shard, {
      id,
      type: input.type,
      priority: input.priority ?? dataPriority(data) ?? "normal",
      dataText,
      maxAttempts: input.maxAttempts ?? DEFAULT_TASK_RETRY.maxAttempts,
      backoffMs: input.backoffMs ?? DEFAULT_TASK_RETRY.backoffMs,
      timeoutMs: input.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
      onComplete: input.onComplete ?? false,
      delaySeconds: input.delaySeconds ?? 0,
    });
    if (!created) c.header("Idempotent-Replayed", "true");
    const eta = live(state) ? await estimate(c.env, tenantId, state, created) : undefined;
    return c.json(
      { taskId: state.id, status: state.status, ...(eta ? { estimatedProcessingTime: eta } : {}), ...(created ? {} : { duplicate: true }) },
      202,
    );
  },
);

tasks.openapi(
  tenantRoute({
    method: "get",
    path: "/tasks",
    tags,
    summary: "List tasks, newest first",
    description: "Scans the tenant's shards; at most `limit` (1–100, default 50) tasks, filtered by `status` and exact `type`.",
    request: { query: TaskListQuery },
    responses: { 200: jsonContent(TaskListSchema, "Tasks, newest first") },
  }),
  async (c) => {
    const { status, type, limit } = c.req.valid("query");
    const filter = { limit, ...(status ? { status } : {}), ...(type ? { type } : {}) };
    const perShard = await eachShard(c.env, c.var.principal.tenantId, (s) => s.listTasks(filter));
    const all = perShard.flat().sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
    return c.json({ tasks: all.slice(0, limit).map(taskView) }, 200);
  },
);

tasks.openapi(
  tenantRoute({
    method: "get",
    path: "/tasks/{id}",
    tags,
    summary: "A task's status, attempts, worker, result or error",
    request: { params: TaskIdParam },
    responses: { 200: jsonContent(TaskSchema, "The task") },
  }),
  async (c) => {
    const id = checkId(c.req.valid("param").id);
    const state = await taskStub(c.env, c.var.principal.tenantId, id).getTask(id);
    if (!state) throw new AppError("NOT_FOUND", `No task ${id}.`);
    return c.json(taskView(state), 200);
  },
);

tasks.openapi(
  tenantRoute({
    method: "post",
    path: "/tasks/{id}/retry",
    tags,
    summary: "Run a DEAD task again (another maxAttempts attempts)",
    description: "No body is needed (an empty body without a content type is accepted). A task that is not DEAD is 409.",
    request: { params: TaskIdParam },
    responses: { 202: jsonContent(TaskAcceptedSchema, "Queued again"), ...problemResponses(409) },
  }),
  async (c) => {
    const id = checkId(c.req.valid("param").id);
    const { tenantId } = c.var.principal;
    const result = await taskStub(c.env, tenantId, id).retryTask(id);
    if (!result.ok) throw new AppError(result.code, result.detail);
    const eta = await estimate(c.env, tenantId, result.value, true);
    return c.json({ taskId: id, status: result.value.status, estimatedProcessingTime: eta }, 202);
  },
);
