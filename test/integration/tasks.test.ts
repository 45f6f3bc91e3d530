import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { taskStub } from "../../src/objects/task-shard/client.js";
import { TaskShard } from "../../src/objects/task-shard/object.js";
import { statsStub } from "../../src/objects/task-stats/client.js";
import type { TaskMessage } from "../../src/schemas/task.js";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";
import { bucket, received, script, sleep, waitFor } from "../helpers/hooks.js";

type Task = {
  taskId: string;
  type: string;
  priority: string;
  status: string;
  attempts: number;
  worker?: string;
  result?: unknown;
  error?: string;
  finishedAt?: string;
};
type Accepted = { taskId: string; status: string; estimatedProcessingTime?: string; duplicate?: boolean };
type SendToQueue = (priority: string, items: Array<{ body: TaskMessage; delaySeconds: number }>) => Promise<void>;

afterEach(() => vi.restoreAllMocks());

async function worker(apiKey: string, body: Record<string, unknown>) {
  const res = await call("/workers", { method: "POST", key: apiKey, body });
  expect(res.status).toBe(201);
  return json<{ id: string; name: string; secret?: string }>(res);
}

async function submit(apiKey: string, body: Record<string, unknown>) {
  const res = await call("/tasks", { method: "POST", key: apiKey, body });
  expect(res.status, await res.clone().text()).toBe(202);
  return json<Accepted>(res);
}

const getTask = async (apiKey: string, id: string) => json<Task>(await call(`/tasks/${id}`, { key: apiKey }));

async function until(apiKey: string, id: string, status: string, timeout = 10_000) {
  let last: Task | undefined;
  await vi.waitFor(
    async () => {
      last = await getTask(apiKey, id);
      expect(last.status).toBe(status);
    },
    { timeout, interval: 100 },
  );
  return last as Task;
}

