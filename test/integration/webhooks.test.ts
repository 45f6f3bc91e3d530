import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";
import { bucket, received, script, sleep, waitFor } from "../helpers/hooks.js";
import type { Received } from "../helpers/receiver.js";

type Hook = { webhookId: string; secret?: string; status: string; createdAt: string };
type Log = {
  deliveries: Array<{
    deliveryId: string;
    eventId: string;
    status: string;
    attempts: Array<{ attempt: number; statusCode?: number; error?: string }>;
  }>;
  nextCursor: string | null;
};

async function register(apiKey: string, body: Record<string, unknown>): Promise<Hook> {
  const res = await call("/webhooks", { method: "POST", key: apiKey, body });
  if (res.status !== 201) throw new Error(`register failed ${res.status} ${await res.text()}`);
  return json<Hook>(res);
}

async function publish(apiKey: string, data: Record<string, unknown> = {}, type = "order.created") {
  const res = await call("/events", { method: "POST", key: apiKey, body: { type, data } });
  expect(res.status).toBe(202);
  return json<{ eventId: string; partitionKey: string; sequence: number }>(res);
}

const log = async (apiKey: string, id: string, query = "") => json<Log>(await call(`/webhooks/${id}/deliveries${query}`, { key: apiKey }));

async function hmacHex(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
  return [...sig].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Polls an assertion until it holds (deliveries are asynchronous); generous for a loaded local queue. */
const eventually = (fn: () => Promise<void>, timeout = 15_000) => vi.waitFor(fn, { timeout, interval: 200 });

const gaps = (rs: Received[]) => rs.slice(1).map((r, i) => r.at - (rs[i]?.at ?? 0));

describe("registration", () => {
  it("accepts url, events, secret and retryPolicy, and never returns a client secret", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    const created = await register(apiKey, {
      url: hook.url,
      events: ["order.created", "order.shipped"],
      secret: "webhook-secret-123",
      retryPolicy: { maxAttempts: 3, backoffMs: 1000, timeoutMs: 30000 },
    });
    expect(created).toMatchObject({ status: "ACTIVE", events: ["order.created", "order.shipped"] });
    expect(created.webhookId).toMatch(/^sub_/);
    expect(Date.parse(created.createdAt)).toBeGreaterThan(0);
    expect(created.secret).toBeUndefined();
    const got = await json(await call(`/webhooks/${created.webhookId}`, { key: apiKey }));
    expect(got).toMatchObject({
      webhookId: created.webhookId,
      url: hook.url,
      retryPolicy: { maxAttempts: 3, backoffMs: 1000, timeoutMs: 30000 },
    });
    expect(JSON.stringify(got)).not.toContain("webhook-secret-123");
  });

  it("changes only the retry policy fields a PATCH sends", async () => {
    const { apiKey } = await newTenant();
    const created = await register(apiKey, { url: bucket().url, retryPolicy: { maxAttempts: 3, backoffMs: 2000, timeoutMs: 10000 } });
    const res = await call(`/webhooks/${created.webhookId}`, { method: "PATCH", key: apiKey, body: { retryPolicy: { timeoutMs: 20000 } } });
    expect(await json(res)).toMatchObject({ retryPolicy: { maxAttempts: 3, backoffMs: 2000, timeoutMs: 20000 } });
  });

  it("generates a whsec_ secret when none is given, returned once", async () => {
    const { apiKey } = await newTenant();
    const created = await register(apiKey, { url: bucket().url, events: ["a.b"] });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const list = await json<{ webhooks: unknown[] }>(await call("/webhooks", { key: apiKey }));
    expect(list.webhooks).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(created.secret);
  });

  it("refuses bad secrets, bad policies and bad URLs", async () => {
    const { apiKey } = await newTenant();
    const url = bucket().url;
    const post = (body: unknown) => call("/webhooks", { method: "POST", key: apiKey, body });
    await expectProblem(await post({ url, secret: "short" }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ url, retryPolicy: { maxAttempts: 0 } }), 400, "VALIDATION_FAILED");
    await expectProblem(await post({ url, retryPolicy: { timeoutMs: 60000 } }), 400, "VALIDATION_FAILED");
    for (const bad of ["not a url", "ftp://example.com/x", "https://user:pass@example.com/hook", "javascript:alert(1)"]) {
      await expectProblem(await post({ url: bad }), 400, "TARGET_REFUSED");
    }
  });

  it("refuses private targets in production mode (the full matrix through the route)", async () => {
    const { buildApp } = await import("../../src/app.js");
    const app = buildApp();
    const prodEnv = { ...env, ALLOW_PRIVATE_TARGETS: "false" as const };
    const targets = [
      "http://example.com/hook",
      "https://127.0.0.1/hook",
      "https://10.0.0.1/",
      "https://172.16.5.4/",
      "https://192.168.1.1/",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/",
      "https://[::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://2130706433/",
      "https://localhost/",
      "https://printer.local/",
      "https://db.internal/",
    ];
    for (const url of targets) {
      const res = await app.request(
        "http://localhost/webhooks",
        {
          method: "POST",
          headers: { authorization: "Bearer dev-api-key", "content-type": "application/json" },
          body: JSON.stringify({ url }),
        },
        prodEnv,
      );
      await expectProblem(res, 400, "TARGET_REFUSED");
    }
    const ok = await app.request(
      "http://localhost/webhooks",
      {
        method: "POST",
        headers: { authorization: "Bearer dev-api-key", "content-type": "application/json" },
        body: JSON.stringify({ url: "https://example.com/hook", name: `prod-ok-${Date.now()}` }),
      },
      prodEnv,
    );
    expect(ok.status).toBe(201);
    // The dev tenant is shared by other tests: a webhook to an outside host must not stay on it.
    const { webhookId } = (await ok.json()) as { webhookId: string };
    expect((await call(`/webhooks/${webhookId}`, { method: "DELETE", key: "dev-api-key" })).status).toBe(204);
  });
});

