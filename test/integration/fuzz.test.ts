/**
 * Fuzzing every operation of the OpenAPI document (so a new route is fuzzed without being listed
 * here): random path parameters, query strings, headers and bodies — JSON made of the document's
 * own member names, arbitrary JSON, malformed text, deep nesting. Whatever is sent: never a 5xx,
 * and every 4xx is problem+json with a code. The random seed is fixed (FUZZ_SEED overrides it) and is
 * printed with any failure, so a failure is reproduced with `FUZZ_SEED=<seed> npm test`.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { call, json, newTenant } from "../helpers/api.js";

const SEED = Number(env.FUZZ_SEED || 20260415);
const RUNS = 200;

type Doc = { paths: Record<string, Record<string, unknown>>; components?: { schemas?: Record<string, unknown> } };

/** Every member name the document's schemas declare: bodies built from them reach deeper validators. */
function memberNames(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) memberNames(v, into);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === "properties" && v && typeof v === "object") for (const name of Object.keys(v)) into.add(name);
      memberNames(v, into);
    }
  }
  return into;
}

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

describe("fuzzing every operation", () => {
  it(`never answers 5xx, and every 4xx is problem+json (seed ${SEED})`, async () => {
    const doc = await json<Doc>(await call("/openapi.json", { key: null }));
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => ({ path, method: m.toUpperCase() })),
    );
    const names = [...memberNames(doc)];
    const { apiKey } = await newTenant("fuzz");

    const scalar = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      // Target URLs point at the test receiver: a webhook the fuzzer creates may really be delivered to.
      fc.constantFrom("order.created", `${env.RECEIVER_URL}/hook/fuzz`, "ftp://example.com/x", "ACTIVE", "high", "2024-07-15T14:32:22Z"),
    );
    const value = fc.oneof({ depthSize: "small" }, scalar, fc.jsonValue({ maxDepth: 3 }), fc.array(scalar, { maxLength: 4 }));
    const shaped = fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 6 }).map((o) => JSON.stringify(o));
    const body = fc.oneof(
      fc.constant(undefined),
      shaped,
      shaped,
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 60 }),
      fc.integer({ min: 1, max: 6000 }).map((d) => `{"type":"a.b","data":{"x":${nested(d)}},"value":${nested(d)}}`),
      fc.integer({ min: 1, max: 6000 }).map((d) => `{"events":[{"type":"a.b","data":{"x":${nested(d)}}}]}`),
    );
    const param = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9._:~@-]{1,300}$/),
      fc.string({ minLength: 1, maxLength: 30 }).map(encodeURIComponent),
      fc.constantFrom("x1", "evt-1", "key_aaaaaaaaaaaaaaaaaaaa", "sub_x", "%25", "%00", "..", "_shard-1", "a%2Fb", "%E2%82%AC"),
    );
    const query = fc.oneof(
      fc.constant(""),
      fc
        .dictionary(
          fc.constantFrom("after", "limit", "status", "cursor", "partitionKey", "type", "since"),
          fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String)),
          { maxKeys: 3 },
        )
        .map((q) => `?${new URLSearchParams(q).toString()}`),
    );
    const headers = fc.record(
      {
        "content-type": fc.constantFrom(
          "application/json",
          "application/json; charset=utf-8",
          "text/plain",
          "application/x-www-form-urlencoded",
          "application/cloudevents+json",
          "",
        ),
        "idempotency-key": fc.string({ maxLength: 300 }),
        "cache-control": fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.integer().map((n) => `max-age=${n}`),
        ),
        "x-request-id": fc.string({ maxLength: 80 }),
      },
      { requiredKeys: [] },
    );
    const key = fc.oneof(fc.constant(apiKey), fc.constant(apiKey), fc.constant(apiKey), fc.constant(null), fc.string({ maxLength: 40 }));

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ops),
        fc.array(param, { minLength: 4, maxLength: 4 }),
        query,
        headers,
        body,
        key,
        async (op, params, q, h, b, k) => {
          let i = 0;
          const path = op.path.replace(/\{[^}]+\}/g, () => params[i++] as string);
          const sane = Object.fromEntries(Object.entries(h).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v as string))) as Record<
            string,
            string
          >;
          const res = await call(`${path}${q}`, {
            method: op.method,
            key: k !== null && /^[\x21-\x7e]+$/.test(k) ? k : null,
            headers: sane,
            ...(b !== undefined && op.method !== "GET" && op.method !== "DELETE" ? { raw: b } : {}),
          });
          const text = await res.text();
          const where = `${op.method} ${path}${q} → ${res.status}: ${text.slice(0, 300)}`;
          expect(res.status, where).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.headers.get("content-type") ?? "", where).toMatch(/^application\/problem\+json/);
            expect(JSON.parse(text).code, where).toMatch(/^[A-Z_]+$/);
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, verbose: 1 },
    );
  }, 120_000);
});
