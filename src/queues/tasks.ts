/**
 * The task queues' consumer (edgebus-tasks-high/normal/low share it). A message is a reference to
 * one attempt of one task; the TaskShard holds the task. Per message: pick a worker that serves
 * the type (healthy first, not the one that just failed it, least loaded), wait for one of its
 * slots, mark the attempt started (stale messages stop here), POST it signed exactly like a
 * webhook, and report the outcome to the shard, which settles the task or schedules the retry.
 * A batch's messages run concurrently; at the end one report per tenant goes to its stats object.
 */
import { settings } from "../config.js";
import { traceHeaders } from "../domain/trace.js";
import { endpointStub } from "../objects/endpoint/client.js";
import { shardStub, taskQueue } from "../objects/task-shard/client.js";
import type { Moved, TaskOutcome } from "../objects/task-shard/sql.js";
import { statsStub } from "../objects/task-stats/client.js";
import type { StatsReport } from "../objects/task-stats/tables.js";
import { TASK_RESULT_BYTES, type TaskMessage, TaskMessageSchema } from "../schemas/task.js";
import type { WorkerRecord } from "../schemas/worker.js";
import { acquire, chooseWorker, reportHealth, servingWorkers, tenantWorkers } from "../services/worker-pool.js";
import { signedPost } from "./signed-post.js";

export async function consumeTasks(batch: MessageBatch, env: Env): Promise<void> {
  const reports = new Map<string, StatsReport>();
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = TaskMessageSchema.safeParse(message.body);
      if (!parsed.success) {
        console.error(JSON.stringify({ level: "error", message: "malformed task message dropped", id: message.id }));
        message.ack();
        return;
      }
      try {
        const moved = await runAttempt(parsed.data, env);
        if (moved) addToReport(reports, parsed.data.tenantId, moved);
        message.ack();
      } catch (err) {
        // Storage or platform trouble, not the worker's answer: let the queue try this message again.
        console.error(JSON.stringify({ level: "error", message: "task attempt failed internally", error: String(err) }));
        message.retry({ delaySeconds: 5 });
      }
    }),
  );
  await Promise.all(
    [...reports].map(([tenantId, report]) =>
      statsStub(env, tenantId)
        .report(tenantId, report)
        .catch((err: unknown) => console.warn(JSON.stringify({ level: "warn", message: "task stats report lost", error: String(err) }))),
    ),
  );
}

function addToReport(reports: Map<string, StatsReport>, tenantId: string, moved: Moved): void {
  const report = reports.get(tenantId) ?? { finished: {}, samples: {} };
  reports.set(tenantId, report);
  if (moved.status === "SUCCEEDED" || moved.status === "DEAD") {
    report.finished[moved.priority] = (report.finished[moved.priority] ?? 0) + 1;
  }
  if (moved.status === "SUCCEEDED") {
    report.samples[moved.type] ??= [];
    report.samples[moved.type]?.push(moved.durationMs);
  }
}

export async function runAttempt(msg: TaskMessage, env: Env): Promise<Moved | null> {
  const shard = shardStub(env, msg.tenantId, msg.shard);
  let candidates = servingWorkers(await tenantWorkers(env, msg.tenantId), msg.type);
  // None in this isolate's short-lived list: read the Tenant object before counting an attempt.
  if (candidates.length === 0) candidates = servingWorkers(await tenantWorkers(env, msg.tenantId, true), msg.type);
  const worker = chooseWorker(candidates, msg.avoid);
  if (!worker) return shard.recordNoWorker(msg.taskId, msg.attempt);

  // A worker with a rate limit: its gate (held across every invocation) says when this may go.
  const gate = worker.rateLimit ? endpointStub(env, msg.tenantId, worker.id) : undefined;
  const slot = gate ? await admitted(env, gate, worker.rateLimit, msg) : undefined;
  if (slot === null) return null;
  // Held at most for the longest attempt (30 s) plus a margin, even if this request dies.
  const release = await acquire(worker, msg.priority, 45_000);
  try {
    const began = await shard.beginAttempt(msg.taskId, msg.attempt, { id: worker.id, name: worker.name });
    if (!began) return null; // settled already, or this attempt started elsewhere: send nothing
    const task = {
      id: began.id,
      type: began.type,
      priority: began.priority,
      data: JSON.parse(began.dataText) as Record<string, unknown>,
      attempt: began.attempt,
      maxAttempts: began.maxAttempts,
      createdAt: new Date(began.createdAt).toISOString(),
    };
    const post = await signedPost({
      url: worker.url,
      secrets: worker.secrets,
      allowPrivate: settings(env).allowPrivateTargets,
      eventId: began.id,
      eventType: began.type,
      // Tasks have no order: X-Event-Sequence is 0; the attempt is in X-Delivery-Attempt.
      sequence: 0,
      partitionKey: began.priority,
      attempt: began.attempt,
      rawBody: JSON.stringify({ task }),
      // Each dispatch is a new span of the task's trace.
      headers: traceHeaders(began.trace),
      timeoutMs: began.timeoutMs,
      keepResponseBytes: TASK_RESULT_BYTES,
    });
    const ok = post.class === "success";
    reportHealth(worker.id, ok);
    const outcome: TaskOutcome = {
      ok,
      durationMs: post.durationMs,
      ...(post.statusCode !== undefined ? { statusCode: post.statusCode } : {}),
      ...(post.error !== undefined ? { error: post.error } : {}),
      ...(ok ? { resultText: asJsonText(post.responseText ?? "") } : {}),
      retryAfter: post.retryAfter ?? null,
    };
    return await shard.recordOutcome(msg.taskId, msg.attempt, outcome);
  } finally {
    release();
    if (gate && slot) await gate.release([slot.token]).catch(() => {});
  }
}

/**
 * A slot at the worker's gate (waiting for it when it is less than a second away), or null
 * when the gate refused: then the same attempt is queued again for when it may go, and the
 * message is done (no attempt is used).
 */
async function admitted(
  env: Env,
  gate: ReturnType<typeof endpointStub>,
  limit: WorkerRecord["rateLimit"],
  msg: TaskMessage,
): Promise<{ token: number } | null> {
  const {
    admitted: [slot],
    retryAt,
  } = await gate.admit(1, limit, 46_000);
  if (slot) {
    const wait = slot.at - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return slot;
  }
  const delaySeconds = Math.max(1, Math.ceil(((retryAt ?? Date.now() + 1_000) - Date.now()) / 1000));
  await taskQueue(env, msg.priority).sendBatch([{ body: msg, contentType: "json", delaySeconds }]);
  return null;
}

/** A worker's body as JSON text: JSON as is, an empty body as null, anything else as a string. */
export function asJsonText(body: string): string {
  if (body.trim() === "") return "null";
  try {
    JSON.parse(body);
    return body;
  } catch {
    return JSON.stringify(body);
  }
}