describe("tasks and workers", () => {
  it("runs a process.order task on a worker, signed like a webhook, and keeps its result", async () => {
    const { tenantId, apiKey } = await newTenant();
    const hook = bucket("wk");
    await script(hook.name, { responses: [{ status: 200, body: JSON.stringify({ shipped: true, trackingId: "trk-1" }) }] });
    const w = await worker(apiKey, { name: "order-processor", url: hook.url, taskTypes: ["process.*"] });
    expect(w.secret).toMatch(/^whsec_/);

    const accepted = await submit(apiKey, { type: "process.order", data: { orderId: "order-123", priority: "high" } });
    expect(accepted).toMatchObject({ status: "QUEUED" });
    expect(accepted.taskId).toMatch(/^task_/);
    expect(accepted.estimatedProcessingTime).toMatch(/^\d+[smh]$/);

    const done = await until(apiKey, accepted.taskId, "SUCCEEDED");
    expect(done).toMatchObject({
      priority: "high",
      attempts: 1,
      worker: "order-processor",
      result: { shipped: true, trackingId: "trk-1" },
    });
    const [got] = await received(hook.name);
    if (!got) throw new Error("nothing received");
    expect(got.headers).toMatchObject({
      "x-event-id": accepted.taskId,
      "webhook-id": accepted.taskId,
      "x-event-type": "process.order",
      "x-event-sequence": "0",
      "x-partition-key": "high",
      "x-delivery-attempt": "1",
    });
    const verified = new Webhook(w.secret ?? "").verify(got.body, got.headers) as { task: Record<string, unknown> };
    expect(verified.task).toMatchObject({
      id: accepted.taskId,
      type: "process.order",
      priority: "high",
      data: { orderId: "order-123" },
      attempt: 1,
    });

    // The consumer reported the finished task and its processing time to the tenant's stats object.
    const stats = statsStub(env, tenantId);
    await vi.waitFor(async () =>
      expect(await stats.snapshot()).toMatchObject({ backlog: { high: 0 }, types: { "process.order": { samples: 1 } } }),
    );
    // A drifted count is corrected by the stats object's recount from the shards.
    await runInDurableObject(stats, (_i, state) => void state.storage.sql.exec("UPDATE stats_backlog SET backlog = 99"));
    expect(await runDurableObjectAlarm(stats)).toBe(true);
    expect((await stats.snapshot()).backlog).toEqual({ high: 0, normal: 0, low: 0 });
  });

  it("holds a delayed task and counts the delay into its estimate", async () => {
    const { apiKey } = await newTenant();
    const accepted = await submit(apiKey, { type: "send.reminder", data: {}, delaySeconds: 120 });
    expect(accepted.estimatedProcessingTime).toBe("2m");
    const task = await getTask(apiKey, accepted.taskId);
    expect(task).toMatchObject({ status: "QUEUED", attempts: 0 });
    const next = Date.parse((task as Task & { nextAttemptAt: string }).nextAttemptAt);
    expect(next - Date.now()).toBeGreaterThan(110_000);
  });

  it("retries with backoff, goes DEAD after maxAttempts, and runs again on POST /tasks/:id/retry", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("wk");
    await script(hook.name, { responses: [{ status: 500 }, { status: 500 }, { status: 200, body: '{"ok":1}' }] });
    await worker(apiKey, { name: "flaky", url: hook.url, taskTypes: ["#"] });
    const { taskId } = await submit(apiKey, { type: "send.notification", data: {}, maxAttempts: 2, backoffMs: 1000 });

    const dead = await until(apiKey, taskId, "DEAD");
    expect(dead).toMatchObject({ attempts: 2, error: "receiver answered 500" });
    const first = await received(hook.name);
    expect(first.map((r) => r.headers["x-delivery-attempt"])).toEqual(["1", "2"]);
    expect((first[1]?.at ?? 0) - (first[0]?.at ?? 0)).toBeGreaterThanOrEqual(700);

    const again = await call(`/tasks/${taskId}/retry`, { method: "POST", key: apiKey });
    expect(again.status).toBe(202);
    expect(await json(again)).toMatchObject({ taskId, status: "QUEUED" });
    const ok = await until(apiKey, taskId, "SUCCEEDED");
    expect(ok).toMatchObject({ attempts: 3, result: { ok: 1 } });
    expect(ok.error).toBeUndefined();
    const all = await received(hook.name);
    expect(all.map((r) => r.headers["webhook-id"])).toEqual([taskId, taskId, taskId]);
    await expectProblem(await call(`/tasks/${taskId}/retry`, { method: "POST", key: apiKey }), 409, "INVALID_TRANSITION");
  });

  it("processes the same id once and answers a repeat with the same task", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("wk");
    await worker(apiKey, { name: "once", url: hook.url, taskTypes: ["update.inventory"] });
    const body = { id: "inv-sku-1-2024", type: "update.inventory", data: { sku: "sku-1", delta: -2 } };
    const a = await submit(apiKey, body);
    const res = await call("/tasks", { method: "POST", key: apiKey, body });
    expect(res.status).toBe(202);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect(await json(res)).toMatchObject({ taskId: "inv-sku-1-2024", duplicate: true });
    expect(a.taskId).toBe("inv-sku-1-2024");
    await until(apiKey, a.taskId, "SUCCEEDED");
    expect(await submit(apiKey, body)).toMatchObject({ taskId: a.taskId, status: "SUCCEEDED", duplicate: true });
    await sleep(1500);
    expect(await received(hook.name)).toHaveLength(1);
  });

  it("finishes a high task submitted behind 50 low ones before most of them", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("wk");
    await script(hook.name, { responses: [{ status: 200, delayMs: 250 }] });
    await worker(apiKey, { name: "slow", url: hook.url, taskTypes: ["work.*"], concurrency: 2 });
    const lows = await Promise.all(
      Array.from({ length: 50 }, (_, i) => submit(apiKey, { type: "work.low", data: { i }, priority: "low" })),
    );
    const high = await submit(apiKey, { type: "work.high", data: {}, priority: "high" });
    const done = await until(apiKey, high.taskId, "SUCCEEDED", 15_000);
    const finished = await json<{ tasks: Task[] }>(await call("/tasks?status=SUCCEEDED&type=work.low&limit=100", { key: apiKey }));
    const before = finished.tasks.filter((t) => (t.finishedAt ?? "") < (done.finishedAt ?? ""));
    expect(before.length).toBeLessThan(25);
    // The estimate is not a constant: the last low task had 49 ahead of it.
    const seconds = (s = "") => Number(s.slice(0, -1)) * ({ s: 1, m: 60, h: 3600 }[s.slice(-1)] ?? 0);
    const etas = lows.map((l) => seconds(l.estimatedProcessingTime));
    expect(Math.max(...etas)).toBeGreaterThan(Math.min(...etas));
    // Every low task runs too (and none is still running when this file's runtime stops).
    await vi.waitFor(
      async () => {
        const all = await json<{ tasks: Task[] }>(await call("/tasks?status=SUCCEEDED&type=work.low&limit=100", { key: apiKey }));
        expect(all.tasks).toHaveLength(50);
      },
      { timeout: 30_000, interval: 250 },
    );
  }, 45_000);

  it("sends a retry to another worker, and spreads tasks over the workers", async () => {
    const { apiKey } = await newTenant();
    const bad = bucket("bad");
    const good = bucket("good");
    await script(bad.name, { responses: [{ status: 503 }] });
    await worker(apiKey, { name: "bad", url: bad.url, taskTypes: ["job.#"] });
    await worker(apiKey, { name: "good", url: good.url, taskTypes: ["job.#"] });
    const ids = await Promise.all(
      [1, 2, 3, 4].map(async (i) => (await submit(apiKey, { type: "job.run", data: { i }, maxAttempts: 3, backoffMs: 1000 })).taskId),
    );
    for (const id of ids) expect(await until(apiKey, id, "SUCCEEDED")).toMatchObject({ worker: "good" });
    const atBad = (await received(bad.name)).map((r) => r.headers["x-event-id"]);
    const atGood = (await received(good.name)).map((r) => r.headers["x-event-id"]);
    expect(new Set(atGood)).toEqual(new Set(ids));
    for (const id of ids) expect(atBad.filter((x) => x === id).length).toBeLessThanOrEqual(1);
    expect(atBad.length).toBeGreaterThan(0);
  });

  it("keeps a task with no worker QUEUED and says why, then runs it once a worker registers", async () => {
    const { apiKey } = await newTenant();
    const { taskId } = await submit(apiKey, { type: "report.generate", data: {}, maxAttempts: 5, backoffMs: 1000 });
    await vi.waitFor(
      async () => expect(await getTask(apiKey, taskId)).toMatchObject({ status: "QUEUED", error: "no worker serves this task type" }),
      {
        timeout: 8000,
        interval: 200,
      },
    );
    const hook = bucket("wk");
    await worker(apiKey, { name: "reporter", url: hook.url, taskTypes: ["report.*"] });
    await until(apiKey, taskId, "SUCCEEDED", 5000);
    await waitFor(hook.name, 1);
  });

  it("re-sends a task whose queue message was lost, from its shard's alarm", async () => {
    const { tenantId, apiKey } = await newTenant();
    const hook = bucket("wk");
    await worker(apiKey, { name: "w", url: hook.url, taskTypes: ["#"] });
    const send = vi.spyOn(TaskShard.prototype as unknown as { sendToQueue: SendToQueue }, "sendToQueue").mockResolvedValueOnce(undefined);
    const { taskId } = await submit(apiKey, { type: "lost.task", data: {} });
    expect(send).toHaveBeenCalledTimes(1);
    expect(await getTask(apiKey, taskId)).toMatchObject({ status: "QUEUED", attempts: 0 });
    const shard = taskStub(env, tenantId, taskId);
    expect(await runDurableObjectAlarm(shard)).toBe(true); // within the lease: nothing is re-sent
    expect(send).toHaveBeenCalledTimes(1);
    expect(await getTask(apiKey, taskId)).toMatchObject({ status: "QUEUED", attempts: 0 });
    expect(await received(hook.name)).toHaveLength(0);
    await runInDurableObject(shard, (_i, state) => {
      state.storage.sql.exec("UPDATE tasks SET lease_until = 0 WHERE lease_until IS NOT NULL");
    });
    await runDurableObjectAlarm(shard);
    await until(apiKey, taskId, "SUCCEEDED");
    expect(await received(hook.name)).toHaveLength(1);
  });

  it("publishes task.succeeded and task.failed to the tenant's bus when onComplete is set", async () => {
    const { apiKey } = await newTenant();
    const events = bucket("ev");
    const ok = bucket("wk");
    const failing = bucket("wk");
    await script(ok.name, { responses: [{ status: 200, body: '{"charged":true}' }] });
    await script(failing.name, { responses: [{ status: 500 }] });
    const sub = await call("/subscriptions", {
      method: "POST",
      key: apiKey,
      body: { name: "task-events", events: ["task.*"], url: events.url },
    });
    expect(sub.status).toBe(201);
    await worker(apiKey, { name: "payments", url: ok.url, taskTypes: ["process.payment"] });
    await worker(apiKey, { name: "refunds", url: failing.url, taskTypes: ["process.refund"] });
    const paid = await submit(apiKey, { type: "process.payment", data: { amount: 5998 }, onComplete: true });
    const refund = await submit(apiKey, { type: "process.refund", data: {}, onComplete: true, maxAttempts: 1 });
    const got = await waitFor(events.name, 2, 12_000);
    const bodies = got.map(
      (r) => (JSON.parse(r.body) as { event: { type: string; partitionKey: string; data: Record<string, unknown> } }).event,
    );
    expect(bodies.find((e) => e.type === "task.succeeded")).toMatchObject({
      partitionKey: paid.taskId,
      data: { taskId: paid.taskId, type: "process.payment", result: { charged: true }, attempts: 1 },
    });
    expect(bodies.find((e) => e.type === "task.failed")).toMatchObject({
      partitionKey: refund.taskId,
      data: { taskId: refund.taskId, type: "process.refund", error: "receiver answered 500", attempts: 1 },
    });
  });
});

