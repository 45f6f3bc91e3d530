/**
 * The POST /events fast path (src/routes/publish-fast.ts): it answers a plain JSON publish itself,
 * as the app would (the same status, headers, body and errors), and hands everything else to the
 * app before anything happened. Each case is sent twice: through `publishFast` with a
 * recording hand-over, and to the app alone.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { LIMITS } from "../../src/config.js";
import { publishFast } from "../../src/routes/publish-fast.js";
import { ADMIN, call, DEV_KEY, json, newTenant } from "../helpers/api.js";
import { bucket, waitFor } from "../helpers/hooks.js";

const URL_EVENTS = "http://localhost/events";
const app = buildApp();

function request(body: string, headers: Record<string, string> = {}, url = URL_EVENTS, method = "POST"): Request {
  return new Request(url, {
    method,
    headers: {
      "content-type": "application/json",
      "content-length": String(new TextEncoder().encode(body).byteLength),
      ...headers,
    },
    body,
  });
}

/** The request through the fast path; `handed` counts the requests it gave to the app. */
async function fast(req: Request): Promise<{ res: Response; handed: number }> {
  let handed = 0;
  const answer = publishFast(req, env, (r) => {
    handed++;
    return app.fetch(r, env);
  });
  if (answer === undefined) throw new Error("the fast path declined a request it should take");
  return { res: await answer, handed };
}

/** The same request answered by the app alone. */
async function viaApp(body: string, headers: Record<string, string> = {}, url = URL_EVENTS): Promise<Response> {
  return app.fetch(request(body, headers, url), env);
}

const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const envelope = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: "order.created", data: { n: 1 }, partitionKey: "p", ...extra });

/** Status, the problem's code and detail, and the headers a client reads. */
async function outcome(res: Response) {
  const body = await json<Record<string, unknown>>(res);
  expect(body.requestId ?? res.headers.get("x-request-id")).toBe(res.headers.get("x-request-id"));
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    code: body.code,
    detail: body.detail,
    errors: body.errors,
  };
}

