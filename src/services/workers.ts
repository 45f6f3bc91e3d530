/**
 * Worker endpoints — HTTP receivers of tasks — registered per tenant in its Tenant object. A
 * worker's URL passes the same target checks as a webhook's, and its tasks are signed with its
 * secret (generated `whsec_…` and shown once when none is given). Registering one wakes the
 * tasks that were waiting for a worker of their type.
 */
import { newId } from "../domain/ids.js";
import { generateSecret } from "../domain/signing.js";
import { AppError } from "../errors.js";
import { eachShard } from "../objects/task-shard/client.js";
import { tenantStub } from "../objects/tenant/client.js";
import { type CreateWorker, DEFAULT_WORKER_CONCURRENCY } from "../schemas/task.js";
import type { WorkerRecord } from "../schemas/worker.js";
import { checkSecret, checkUrl } from "./subscriptions.js";
import { forgetWorkers } from "./worker-pool.js";

export async function registerWorker(
  env: Env,
  tenantId: string,
  input: CreateWorker,
): Promise<{ record: WorkerRecord; generatedSecret?: string }> {
  const generated = input.secret === undefined ? generateSecret() : undefined;
  const secret = input.secret !== undefined ? checkSecret(input.secret) : (generated as string);
  const record: WorkerRecord = {
    id: newId("wkr"),
    name: input.name,
    url: checkUrl(env, input.url),
    taskTypes: input.taskTypes,
    concurrency: input.concurrency ?? DEFAULT_WORKER_CONCURRENCY,
    ...(input.rateLimit ? { rateLimit: input.rateLimit } : {}),
    secrets: [{ secret }],
    createdAt: new Date().toISOString(),
  };
  const created = await tenantStub(env, tenantId).createWorker(record);
  if (!created.ok) throw new AppError(created.code, created.detail);
  forgetWorkers(tenantId);
  // Tasks waiting for a worker of these types are sent now rather than at their next backoff.
  await eachShard(env, tenantId, (s) => s.wake(record.taskTypes)).catch((err: unknown) =>
    console.warn(JSON.stringify({ level: "warn", message: "waking waiting tasks failed", error: String(err) })),
  );
  return { record: created.value, ...(generated ? { generatedSecret: generated } : {}) };
}

export async function listWorkers(env: Env, tenantId: string): Promise<WorkerRecord[]> {
  return tenantStub(env, tenantId).listWorkers();
}

export async function getWorker(env: Env, tenantId: string, id: string): Promise<WorkerRecord> {
  const worker = await tenantStub(env, tenantId).getWorker(id);
  if (!worker) throw new AppError("NOT_FOUND", `No worker ${id}.`);
  return worker;
}

export async function deleteWorker(env: Env, tenantId: string, id: string): Promise<void> {
  if (!(await tenantStub(env, tenantId).deleteWorker(id))) throw new AppError("NOT_FOUND", `No worker ${id}.`);
  forgetWorkers(tenantId);
}