describe.concurrent("delivery outcomes", () => {
  it("signs so that standardwebhooks and X-Signature both verify", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    const created = await register(apiKey, { url: hook.url, events: ["order.*"], secret: "webhook-secret-123" });
    const { eventId } = await publish(apiKey, { orderId: "order-456" });
    const [got] = await waitFor(hook.name, 1);
    if (!got) throw new Error("nothing received");
    const verified = new Webhook("webhook-secret-123", { format: "raw" }).verify(got.body, got.headers);
    expect(verified).toMatchObject({ event: { id: eventId, data: { orderId: "order-456" } } });
    expect(got.headers["x-signature"]).toBe(`sha256=${await hmacHex("webhook-secret-123", got.body)}`);
    await eventually(async () =>
      expect((await log(apiKey, created.webhookId)).deliveries).toMatchObject([
        { eventId, status: "DELIVERED", attempts: [{ attempt: 1, statusCode: 200 }] },
      ]),
    );
  });

  it("retries 500s with increasing delays and the same webhook-id", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    await script(hook.name, { responses: [{ status: 500 }, { status: 500 }, { status: 200 }] });
    const created = await register(apiKey, { url: hook.url, retryPolicy: { maxAttempts: 5, backoffMs: 1000, timeoutMs: 5000 } });
    const { eventId } = await publish(apiKey);
    const got = await waitFor(hook.name, 3, 15_000);
    expect(new Set(got.map((r) => r.headers["webhook-id"]))).toEqual(new Set([eventId]));
    expect(got.map((r) => r.headers["x-delivery-attempt"])).toEqual(["1", "2", "3"]);
    // Delays are 1 s then 2 s (backoffMs × 2^(n-1), ±20 % jitter, whole seconds). A gap can only
    // be longer than its delay (local queues run one batch at a time), never shorter.
    const [first, second] = gaps(got) as [number, number];
    expect(first).toBeGreaterThanOrEqual(950);
    expect(second).toBeGreaterThanOrEqual(1950);
    await eventually(async () =>
      expect((await log(apiKey, created.webhookId)).deliveries[0]).toMatchObject({
        status: "DELIVERED",
        attempts: [{ statusCode: 500 }, { statusCode: 500 }, { statusCode: 200 }],
      }),
    );
  });

  it("records a timeout as a failed attempt", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    await script(hook.name, { responses: [{ status: 200, delayMs: 2500 }] });
    const created = await register(apiKey, { url: hook.url, retryPolicy: { maxAttempts: 1, backoffMs: 1000, timeoutMs: 1000 } });
    await publish(apiKey);
    await eventually(async () =>
      expect((await log(apiKey, created.webhookId)).deliveries[0]).toMatchObject({
        status: "FAILED",
        attempts: [{ attempt: 1, error: "timeout after 1000 ms" }],
      }),
    );
  });

  it("counts the status of a long answer and of one whose body never ends, without waiting for its end", async () => {
    const { apiKey } = await newTenant();
    const long = bucket("long");
    const stalled = bucket("stalled");
    await script(long.name, { responses: [{ status: 200, body: JSON.stringify({ pad: "x".repeat(200_000) }) }] });
    await script(stalled.name, { responses: [{ status: 200, stallBody: true }] });
    // One request at a time and a long timeout: the answer's body is not waited for.
    const policy = { retryPolicy: { maxAttempts: 3, backoffMs: 1000, timeoutMs: 20_000 }, rateLimit: { maxInFlight: 1 } };
    const hooks = [await register(apiKey, { url: long.url, ...policy }), await register(apiKey, { url: stalled.url, ...policy })];
    await publish(apiKey);
    await publish(apiKey);
    const got = await waitFor(stalled.name, 2, 10_000);
    expect(gaps(got)[0]).toBeLessThan(5_000);
    for (const hook of hooks) {
      await eventually(async () => {
        const { deliveries } = await log(apiKey, hook.webhookId);
        expect(deliveries).toHaveLength(2);
        for (const d of deliveries) expect(d).toMatchObject({ status: "DELIVERED", attempts: [{ attempt: 1, statusCode: 200 }] });
      });
    }
    expect(await received(long.name)).toHaveLength(2);
    expect(await received(stalled.name)).toHaveLength(2);
  });

  it("disables the webhook on 410 and publishes webhook.disabled", async () => {
    const { apiKey } = await newTenant();
    const gone = bucket("gone");
    const watcher = bucket("watch");
    await script(gone.name, { responses: [{ status: 410 }] });
    const created = await register(apiKey, { url: gone.url, events: ["order.#"] });
    await register(apiKey, { url: watcher.url, events: ["webhook.disabled"] });
    await publish(apiKey);
    const [note] = await waitFor(watcher.name, 1);
    expect(JSON.parse(note?.body ?? "{}")).toMatchObject({
      event: { type: "webhook.disabled", data: { webhookId: created.webhookId, reason: expect.stringContaining("410") } },
    });
    const after = await json(await call(`/webhooks/${created.webhookId}`, { key: apiKey }));
    expect(after).toMatchObject({ status: "DISABLED", disabledReason: expect.stringContaining("410") });
    await publish(apiKey);
    await sleep(1500);
    expect(await received(gone.name)).toHaveLength(1);
  });

  it("treats a 302 as a failure and never follows it", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    const elsewhere = bucket("elsewhere");
    await script(hook.name, { responses: [{ status: 302, headers: { location: elsewhere.url } }] });
    const created = await register(apiKey, { url: hook.url, retryPolicy: { maxAttempts: 1, backoffMs: 1000, timeoutMs: 5000 } });
    await publish(apiKey);
    await eventually(async () =>
      expect((await log(apiKey, created.webhookId)).deliveries[0]).toMatchObject({ status: "FAILED", attempts: [{ statusCode: 302 }] }),
    );
    expect(await received(elsewhere.name)).toHaveLength(0);
  });

  it("honours Retry-After on 429", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    await script(hook.name, { responses: [{ status: 429, headers: { "retry-after": "3" } }, { status: 200 }] });
    await register(apiKey, { url: hook.url, retryPolicy: { maxAttempts: 3, backoffMs: 100, timeoutMs: 5000 } });
    await publish(apiKey);
    const got = await waitFor(hook.name, 2, 10_000);
    expect(gaps(got)[0]).toBeGreaterThanOrEqual(2900);
  });

  it("dead-letters after maxAttempts, then redelivers and recovers", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    await script(hook.name, { responses: [{ status: 503 }] });
    const created = await register(apiKey, { url: hook.url, retryPolicy: { maxAttempts: 2, backoffMs: 1000, timeoutMs: 5000 } });
    const since = new Date(Date.now() - 1000).toISOString();
    await publish(apiKey, { n: 1 });
    await publish(apiKey, { n: 2 });
    await eventually(async () => {
      const page = await log(apiKey, created.webhookId, "?status=FAILED");
      expect(page.deliveries).toHaveLength(2);
      for (const d of page.deliveries) expect(d.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    });
    expect(await received(hook.name)).toHaveLength(4);

    await script(hook.name, { responses: [{ status: 200 }] });
    const [one] = (await log(apiKey, created.webhookId)).deliveries;
    const redo = await call(`/webhooks/${created.webhookId}/deliveries/${one?.deliveryId}/redeliver`, { method: "POST", key: apiKey });
    expect(redo.status).toBe(202);
    await eventually(async () => expect((await log(apiKey, created.webhookId, "?status=DELIVERED")).deliveries).toHaveLength(1));

    const recovered = await call(`/webhooks/${created.webhookId}/recover`, { method: "POST", key: apiKey, body: { since } });
    expect(await json(recovered)).toEqual({ recovered: 1 });
    await eventually(async () => expect((await log(apiKey, created.webhookId, "?status=DELIVERED")).deliveries).toHaveLength(2));
    const all = (await log(apiKey, created.webhookId)).deliveries;
    for (const d of all) expect(d.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    await expectProblem(
      await call(`/webhooks/${created.webhookId}/deliveries/dlv_nope/redeliver`, { method: "POST", key: apiKey }),
      404,
      "NOT_FOUND",
    );
  });

  it("signs with the old and the new secret during rotation", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    const created = await register(apiKey, { url: hook.url });
    const old = created.secret as string;
    const res = await call(`/webhooks/${created.webhookId}/rotate-secret`, { method: "POST", key: apiKey, body: { graceSeconds: 600 } });
    expect(res.status).toBe(200);
    const rotated = await json<{ secret: string; previousSecretExpiresAt: string }>(res);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(old);
    await publish(apiKey);
    const [got] = await waitFor(hook.name, 1);
    if (!got) throw new Error("nothing received");
    expect(new Webhook(old).verify(got.body, got.headers)).toBeTruthy();
    expect(new Webhook(rotated.secret).verify(got.body, got.headers)).toBeTruthy();
    expect(got.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(got.headers["x-signature"]?.split(" ")).toHaveLength(2);

    // A client-chosen secret with no grace: only the new one signs.
    await call(`/webhooks/${created.webhookId}/rotate-secret`, {
      method: "POST",
      key: apiKey,
      body: { secret: "a-brand-new-secret-123", graceSeconds: 0 },
    });
    await publish(apiKey);
    const [, second] = await waitFor(hook.name, 2);
    expect(second?.headers["x-signature"]).toBe(`sha256=${await hmacHex("a-brand-new-secret-123", second?.body ?? "")}`);
  });

  it("answers a test send with the receiver's status and latency", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    const created = await register(apiKey, { url: hook.url });
    const res = await call(`/webhooks/${created.webhookId}/test`, { method: "POST", key: apiKey });
    expect(await json(res)).toMatchObject({ ok: true, statusCode: 200, durationMs: expect.any(Number) });
    const [got] = await received(hook.name);
    expect(new Webhook(created.secret as string).verify(got?.body ?? "", got?.headers ?? {})).toMatchObject({
      event: { type: "webhook.test" },
    });
  });

  it("delivers every one of 60 events to a receiver that fails every third request", async () => {
    const { apiKey } = await newTenant();
    const hook = bucket();
    await script(hook.name, { responses: [{ status: 200 }], failEvery: 3 });
    await register(apiKey, { url: hook.url, retryPolicy: { maxAttempts: 10, backoffMs: 500, timeoutMs: 5000 } });
    const ids = new Set<string>();
    for (let i = 0; i < 60; i += 20) {
      const batch = Array.from({ length: 20 }, (_, j) => ({ type: "order.created", data: { i: i + j } }));
      const res = await json<{ results: Array<{ eventId: string }> }>(
        await call("/events/batch", { method: "POST", key: apiKey, body: { events: batch } }),
      );
      for (const r of res.results) ids.add(r.eventId);
    }
    await eventually(async () => {
      const got = await received(hook.name);
      const ok = new Set(got.filter((_, n) => (n + 1) % 3 !== 0).map((r) => r.headers["x-event-id"]));
      expect(ok).toEqual(ids);
    }, 40_000);
  }, 60_000);
});