describe("task input and access", () => {
  it("refuses bad input with problem+json", async () => {
    const { apiKey } = await newTenant();
    const post = (body: unknown) => call("/tasks", { method: "POST", key: apiKey, body });
    await expectProblem(await post({ type: "a.b", data: {}, priority: "urgent" }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ data: {} }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ type: "Not.Valid", data: {} }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ type: "a.b", data: [] }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ type: "a.b", id: "has space" }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ type: "a.b", maxAttempts: 0 }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ type: "a.b", timeoutMs: 60_000 }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ type: "a.b", colour: "red" }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ type: "a.b", data: { blob: "x".repeat(65 * 1024) } }), 413, "PAYLOAD_TOO_LARGE");
    await expectProblem(await post({ type: "a.b", data: { blob: "x".repeat(300 * 1024) } }), 413, "PAYLOAD_TOO_LARGE");
    await expectProblem(
      await call("/tasks", { method: "POST", key: apiKey, raw: "{", headers: { "content-type": "application/json" } }),
      400,
      "BAD_JSON",
    );
    // An invalid data.priority is not an error: the task is normal priority. (Held for an hour:
    // with no worker for it, its attempts would otherwise outlive this file's runtime.)
    const t = await submit(apiKey, { type: "a.b", data: { priority: "urgent" }, delaySeconds: 3600 });
    expect((await getTask(apiKey, t.taskId)).priority).toBe("normal");
  });

  it("answers 404 for unknown and other tenants' tasks, 400 for a malformed id", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const { taskId } = await submit(a.apiKey, { type: "a.b", data: {}, delaySeconds: 3600 }); // no attempt during this file
    expect((await call(`/tasks/${taskId}`, { key: a.apiKey })).status).toBe(200);
    await expectProblem(await call(`/tasks/${taskId}`, { key: b.apiKey }), 404, "NOT_FOUND");
    await expectProblem(await call("/tasks/task_nope", { key: a.apiKey }), 404, "NOT_FOUND");
    await expectProblem(await call(`/tasks/${taskId}/retry`, { method: "POST", key: b.apiKey }), 404, "NOT_FOUND");
    await expectProblem(await call("/tasks/bad%20id", { key: a.apiKey }), 400, "BAD_ID");
    await expectProblem(await call("/tasks", { key: null }), 401, "MISSING_API_KEY");
  });

  it("manages workers: unique names, target checks, secrets shown once, 404s", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket("wk");
    const w = await worker(apiKey, { name: "w1", url: hook.url, taskTypes: ["a.*"], secret: "a-client-secret-1234", concurrency: 3 });
    expect(w.secret).toBeUndefined();
    await expectProblem(
      await call("/workers", { method: "POST", key: apiKey, body: { name: "w1", url: hook.url, taskTypes: ["a.*"] } }),
      409,
      "CONFLICT",
    );
    await expectProblem(
      await call("/workers", { method: "POST", key: apiKey, body: { name: "w2", url: "ftp://x.test/", taskTypes: ["a.*"] } }),
      400,
      "TARGET_REFUSED",
    );
    await expectProblem(
      await call("/workers", { method: "POST", key: apiKey, body: { name: "w3", url: hook.url, taskTypes: [] } }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call("/workers", { method: "POST", key: apiKey, body: { name: "w4", url: hook.url, taskTypes: ["a"], secret: "short" } }),
      400,
      "VALIDATION_FAILED",
    );
    const list = await json<{ workers: Array<Record<string, unknown>> }>(await call("/workers", { key: apiKey }));
    expect(list.workers).toEqual([
      { id: w.id, name: "w1", url: hook.url, taskTypes: ["a.*"], concurrency: 3, createdAt: expect.any(String) },
    ]);
    expect(await json(await call(`/workers/${w.id}`, { key: apiKey }))).not.toHaveProperty("secret");
    expect((await call(`/workers/${w.id}`, { method: "DELETE", key: apiKey })).status).toBe(204);
    await expectProblem(await call(`/workers/${w.id}`, { key: apiKey }), 404, "NOT_FOUND");
    await expectProblem(await call(`/workers/${w.id}`, { method: "DELETE", key: apiKey }), 404, "NOT_FOUND");
    const doc = await json<{ paths: Record<string, unknown> }>(await call("/openapi.json", { key: null }));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/tasks", "/tasks/{id}", "/tasks/{id}/retry", "/workers", "/workers/{id}"]),
    );
  });
});
