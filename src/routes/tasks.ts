/**
 * /tasks: submit a task to its priority's queue (stored in its TaskShard before the 202), read
 * its status, list tasks across the tenant's shards, and retry a dead one. The 202's
 * `estimatedProcessingTime` comes from services/tasks.ts.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { CLIENT_ID } from "../domain/ids.js";
import { traceFrom } from "../domain/trace.js";
import { AppError } from "../errors.js";
import { jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import {
  CreateTaskSchema,
  TASK_DATA_BYTES,
  TaskAcceptedSchema,
  TaskIdParam,
  TaskListQuery,
  TaskListSchema,
  TaskSchema,
  taskView,
} from "../schemas/task.js";
import { getTask, listTasks, retryTask, submitTask } from "../services/tasks.js";
import { tenantRoute } from "./route.js";

const tags = ["tasks"];

function checkId(id: string): string {
  if (!CLIENT_ID.test(id)) throw new AppError("BAD_ID", "A task id is 1–256 characters of letters, digits and . _ : ~ @ -.");
  return id;
}

export const tasks = new OpenAPIHono<AppEnv>();

tasks.openapi(
  tenantRoute({
    method: "post",
    path: "/tasks",
    scope: "tasks:write",
    operationId: "createTask",
    tags,
    summary: "Submit a task",
    description: `Stored in its shard before the 202, then sent to the queue of its priority (high, normal, low). The same \`id\` again answers 202 with the same task (\`duplicate: true\`, \`Idempotent-Replayed: true\`). \`data\` is limited to ${TASK_DATA_BYTES} bytes serialized (413).`,
    request: {
      headers: z.object({
        traceparent: z.string().optional().openapi({
          description: "W3C Trace Context; every dispatch to a worker carries it with a new parent id. A malformed one is ignored.",
        }),
        tracestate: z.string().optional(),
      }),
      body: jsonBody(CreateTaskSchema),
    },
    responses: { 202: jsonContent(TaskAcceptedSchema, "Accepted (or the existing task with that id)"), ...problemResponses(413) },
  }),
  async (c) => {
    const trace = traceFrom(c.req.header("traceparent"), c.req.header("tracestate"));
    const { state, created, estimatedProcessingTime: eta } = await submitTask(c.env, c.var.principal.tenantId, c.req.valid("json"), trace);
    if (!created) c.header("Idempotent-Replayed", "true");
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
    scope: "tasks:read",
    operationId: "listTasks",
    tags,
    summary: "List tasks, newest first",
    description: "Scans the tenant's shards; at most `limit` (1–100, default 50) tasks, filtered by `status` and exact `type`.",
    request: { query: TaskListQuery },
    responses: { 200: jsonContent(TaskListSchema, "Tasks, newest first") },
  }),
  async (c) => {
    const { status, type, limit } = c.req.valid("query");
    const filter = { limit, ...(status ? { status } : {}), ...(type ? { type } : {}) };
    return c.json({ tasks: (await listTasks(c.env, c.var.principal.tenantId, filter)).map(taskView) }, 200);
  },
);

tasks.openapi(
  tenantRoute({
    method: "get",
    path: "/tasks/{id}",
    scope: "tasks:read",
    operationId: "getTask",
    tags,
    summary: "A task's status, attempts, worker, result or error",
    request: { params: TaskIdParam },
    responses: { 200: jsonContent(TaskSchema, "The task") },
  }),
  async (c) => {
    const id = checkId(c.req.valid("param").id);
    return c.json(taskView(await getTask(c.env, c.var.principal.tenantId, id)), 200);
  },
);

tasks.openapi(
  tenantRoute({
    method: "post",
    path: "/tasks/{id}/retry",
    scope: "tasks:write",
    operationId: "retryTask",
    tags,
    summary: "Run a DEAD task again (another maxAttempts attempts)",
    description: "No body is needed (an empty body without a content type is accepted). A task that is not DEAD is 409.",
    request: { params: TaskIdParam },
    responses: { 202: jsonContent(TaskAcceptedSchema, "Queued again"), ...problemResponses(409) },
  }),
  async (c) => {
    const id = checkId(c.req.valid("param").id);
    const { state, estimatedProcessingTime } = await retryTask(c.env, c.var.principal.tenantId, id);
    return c.json({ taskId: id, status: state.status, estimatedProcessingTime }, 202);
  },
);
