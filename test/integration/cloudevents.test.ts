/**
 * CloudEvents in (structured, binary, batch) and out (both formats, GET with Accept), and W3C
 * trace context from the publisher to receivers and workers. Producers build events with the
 * cloudevents SDK; receivers parse what the real receiver recorded with `HTTP.toEvent` and check
 * signatures with the standardwebhooks library.
 */
import { CloudEvent, HTTP } from "cloudevents";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";
import { bucket, script, waitFor } from "../helpers/hooks.js";
import type { Received } from "../helpers/receiver.js";

type Published = { eventId: string; partitionKey: string; sequence: number; subscribers: string[] };
type Stored = Record<string, unknown> & { metadata: Record<string, unknown> };

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** An event with every mapped attribute, built with the SDK. */
function fullEvent(overrides: Record<string, unknown> = {}) {
  return new CloudEvent({
    id: `ce-${crypto.randomUUID()}`,
    type: "order.created",
    source: "/orders/service",
    time: "2024-07-15T14:32:22.000Z",
    subject: "order-123",
    datacontenttype: "application/json",
    dataschema: "https://schemas.example.com/order.created/1.2",
    data: { orderId: "order-123", total: 99.95 },
    partitionkey: "order-123",
    routingkey: "order.region.eu.created",
    correlationid: "corr-1",
    causationid: "cause-1",
    schemaversion: "1.2",
    ...overrides,
  });
}

async function send(apiKey: string, message: { headers: Record<string, unknown>; body: unknown }, path = "/events", extra = {}) {
  return call(path, {
    method: "POST",
    key: apiKey,
    raw: String(message.body),
    headers: { ...(message.headers as Record<string, string>), ...extra },
  });
}

async function stored(apiKey: string, id: string, partitionKey: string) {
  const res = await call(`/events/${id}?partitionKey=${partitionKey}`, { key: apiKey });
  expect(res.status).toBe(200);
  return json<Stored>(res);
}

async function hook(apiKey: string, format?: string, extra: Record<string, unknown> = {}) {
  const b = bucket("ce");
  const res = await call("/webhooks", { method: "POST", key: apiKey, body: { url: b.url, ...(format ? { format } : {}), ...extra } });
  expect(res.status, await res.clone().text()).toBe(201);
  const created = await json<{ webhookId: string; secret: string; format: string }>(res);
  return { ...created, name: b.name, url: b.url };
}

/** The receiver's record as the SDK's HTTP.toEvent reads it. */
const parse = (r: Received) => HTTP.toEvent({ headers: r.headers, body: r.body }) as CloudEvent<Record<string, unknown>>;

function verified(secret: string, r: Received) {
  new Webhook(secret).verify(r.body, r.headers);
}

