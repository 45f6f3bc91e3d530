/**
 * Unit tests of the task queues' consumer: the worker's own `queue` handler is called with a
 * batch built by `createMessageBatch`, and `getQueueResult` tells what happened to each message.
 * Tasks are real (submitted into real TaskShard objects) and the worker endpoint is the real HTTP
 * receiver, but the shards' queue sends are recorded instead of sent, so the only consumer that
 * sees a message is the one each test calls, and a retry's message and delay can be checked.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index.js";
import { shardOf, taskStub } from "../../src/objects/task-shard/client.js";
import { TaskShard } from "../../src/objects/task-shard/object.js";
import { statsStub } from "../../src/objects/task-stats/client.js";
import type { TaskMessage } from "../../src/schemas/task.js";
import { call, json, newTenant } from "../helpers/api.js";
import { bucket, received, script } from "../helpers/hooks.js";
import type { Script } from "../helpers/receiver.js";

type Sent = { priority: string; body: TaskMessage; delaySeconds: number };
type SendToQueue = (priority: string, items: Array<{ body: TaskMessage; delaySeconds: number }>) => Promise<void>;

afterEach(() => vi.restoreAllMocks());

/** What the shards hand to the task queues during a test (nothing reaches the real queues). */
function recordShardSends(): Sent[] {
  const sent: Sent[] = [];
  vi.spyOn(TaskShard.prototype as unknown as { sendToQueue: SendToQueue }, "sendToQueue").mockImplementation(async (priority, items) => {
    for (const i of items) sent.push({ priority, ...i });
  });
  return sent;
}

/** A tenant, optionally a worker for `type` at a fresh receiver bucket, and one submitted task. */
async function submitted(opts: { worker?: boolean; answers?: Script; task?: Record<string, unknown> } = {}) {
  const sent = recordShardSends();
  const { tenantId, apiKey } = await newTenant();
  const hook = bucket("tc");
  if (opts.answers) await script(hook.name, opts.answers);
  let workerId: string | undefined;
  if (opts.worker !== false) {
    const res = await call("/workers", { method: "POST", key: apiKey, body: { name: "w", url: hook.url, taskTypes: ["job.*"] } });
    expect(res.status).toBe(201);
    workerId = (await json<{ id: string }>(res)).id;
  }
  const res = await call("/tasks", { method: "POST", key: apiKey, body: { type: "job.run", data: { n: 1 }, ...opts.task } });
  expect(res.status).toBe(202);
  const { taskId } = await json<{ taskId: string }>(res);
  const message: TaskMessage = {
    kind: "task",
    tenantId,
    shard: shardOf(taskId),
    taskId,
    type: "job.run",
    priority: "normal",
    attempt: 1,
  };
  // The submit itself handed attempt 1 to the queue; what follows is the consumer's doing.
  expect(sent.splice(0)).toEqual([{ priority: "normal", body: message, delaySeconds: 0 }]);
  const task = async () => json<Record<string, unknown>>(await call(`/tasks/${taskId}`, { key: apiKey }));
  return { tenantId, apiKey, hook, taskId, workerId, message, sent, task };
}

