/**
 * /workers: HTTP endpoints that receive tasks. A worker serves the task types its `taskTypes`
 * patterns match; its URL passes the same target checks as a webhook's and tasks are signed with
 * its secret (generated `whsec_…` and shown once when none is given). Registering one wakes the
 * tasks that were waiting for a worker of their type.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "../errors.js";
import { newId } from "../domain/ids.js";
import { generateSecret, isValidClientSecret } from "../domain/signing.js";
import { eachShard } from "../objects/task-shard/client.js";
import { forgetWorkers } from "../services/worker-pool.js";
import { IdParam, jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import {
  CreateWorkerSchema,
  DEFAULT_WORKER_CONCURRENCY,
  WorkerCreatedSchema,
  WorkerListSchema,
  WorkerSchema,
} from "../schemas/task.js";
import { checkUrl, tenantStub } from "../services/subscriptions.js";
import { tenantRoute } from "./route.js";
import type { AppEnv } from "../context.js";
import type { WorkerRecord } from "../schemas/worker.js";

const tags = ["workers"];

const toView = (w: WorkerRecord) => ({
  id: w.id,
  name: w.name,
  url: w.url,
  taskTypes: w.taskTypes,
  concurrency: w.concurrency,
  createdAt: w.createdAt,
});

async function getWorker(env: Env, tenantId: string, id: string): Promise<WorkerRecord> {
  const worker = await tenantStub(env, tenantId).getWorker(id);
  if (!worker) throw new AppError("NOT_FOUND", `No worker ${id}.`);
  return worker;
}

export const workers = new OpenAPIHono<AppEnv>();

workers.openapi(
  tenantRoute({
    method: "post",
    path: "/workers",
    tags,
    summary: "Register a worker endpoint (names are unique per tenant)",
    request: { body: jsonBody(CreateWorkerSchema) },
    responses: { 201: jsonContent(WorkerCreatedSchema, "Registered"), ...problemResponses(409) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const { tenantId } = c.var.principal;
    if (input.secret !== undefined && !isValidClientSecret(input.secret)) {
      throw new AppError("VALIDATION_FAILED", "secret: 16–256 characters (a whsec_ secret must decode to at least 16 bytes).", [
        { path: "secret", message: "16–256 characters" },
      ]);
    }
    const generated = input.secret === undefined ? generateSecret() : undefined;
    const record: WorkerRecord = {
      id: newId("wkr"),
      name: input.name,
      url: checkUrl(c.env, input.url),
      taskTypes: input.taskTypes,
      concurrency: input.concurrency ?? DEFAULT_WORKER_CONCURRENCY,
      secrets: [{ secret: input.secret ?? generated ?? "" }],
      createdAt: new Date().toISOString(),
    };
    const created = await tenantStub(c.env, tenantId).createWorker(record);
    if (!created.ok) throw new AppError(created.code, created.detail);
    forgetWorkers(tenantId);
    // Tasks waiting for a worker of these types are sent now rather than at their next backoff.
    await eachShard(c.env, tenantId, (s) => s.wake(record.taskTypes)).catch((err: unknown) =>
      console.warn(JSON.stringify({ level: "warn", message: "waking waiting tasks failed", error: String(err) })),
    );
    return c.json({ ...toView(created.value), ...(generated ? { secret: generated } : {}) }, 201);
  },
);

workers.openapi(
  tenantRoute({
    method: "get",
    path: "/workers",
    tags,
    summary: "List worker endpoints",
    responses: { 200: jsonContent(WorkerListSchema, "All of the tenant's workers") },
  }),
  async (c) => c.json({ workers: (await tenantStub(c.env, c.var.principal.tenantId).listWorkers()).map(toView) }, 200),
);

workers.openapi(
  tenantRoute({
    method: "get",
    path: "/workers/{id}",
    tags,
    summary: "Get a worker endpoint",
    request: { params: IdParam },
    responses: { 200: jsonContent(WorkerSchema, "The worker") },
  }),
  async (c) => c.json(toView(await getWorker(c.env, c.var.principal.tenantId, c.req.valid("param").id)), 200),
);

workers.openapi(
  tenantRoute({
    method: "delete",
    path: "/workers/{id}",
    tags,
    summary: "Remove a worker endpoint (attempts in flight finish; later ones go to other workers)",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" } },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    if (!(await tenantStub(c.env, tenantId).deleteWorker(c.req.valid("param").id))) {
      throw new AppError("NOT_FOUND", `No worker ${c.req.valid("param").id}.`);
    }
    forgetWorkers(tenantId);
    return c.body(null, 204);
  },
);