async function hmacHex(secret: string, body: string): Promise<string> {
  const raw = secret.startsWith("whsec_")
    ? Uint8Array.from(atob(secret.slice(6)), (ch) => ch.charCodeAt(0))
    : new TextEncoder().encode(secret);
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
  return [...sig].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function expectFullyMapped(e: Stored, ce: { id: string }) {
  expect(e).toMatchObject({
    id: ce.id,
    type: "order.created",
    source: "/orders/service",
    timestamp: "2024-07-15T14:32:22.000Z",
    subject: "order-123",
    dataSchema: "https://schemas.example.com/order.created/1.2",
    data: { orderId: "order-123", total: 99.95 },
    routingKey: "order.region.eu.created",
    partitionKey: "order-123",
    metadata: { correlationId: "corr-1", causationId: "cause-1", version: "1.2" },
  });
}

describe("CloudEvents in", () => {
  it("stores a structured event faithfully; partitionkey decides the partition", async () => {
    const { apiKey } = await newTenant();
    const ce = fullEvent();
    const res = await send(apiKey, HTTP.structured(ce));
    expect(res.status, await res.clone().text()).toBe(202);
    const out = await json<Published>(res);
    expect(out).toMatchObject({ eventId: ce.id, partitionKey: "order-123", sequence: 1 });
    expectFullyMapped(await stored(apiKey, ce.id, "order-123"), ce);
  });

  it("stores a binary-mode event (ce-* headers, the body is data)", async () => {
    const { apiKey } = await newTenant();
    const ce = fullEvent();
    const message = HTTP.binary(ce);
    expect(message.headers["ce-partitionkey"]).toBe("order-123");
    const res = await send(apiKey, message);
    expect(res.status, await res.clone().text()).toBe(202);
    expect(await json<Published>(res)).toMatchObject({ eventId: ce.id, partitionKey: "order-123" });
    expectFullyMapped(await stored(apiKey, ce.id, "order-123"), ce);
  });

  it("dedupes by the CloudEvent id like any event", async () => {
    const { apiKey } = await newTenant();
    const ce = fullEvent();
    expect((await send(apiKey, HTTP.structured(ce))).status).toBe(202);
    const again = await send(apiKey, HTTP.binary(ce));
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await json(again)).toMatchObject({ eventId: ce.id, duplicate: true, sequence: 1 });
  });

  it("takes a batch (application/cloudevents-batch+json); each event succeeds or fails on its own", async () => {
    const { apiKey } = await newTenant();
    const good = [fullEvent(), fullEvent({ partitionkey: "order-456", subject: "order-456" })];
    const bad = { specversion: "1.0", id: "x-1", type: "order.created", data: {} }; // no source
    const body = JSON.stringify([good[0], bad, good[1]]);
    const res = await call("/events/batch", {
      method: "POST",
      key: apiKey,
      raw: body,
      headers: { "content-type": "application/cloudevents-batch+json" },
    });
    expect(res.status).toBe(202);
    const { results } = await json<{ results: Array<Record<string, unknown>> }>(res);
    expect(results[0]).toMatchObject({ eventId: good[0]?.id, partitionKey: "order-123" });
    expect(results[1]).toMatchObject({
      index: 1,
      status: 400,
      code: "VALIDATION_FAILED",
      errors: [{ path: "source", message: "is required" }],
    });
    expect(String(results[1]?.detail)).toContain("source");
    expect(results[2]).toMatchObject({ eventId: good[1]?.id, partitionKey: "order-456" });
    expect(await stored(apiKey, good[1]?.id as string, "order-456")).toMatchObject({ subject: "order-456" });
  });

  it("refuses a batch that is not an array, and a batch body on POST /events", async () => {
    const { apiKey } = await newTenant();
    const headers = { "content-type": "application/cloudevents-batch+json" };
    await expectProblem(await call("/events/batch", { method: "POST", key: apiKey, raw: "{}", headers }), 400, "VALIDATION_FAILED");
    await expectProblem(await call("/events", { method: "POST", key: apiKey, raw: "[]", headers }), 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("applies edgebus's own rules to CloudEvents, naming the attribute", async () => {
    const { apiKey } = await newTenant();
    const structured = (attrs: Record<string, unknown>) =>
      call("/events", {
        method: "POST",
        key: apiKey,
        raw: JSON.stringify(attrs),
        headers: { "content-type": "application/cloudevents+json" },
      });
    const base = { specversion: "1.0", id: "evt-1", source: "/s", type: "order.created", data: { a: 1 } };

    let p = await expectProblem(await structured({ ...base, type: "Order.Created" }), 400, "VALIDATION_FAILED");
    expect(p.errors).toEqual([expect.objectContaining({ path: "type" })]);
    p = await expectProblem(await structured({ ...base, time: "yesterday" }), 400, "VALIDATION_FAILED");
    expect(p.errors).toEqual([expect.objectContaining({ path: "time" })]);
    p = await expectProblem(await structured({ ...base, partitionkey: "_reserved" }), 400, "VALIDATION_FAILED");
    expect(p.errors).toEqual([expect.objectContaining({ path: "partitionkey" })]);
    p = await expectProblem(await structured({ ...base, data: [1, 2] }), 400, "VALIDATION_FAILED");
    expect(p.errors).toEqual([expect.objectContaining({ path: "data", message: "must be a JSON object, not an array" })]);
    p = await expectProblem(await structured({ ...base, partitionKey: "k" }), 400, "VALIDATION_FAILED");
    expect(p.errors).toEqual([
      expect.objectContaining({ path: "partitionKey", message: expect.stringContaining('did you mean "partitionkey"?') }),
    ]);
    p = await expectProblem(await structured({ ...base, schemaversion: 2 }), 400, "VALIDATION_FAILED");
    expect(p.errors).toEqual([expect.objectContaining({ path: "schemaversion" })]);
  });

  it("names a missing required attribute, and refuses an unsupported specversion", async () => {
    const { apiKey } = await newTenant();
    const structured = (attrs: Record<string, unknown>) =>
      call("/events", {
        method: "POST",
        key: apiKey,
        raw: JSON.stringify(attrs),
        headers: { "content-type": "application/cloudevents+json" },
      });
    const base = { specversion: "1.0", id: "evt-1", source: "/s", type: "order.created", data: { a: 1 } };
    for (const attr of ["id", "source", "type", "specversion"]) {
      const { [attr]: _gone, ...rest } = base as Record<string, unknown>;
      const p = await expectProblem(await structured(rest), 400, "VALIDATION_FAILED");
      expect(p.detail).toContain(`missing required CloudEvents attribute ${attr}`);
      expect(p.errors).toEqual([{ path: attr, message: "is required" }]);
    }
    const p = await expectProblem(await structured({ ...base, specversion: "0.3" }), 400, "VALIDATION_FAILED");
    expect(p.detail).toContain('unsupported specversion "0.3"');

    // Binary mode: the attributes come from the headers.
    const binary = HTTP.binary(fullEvent());
    const { "ce-id": _id, ...noId } = binary.headers as Record<string, string>;
    const b = await expectProblem(await send(apiKey, { headers: noId, body: binary.body }), 400, "VALIDATION_FAILED");
    expect(b.errors).toEqual([{ path: "id", message: "is required" }]);
  });

  it("refuses data that is not JSON with a clear reason (415)", async () => {
    const { apiKey } = await newTenant();
    const base = { specversion: "1.0", id: "evt-1", source: "/s", type: "order.created" };
    const structured = (attrs: Record<string, unknown>) =>
      call("/events", {
        method: "POST",
        key: apiKey,
        raw: JSON.stringify(attrs),
        headers: { "content-type": "application/cloudevents+json" },
      });

    let p = await expectProblem(await structured({ ...base, data_base64: btoa("binary!") }), 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(p.detail).toContain("data_base64");
    p = await expectProblem(await structured({ ...base, datacontenttype: "text/plain", data: "hello" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(p.detail).toContain("text/plain");

    // Binary mode with a text body: the body is the data, and it is not JSON.
    const text = HTTP.binary(new CloudEvent({ type: "order.created", source: "/s", datacontenttype: "text/plain", data: "hello" }));
    p = await expectProblem(await send(apiKey, text), 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(p.detail).toContain("binary mode");
  });

  it("accepts subject in the plain JSON envelope (at most 256 characters)", async () => {
    const { apiKey } = await newTenant();
    const res = await call("/events", {
      method: "POST",
      key: apiKey,
      body: { type: "a.b", data: {}, subject: "order-9", partitionKey: "p" },
    });
    expect(res.status).toBe(202);
    const { eventId } = await json<Published>(res);
    expect(await stored(apiKey, eventId, "p")).toMatchObject({ subject: "order-9" });
    const long = await call("/events", { method: "POST", key: apiKey, body: { type: "a.b", data: {}, subject: "s".repeat(257) } });
    const p = await expectProblem(long, 400, "VALIDATION_FAILED");
    expect(p.errors).toEqual([expect.objectContaining({ path: "subject" })]);
  });
});

describe("CloudEvents out", () => {
  it("delivers a structured CloudEvent the SDK parses, signed over the bytes sent", async () => {
    const { apiKey } = await newTenant();
    const h = await hook(apiKey, "cloudevents");
    expect(h.format).toBe("cloudevents");
    const ce = fullEvent();
    expect((await send(apiKey, HTTP.structured(ce))).status).toBe(202);
    const [r] = await waitFor(h.name, 1);
    const got = r as Received;
    expect(got.headers["content-type"]).toBe("application/cloudevents+json");
    verified(h.secret, got);
    expect(got.headers["x-signature"]).toBe(`sha256=${await hmacHex(h.secret, got.body)}`);
    const e = parse(got);
    expect(e).toMatchObject({
      specversion: "1.0",
      id: ce.id,
      type: "order.created",
      source: "/orders/service",
      time: "2024-07-15T14:32:22.000Z",
      subject: "order-123",
      datacontenttype: "application/json",
      dataschema: "https://schemas.example.com/order.created/1.2",
      data: { orderId: "order-123", total: 99.95 },
      partitionkey: "order-123",
      sequence: "1",
      routingkey: "order.region.eu.created",
      correlationid: "corr-1",
      causationid: "cause-1",
      schemaversion: "1.2",
    });
    // The webhook headers of the JSON format are all there too.
    expect(got.headers).toMatchObject({
      "x-event-id": ce.id,
      "webhook-id": ce.id,
      "x-event-sequence": "1",
      "x-partition-key": "order-123",
    });
  });

  it("delivers binary mode (data as the body, attributes in ce-* headers) the SDK parses", async () => {
    const { apiKey } = await newTenant();
    const h = await hook(apiKey, "cloudevents-binary", { secret: "a-client-secret-of-16+" });
    const res = await call("/events", {
      method: "POST",
      key: apiKey,
      body: { type: "order.shipped", data: { orderId: "o-1" }, partitionKey: "o-1" },
    });
    const { eventId } = await json<Published>(res);
    const got = (await waitFor(h.name, 1))[0] as Received;
    expect(got.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(got.body)).toEqual({ orderId: "o-1" });
    new Webhook(btoa("a-client-secret-of-16+")).verify(got.body, got.headers);
    expect(got.headers["x-signature"]).toBe(`sha256=${await hmacHex("a-client-secret-of-16+", got.body)}`);
    const e = parse(got);
    expect(e).toMatchObject({
      id: eventId,
      type: "order.shipped",
      source: "edgebus",
      data: { orderId: "o-1" },
      partitionkey: "o-1",
      sequence: "1",
      correlationid: eventId,
      schemaversion: "1.0",
    });
    expect(got.headers["ce-specversion"]).toBe("1.0");
  });

  it("keeps the JSON format by default; PATCH switches the format of a webhook or subscription", async () => {
    const { apiKey } = await newTenant();
    const h = await hook(apiKey);
    expect(h.format).toBe("json");
    const patched = await call(`/webhooks/${h.webhookId}`, { method: "PATCH", key: apiKey, body: { format: "cloudevents" } });
    expect(await json(patched)).toMatchObject({ format: "cloudevents" });
    await expectProblem(
      await call(`/webhooks/${h.webhookId}`, { method: "PATCH", key: apiKey, body: { format: "xml" } }),
      400,
      "VALIDATION_FAILED",
    );
    const sub = await json<{ id: string; format: string }>(
      await call("/subscriptions", { method: "POST", key: apiKey, body: { name: "s1", url: bucket().url, format: "cloudevents-binary" } }),
    );
    expect(sub.format).toBe("cloudevents-binary");
    const back = await call(`/subscriptions/${sub.id}`, { method: "PATCH", key: apiKey, body: { format: "json" } });
    expect(await json(back)).toMatchObject({ format: "json" });
    // The JSON format is today's wire format: {"event": …}.
    const plain = await hook(apiKey, "json");
    await call("/events", { method: "POST", key: apiKey, body: { type: "a.b", data: { x: 1 }, subject: "s" } });
    const got = (await waitFor(plain.name, 1))[0] as Received;
    const body = JSON.parse(got.body) as { event: Record<string, unknown> };
    expect(body.event).toMatchObject({ type: "a.b", subject: "s", data: { x: 1 }, sequence: 1 });
    expect(body.event.trace).toBeUndefined();
    verified(plain.secret, got);
  });

  it("GET /events/:id with Accept: application/cloudevents+json returns the CloudEvent", async () => {
    const { apiKey } = await newTenant();
    const ce = fullEvent();
    await send(apiKey, HTTP.binary(ce));
    const res = await call(`/events/${ce.id}?partitionKey=order-123`, { key: apiKey, headers: { accept: "application/cloudevents+json" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/cloudevents+json");
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    const e = HTTP.toEvent({ headers, body: await res.text() }) as CloudEvent;
    expect(e).toMatchObject({ id: ce.id, type: "order.created", subject: "order-123", sequence: "1", partitionkey: "order-123" });
    // Without it (or preferring JSON), the usual view.
    const plain = await call(`/events/${ce.id}?partitionKey=order-123`, {
      key: apiKey,
      headers: { accept: "application/json, application/cloudevents+json;q=0.5" },
    });
    expect(plain.headers.get("content-type")).toContain("application/json");
    expect(await json(plain)).toHaveProperty("deliveries");
  });
});

describe("trace context", () => {
  const traceOf = (r: Received) => {
    const m = TRACEPARENT_RE.exec(r.headers.traceparent ?? "");
    expect(m, `traceparent ${r.headers.traceparent}`).not.toBeNull();
    return { traceId: m?.[1] as string, parentId: m?.[2] as string, flags: m?.[3] as string };
  };

  it("sends the publisher's trace on every attempt: same trace id, a new parent id each time", async () => {
    const { apiKey } = await newTenant();
    const h = await hook(apiKey, "cloudevents", { retryPolicy: { maxAttempts: 3, backoffMs: 100, timeoutMs: 5000 } });
    await script(h.name, { responses: [{ status: 500 }, { status: 200 }] });
    const res = await send(apiKey, HTTP.structured(fullEvent()), "/events", {
      traceparent: TRACEPARENT,
      tracestate: "rojo=00f067aa0ba902b7",
    });
    expect(res.status).toBe(202);
    const [first, second] = (await waitFor(h.name, 2, 15_000)) as [Received, Received];
    const a = traceOf(first);
    const b = traceOf(second);
    expect(a.traceId).toBe(TRACE_ID);
    expect(b.traceId).toBe(TRACE_ID);
    expect(a.flags).toBe("01");
    expect(a.parentId).not.toBe(b.parentId);
    expect([a.parentId, b.parentId]).not.toContain("00f067aa0ba902b7");
    expect(first.headers.tracestate).toBe("rojo=00f067aa0ba902b7");
    expect(second.headers.tracestate).toBe("rojo=00f067aa0ba902b7");
    expect(second.headers["x-delivery-attempt"]).toBe("2");
    // The correlation id is the event's, untouched by tracing.
    expect(parse(second).correlationid).toBe("corr-1");
  });

  it("starts a trace per event when none (or a malformed one) was sent, kept across retries", async () => {
    const { apiKey } = await newTenant();
    const h = await hook(apiKey, undefined, { retryPolicy: { maxAttempts: 3, backoffMs: 100, timeoutMs: 5000 } });
    await script(h.name, { responses: [{ status: 503 }, { status: 200 }] });
    const e1 = await call("/events", { method: "POST", key: apiKey, body: { type: "a.b", data: { n: 1 }, partitionKey: "k" } });
    const e2 = await call("/events", {
      method: "POST",
      key: apiKey,
      body: { type: "a.b", data: { n: 2 }, partitionKey: "k" },
      headers: { traceparent: "00-not-a-trace-01", tracestate: "rojo=1" },
    });
    expect(e1.status).toBe(202);
    expect(e2.status).toBe(202);
    const got = await waitFor(h.name, 3, 15_000); // one event answered 503 once, then 200
    const byEvent = new Map<string, Array<ReturnType<typeof traceOf>>>();
    for (const r of got) {
      const id = r.headers["x-event-id"] as string;
      byEvent.set(id, [...(byEvent.get(id) ?? []), traceOf(r)]);
      expect(r.headers.tracestate).toBeUndefined();
    }
    const traces = [...byEvent.values()];
    expect(traces).toHaveLength(2);
    const failedTwice = traces.find((t) => t.length === 2) as Array<ReturnType<typeof traceOf>>;
    expect(failedTwice[0]?.traceId).toBe(failedTwice[1]?.traceId);
    expect(failedTwice[0]?.parentId).not.toBe(failedTwice[1]?.parentId);
    const ids = new Set(traces.map((t) => t[0]?.traceId));
    expect(ids.size).toBe(2);
  });

  it("gives every event of a batch the request's trace", async () => {
    const { apiKey } = await newTenant();
    const h = await hook(apiKey);
    const res = await call("/events/batch", {
      method: "POST",
      key: apiKey,
      body: {
        events: [
          { type: "a.b", data: {} },
          { type: "a.c", data: {} },
        ],
      },
      headers: { traceparent: TRACEPARENT },
    });
    expect(res.status).toBe(202);
    const got = await waitFor(h.name, 2);
    expect(got.map((r) => traceOf(r).traceId)).toEqual([TRACE_ID, TRACE_ID]);
  });

  it("takes a CloudEvent's own traceparent attribute (Distributed Tracing extension)", async () => {
    const { apiKey } = await newTenant();
    const h = await hook(apiKey);
    const ce = fullEvent({ traceparent: TRACEPARENT });
    expect((await send(apiKey, HTTP.structured(ce))).status).toBe(202);
    const [r] = await waitFor(h.name, 1);
    expect(traceOf(r as Received).traceId).toBe(TRACE_ID);
  });

  it("sends a task's trace on every dispatch to its worker, a new parent id each time", async () => {
    const { apiKey } = await newTenant();
    const w = bucket("wk");
    await script(w.name, { responses: [{ status: 500 }, { status: 200, body: '{"ok":true}' }] });
    const created = await call("/workers", { method: "POST", key: apiKey, body: { name: "w1", url: w.url, taskTypes: ["trace.*"] } });
    expect(created.status).toBe(201);
    const t1 = await call("/tasks", {
      method: "POST",
      key: apiKey,
      body: { type: "trace.me", data: {}, maxAttempts: 3, backoffMs: 100 },
      headers: { traceparent: TRACEPARENT, tracestate: "congo=t61rcWkgMzE" },
    });
    expect(t1.status).toBe(202);
    const [first, second] = (await waitFor(w.name, 2, 15_000)) as [Received, Received];
    expect(traceOf(first).traceId).toBe(TRACE_ID);
    expect(traceOf(second).traceId).toBe(TRACE_ID);
    expect(traceOf(first).parentId).not.toBe(traceOf(second).parentId);
    expect(first.headers.tracestate).toBe("congo=t61rcWkgMzE");

    // Without trace context (or with a malformed one) a task starts its own trace; the request succeeds.
    const t2 = await call("/tasks", {
      method: "POST",
      key: apiKey,
      body: { type: "trace.me", data: {} },
      headers: { traceparent: "garbage" },
    });
    expect(t2.status).toBe(202);
    const third = (await waitFor(w.name, 3, 15_000))[2] as Received;
    expect(traceOf(third).traceId).not.toBe(TRACE_ID);
  });
});