describe("POST /events fast path", () => {
  it("answers a plain JSON publish itself, with the app's status, headers and body", async () => {
    const { apiKey } = await newTenant();
    const a = await fast(request(envelope({ id: "evt-fast-1" }), { ...auth(apiKey), "x-request-id": "req-fast-1" }));
    expect(a.handed).toBe(0);
    expect(a.res.status).toBe(202);
    expect(a.res.headers.get("x-request-id")).toBe("req-fast-1");
    const b = await viaApp(envelope({ id: "evt-app-1" }), auth(apiKey));
    expect(b.status).toBe(202);
    expect([...a.res.headers.keys()].sort()).toEqual([...b.headers.keys()].sort());
    expect(a.res.headers.get("content-type")).toBe(b.headers.get("content-type"));
    const fastBody = await json(a.res);
    const appBody = await json(b);
    expect(fastBody).toEqual({ ...appBody, eventId: "evt-fast-1", sequence: 1 });
    expect(appBody.sequence).toBe(2);

    // A replay is answered the same way on both paths, marked as such.
    const again = await fast(request(envelope({ id: "evt-fast-1" }), auth(apiKey)));
    const againApp = await viaApp(envelope({ id: "evt-fast-1" }), auth(apiKey));
    expect(again.handed).toBe(0);
    expect(again.res.headers.get("idempotent-replayed")).toBe("true");
    expect(againApp.headers.get("idempotent-replayed")).toBe("true");
    expect(await json(again.res)).toEqual(await json(againApp));

    // The Idempotency-Key header is the event id here too, also when the body names the same id.
    const keyed = await fast(request(envelope(), { ...auth(apiKey), "idempotency-key": "order-77" }));
    expect(keyed.handed).toBe(0);
    expect((await json(keyed.res)).eventId).toBe("order-77");
    const stored = await call("/events/order-77?partitionKey=p", { key: apiKey });
    expect(stored.status).toBe(200);
    const same = await fast(request(envelope({ id: "order-78" }), { ...auth(apiKey), "idempotency-key": "order-78" }));
    expect([same.handed, same.res.status, (await json(same.res)).eventId]).toEqual([0, 202, "order-78"]);

    // JSON media types the app accepts are taken, in any case and with parameters.
    for (const type of ["application/json; charset=utf-8", "APPLICATION/JSON", "application/json;charset=UTF-8"]) {
      const taken = await fast(request(envelope(), { ...auth(apiKey), "content-type": type }));
      expect([taken.handed, taken.res.status], type).toEqual([0, 202]);
      expect((await viaApp(envelope(), { ...auth(apiKey), "content-type": type })).status, type).toBe(202);
    }
  });

  it("answers a publish's own refusals and warnings as the app does", async () => {
    const { tenantId, apiKey } = await newTenant();
    const put = await call("/schemas/order.created/versions/1.0", { method: "PUT", key: apiKey, body: { schema: { type: "object" } } });
    expect(put.status).toBe(201);
    const versioned = (version: string) => envelope({ metadata: { version } });

    const unknown = await fast(request(versioned("1.5"), auth(apiKey)));
    expect(unknown.handed).toBe(0);
    const got = await outcome(unknown.res);
    expect(got.code).toBe("UNKNOWN_SCHEMA_VERSION");
    expect(got).toEqual(await outcome(await viaApp(versioned("1.5"), auth(apiKey))));

    const deprecate = await call("/schemas/order.created/versions/1.0", { method: "PATCH", key: apiKey, body: { deprecated: true } });
    expect(deprecate.status).toBe(200);
    const warned = await fast(request(versioned("1.0.0"), auth(apiKey)));
    const warnedApp = await viaApp(versioned("1.0.0"), auth(apiKey));
    expect([warned.handed, warned.res.status, warnedApp.status]).toEqual([0, 202, 202]);
    expect(warned.res.headers.get("deprecation")).toMatch(/^@\d+$/);
    expect(warned.res.headers.get("deprecation")).toBe(warnedApp.headers.get("deprecation"));

    // Past the tenant's quota: 429 with Retry-After, nothing stored, on both paths.
    const limit = await call(`/tenants/${tenantId}`, { method: "PATCH", key: ADMIN, body: { limits: { publishPerSecond: 1 } } });
    expect(limit.status).toBe(200);
    const refused = new Map<string, Response>();
    for (let i = 0; i < 3; i++) {
      const id = `q-fast-${i}`;
      const r = await fast(request(envelope({ id }), auth(apiKey)));
      expect(r.handed).toBe(0);
      if (r.res.status !== 202) refused.set(id, r.res);
    }
    for (const id of ["q-app-0", "q-app-1"]) {
      const res = await viaApp(envelope({ id }), auth(apiKey));
      if (res.status !== 202) refused.set(id, res);
    }
    // One token a second: in the second or so these take, both paths have refused at least one.
    expect([...refused.keys()].some((id) => id.startsWith("q-fast"))).toBe(true);
    expect([...refused.keys()].some((id) => id.startsWith("q-app"))).toBe(true);
    for (const [id, res] of refused) {
      expect((await outcome(res.clone())).code, id).toBe("RATE_LIMITED");
      expect(res.headers.get("retry-after"), id).toMatch(/^[1-9]\d*$/);
      expect((await call(`/events/${id}?partitionKey=p`, { key: apiKey })).status, id).toBe(404);
    }
  });

  it("refuses what the app refuses, with the same problem, without handing over", async () => {
    const { apiKey } = await newTenant();
    const read = await json<{ apiKey: string }>(
      await call("/tenants/keys", { method: "POST", key: apiKey, body: { scopes: ["events:read"] } }),
    );
    const cases: Array<{ name: string; headers: Record<string, string>; body?: string; url?: string; status: number; code: string }> = [
      { name: "no key", headers: {}, status: 401, code: "MISSING_API_KEY" },
      { name: "not a Bearer header", headers: { authorization: "Basic eDp5" }, status: 401, code: "MISSING_API_KEY" },
      { name: "unknown key", headers: auth("ebk_nope"), status: 401, code: "INVALID_API_KEY" },
      { name: "the admin token", headers: auth(ADMIN), status: 401, code: "INVALID_API_KEY" },
      {
        name: "the development key off localhost",
        headers: auth(DEV_KEY),
        url: "http://edgebus.example/events",
        status: 401,
        code: "INVALID_API_KEY",
      },
      { name: "a key without events:publish", headers: auth(read.apiKey), status: 403, code: "INSUFFICIENT_SCOPE" },
      { name: "a malformed Idempotency-Key", headers: { ...auth(apiKey), "idempotency-key": "a b" }, status: 400, code: "BAD_ID" },
      {
        name: "an Idempotency-Key unlike the id",
        headers: { ...auth(apiKey), "idempotency-key": "k-1" },
        body: envelope({ id: "k-2" }),
        status: 400,
        code: "VALIDATION_FAILED",
      },
    ];
    for (const c of cases) {
      const body = c.body ?? envelope();
      const viaFast = await fast(request(body, c.headers, c.url));
      expect(viaFast.handed, c.name).toBe(0);
      const got = await outcome(viaFast.res);
      expect(got.status, c.name).toBe(c.status);
      expect(got.code, c.name).toBe(c.code);
      expect(got.type, c.name).toBe("application/problem+json");
      expect(got, c.name).toEqual(await outcome(await viaApp(body, c.headers, c.url)));
    }
    // Nothing was stored by any of them.
    const log = await json<{ events: unknown[] }>(await call("/partitions/p/events", { key: apiKey }));
    expect(log.events).toEqual([]);
  });

  it("hands a body that is empty, not JSON or not an envelope to the app, which words the error", async () => {
    const cases: Array<{ body: string; code: string; field?: string }> = [
      { body: "{not json", code: "BAD_JSON" },
      { body: JSON.stringify({ data: {}, partitionKey: "p" }), code: "VALIDATION_FAILED", field: "type" },
      { body: "", code: "BAD_JSON" },
    ];
    for (const c of cases) {
      const viaFast = await fast(request(c.body, auth(DEV_KEY)));
      expect(viaFast.handed, c.body).toBe(1);
      const got = await outcome(viaFast.res);
      expect(got, c.body).toEqual(await outcome(await viaApp(c.body, auth(DEV_KEY))));
      expect(got.code, c.body).toBe(c.code);
      if (c.field) expect(got.errors, c.body).toContainEqual(expect.objectContaining({ path: c.field }));
    }
  });

  it("declines every other request before reading it", async () => {
    const body = envelope();
    const declined: Array<[string, Request]> = [
      ["a CloudEvent", request(body, { "content-type": "application/cloudevents+json" })],
      ["a CloudEvents batch", request(body, { "content-type": "application/cloudevents-batch+json" })],
      ["binary mode", request(body, { "ce-specversion": "1.0", "ce-type": "a.b" })],
      ["another media type", request(body, { "content-type": "text/plain" })],
      [
        "no content type",
        new Request(URL_EVENTS, {
          method: "POST",
          headers: { "content-length": String(body.length) },
          body: new TextEncoder().encode(body),
        }),
      ],
      ["a JSON type the app refuses", request(body, { "content-type": "application/json;" })],
      ["a length past the limit", request(body, { "content-length": String(LIMITS.requestBodyBytes + 1) })],
      [
        "no declared length",
        new Request(URL_EVENTS, { method: "POST", headers: { "content-type": "application/json" }, body: new Blob([body]).stream() }),
      ],
      ["the batch route", request(body, {}, "http://localhost/events/batch")],
      ["another path", request(body, {}, "http://localhost/events/x")],
      ["another method", request(body, {}, URL_EVENTS, "PUT")],
    ];
    for (const [name, req] of declined) {
      expect(
        publishFast(req, env, () => Promise.reject(new Error("unused"))),
        name,
      ).toBeUndefined();
      expect(req.bodyUsed, name).toBe(false);
    }
    // The app refuses that last media type, as it did before the fast path existed.
    expect((await app.fetch(request(body, { ...auth(DEV_KEY), "content-type": "application/json;" }), env)).status).toBe(415);
    // A query string does not change the route (taken here, and refused for the missing key).
    const withQuery = await fast(request(body, {}, `${URL_EVENTS}?x=1`));
    expect([withQuery.handed, withQuery.res.status]).toEqual([0, 401]);
  });

  it("keeps the request's trace context for the deliveries", async () => {
    const { apiKey } = await newTenant();
    const b = bucket("fast-trace");
    expect((await call("/webhooks", { method: "POST", key: apiKey, body: { url: b.url } })).status).toBe(201);
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const { res, handed } = await fast(request(envelope(), { ...auth(apiKey), traceparent, tracestate: "rojo=1" }));
    expect(handed).toBe(0);
    expect(res.status).toBe(202);
    const [got] = await waitFor(b.name, 1, 15_000);
    expect(got?.headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(got?.headers.tracestate).toBe("rojo=1");
  });
});