describe("endpoint health", () => {
  it("disables an endpoint failing past the window and publishes webhook.disabled", async () => {
    const { tenantId, apiKey } = await newTenant();
    const hook = bucket();
    const watcher = bucket("watch");
    await script(hook.name, { responses: [{ status: 500 }] });
    const created = await register(apiKey, {
      url: hook.url,
      events: ["order.#"],
      retryPolicy: { maxAttempts: 1, backoffMs: 1000, timeoutMs: 5000 },
    });
    await register(apiKey, { url: watcher.url, events: ["webhook.disabled"] });
    // Failing since six days ago (the window is five).
    const endpoint = env.ENDPOINT.get(env.ENDPOINT.idFromName(`${tenantId}/${created.webhookId}`));
    await runInDurableObject(endpoint, (_i, state) => {
      state.storage.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('failing_since', ?)", String(Date.now() - 6 * 86_400_000));
    });
    await publish(apiKey);
    const [note] = await waitFor(watcher.name, 1);
    expect(JSON.parse(note?.body ?? "{}")).toMatchObject({
      event: { type: "webhook.disabled", data: { webhookId: created.webhookId, reason: expect.stringContaining("6 days") } },
    });
    expect(await json(await call(`/webhooks/${created.webhookId}`, { key: apiKey }))).toMatchObject({ status: "DISABLED" });

    // Set ACTIVE again with recover: what failed while it was failing is sent again.
    await script(hook.name, { responses: [{ status: 200 }] });
    const res = await call(`/webhooks/${created.webhookId}`, { method: "PATCH", key: apiKey, body: { status: "ACTIVE", recover: true } });
    expect(await json(res)).toMatchObject({ status: "ACTIVE", recovered: 1 });
    const [failed, resent] = await waitFor(hook.name, 2);
    expect(resent?.headers["webhook-id"]).toBe(failed?.headers["webhook-id"]);
    await eventually(async () => expect((await log(apiKey, created.webhookId)).deliveries).toMatchObject([{ status: "DELIVERED" }]));
  });

  it("a webhook of another tenant is 404 everywhere", async () => {
    const a = await newTenant("a");
    const b = await newTenant("b");
    const created = await register(a.apiKey, { url: bucket().url });
    for (const [method, path] of [
      ["GET", ""],
      ["PATCH", ""],
      ["DELETE", ""],
      ["GET", "/deliveries"],
      ["POST", "/test"],
      ["POST", "/rotate-secret"],
    ] as const) {
      await expectProblem(
        await call(`/webhooks/${created.webhookId}${path}`, {
          method,
          key: b.apiKey,
          ...(method === "PATCH" ? { body: { status: "DISABLED" } } : {}),
        }),
        404,
        "NOT_FOUND",
      );
    }
  });
});
