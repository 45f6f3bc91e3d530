/** /workers: HTTP endpoints that receive tasks; a worker serves the types its `taskTypes` patterns match. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { IdParam, jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import { CreateWorkerSchema, WorkerCreatedSchema, WorkerListSchema, WorkerSchema } from "../schemas/task.js";
import type { WorkerRecord } from "../schemas/worker.js";
import { deleteWorker, getWorker, listWorkers, registerWorker } from "../services/workers.js";
import { tenantRoute } from "./route.js";

const tags = ["workers"];

const toView = (w: WorkerRecord) => ({
  id: w.id,
  name: w.name,
  url: w.url,
  taskTypes: w.taskTypes,
  concurrency: w.concurrency,
  ...(w.rateLimit ? { rateLimit: w.rateLimit } : {}),
  createdAt: w.createdAt,
});

export const workers = new OpenAPIHono<AppEnv>();

workers.openapi(
  tenantRoute({
    method: "post",
    path: "/workers",
    scope: "tasks:write",
    operationId: "createWorker",
    tags,
    summary: "Register a worker endpoint (names are unique per tenant)",
    request: { body: jsonBody(CreateWorkerSchema) },
    responses: { 201: jsonContent(WorkerCreatedSchema, "Registered"), ...problemResponses(409) },
  }),
  async (c) => {
    const { record, generatedSecret } = await registerWorker(c.env, c.var.principal.tenantId, c.req.valid("json"));
    return c.json({ ...toView(record), ...(generatedSecret ? { secret: generatedSecret } : {}) }, 201);
  },
);

workers.openapi(
  tenantRoute({
    method: "get",
    path: "/workers",
    scope: "tasks:read",
    operationId: "listWorkers",
    tags,
    summary: "List worker endpoints",
    responses: { 200: jsonContent(WorkerListSchema, "All of the tenant's workers") },
  }),
  async (c) => c.json({ workers: (await listWorkers(c.env, c.var.principal.tenantId)).map(toView) }, 200),
);

workers.openapi(
  tenantRoute({
    method: "get",
    path: "/workers/{id}",
    scope: "tasks:read",
    operationId: "getWorker",
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
    scope: "tasks:write",
    operationId: "deleteWorker",
    tags,
    summary: "Remove a worker endpoint (attempts in flight finish; later ones go to other workers)",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" } },
  }),
  async (c) => {
    await deleteWorker(c.env, c.var.principal.tenantId, c.req.valid("param").id);
    return c.body(null, 204);
  },
);