async function consume(bodies: unknown[], overrides: Partial<Env> = {}, queue = "edgebus-tasks-normal") {
  const batch = createMessageBatch<unknown>(
    queue,
    bodies.map((body, i) => ({ id: `msg-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const retried = batch.messages.map((m) => vi.spyOn(m, "retry"));
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...overrides }, ctx);
  return { result: await getQueueResult(batch, ctx), retried };
}

describe("tasks consumer: acks", () => {
  it("a 2xx answer: acked, SUCCEEDED with the body as result, and reported to the tenant's stats", async () => {
    const { tenantId, hook, taskId, message, sent, task } = await submitted({
      answers: { responses: [{ status: 200, body: '{"done":true}' }] },
    });
    const { result } = await consume([message]);
    expect(result).toMatchObject({ explicitAcks: ["msg-0"], retryMessages: [], ackAll: false, retryBatch: { retry: false } });
    expect((await received(hook.name)).map((r) => [r.headers["x-event-id"], r.headers["x-delivery-attempt"]])).toEqual([[taskId, "1"]]);
    expect(await task()).toMatchObject({ status: "SUCCEEDED", attempts: 1, worker: "w", result: { done: true } });
    expect(sent).toEqual([]);
    expect(await statsStub(env, tenantId).snapshot()).toMatchObject({ types: { "job.run": { samples: 1 } } });
  });

  it("a malformed body: acked and dropped, with an error log", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { result } = await consume([{ kind: "task", taskId: 7 }, null]);
    expect(result.explicitAcks).toEqual(["msg-0", "msg-1"]);
    expect(result.retryMessages).toEqual([]);
    expect(error.mock.calls.map((c) => JSON.parse(String(c[0])))).toEqual([
      { level: "error", message: "malformed task message dropped", id: "msg-0" },
      { level: "error", message: "malformed task message dropped", id: "msg-1" },
    ]);
  });

  it("a message for a settled task, or for an attempt already started: acked as stale, nothing sent", async () => {
    const { hook, message, sent, task } = await submitted();
    await consume([message]);
    expect(await task()).toMatchObject({ status: "SUCCEEDED", attempts: 1 });
    const { result } = await consume([message, { ...message, attempt: 2 }, { ...message, taskId: "task_unknown" }]);
    expect(result.explicitAcks).toEqual(["msg-0", "msg-1", "msg-2"]);
    expect(await received(hook.name)).toHaveLength(1);
    expect(sent).toEqual([]);
  });

  it("no worker serves the type: acked, the task waits QUEUED and says why, attempt 2 is scheduled", async () => {
    const { hook, message, sent, task } = await submitted({ worker: false, task: { maxAttempts: 3, backoffMs: 1000 } });
    const { result } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(await received(hook.name)).toEqual([]);
    expect(await task()).toMatchObject({ status: "QUEUED", attempts: 1, error: "no worker serves this task type" });
    expect(sent).toEqual([{ priority: "normal", body: { ...message, attempt: 2 }, delaySeconds: 1 }]);
  });

  it("a failure with attempts left: acked, RETRYING, and the shard sends attempt 2 with its backoff, avoiding that worker", async () => {
    const { workerId, message, sent, task } = await submitted({
      answers: { responses: [{ status: 500 }] },
      task: { maxAttempts: 3, backoffMs: 1000 },
    });
    const { result } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(await task()).toMatchObject({ status: "RETRYING", attempts: 1, error: "receiver answered 500" });
    // backoffMs 1000 × 2^0 with ±20 % jitter, in whole seconds: 1 s.
    expect(sent).toEqual([{ priority: "normal", body: { ...message, attempt: 2, avoid: workerId }, delaySeconds: 1 }]);
  });

  it("a failure on the last attempt: acked and DEAD, nothing more sent", async () => {
    const { message, sent, task } = await submitted({ answers: { responses: [{ status: 503 }] }, task: { maxAttempts: 1 } });
    const { result } = await consume([message]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(await task()).toMatchObject({ status: "DEAD", attempts: 1, error: "receiver answered 503" });
    expect(sent).toEqual([]);
  });

  it("a lost stats report: the message is still acked, and the loss is logged as a warning", async () => {
    const { message, task } = await submitted();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const refusing = {
      idFromName: (name: string) => env.TASK_STATS.idFromName(name),
      get: () => ({ report: () => Promise.reject(new Error("stats unavailable")) }),
    } as unknown as Env["TASK_STATS"];
    const { result } = await consume([message], { TASK_STATS: refusing });
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(await task()).toMatchObject({ status: "SUCCEEDED" });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("task stats report lost"));
  });
});

describe("tasks consumer: retries", () => {
  it("a failing shard call: the message is retried after 5 s and the task is untouched", async () => {
    const { tenantId, hook, taskId, message, task } = await submitted();
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    // The shard refuses the call, as platform trouble would (an overloaded or resetting object).
    const real = taskStub(env, tenantId, taskId);
    const refusing = {
      idFromName: (name: string) => env.TASK_SHARD.idFromName(name),
      get: () => ({
        recordNoWorker: (id: string, attempt: number) => real.recordNoWorker(id, attempt),
        beginAttempt: () => Promise.reject(new Error("storage unavailable")),
      }),
    } as unknown as Env["TASK_SHARD"];
    const { result, retried } = await consume([message], { TASK_SHARD: refusing });
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "msg-0" }]);
    expect(retried[0]).toHaveBeenCalledWith({ delaySeconds: 5 });
    expect(await received(hook.name)).toEqual([]);
    expect(await task()).toMatchObject({ status: "QUEUED", attempts: 0 });
    expect(error).toHaveBeenCalledWith(expect.stringContaining("task attempt failed internally"));
  });

  it("the dead-letter queue has no consumer: its batch is retried after a minute", async () => {
    const { hook, message } = await submitted();
    const { result, retried } = await consume([message], {}, "edgebus-tasks-dlq");
    expect(result.retryMessages).toEqual([{ msgId: "msg-0" }]);
    expect(retried[0]).toHaveBeenCalledWith({ delaySeconds: 60 });
    expect(await received(hook.name)).toEqual([]);
  });
});
