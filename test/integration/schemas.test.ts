/**
 * The schema registry through the worker: immutable versions (1.0 is 1.0.0), the catalog,
 * compatibility within a MAJOR (409 naming each breaking change), deprecation, and validation on
 * single and batch publish.
 */
import { describe, expect, it } from "vitest";
import { call, expectProblem, json, newTenant } from "../helpers/api.js";

const v1 = {
  type: "object",
  properties: { orderId: { type: "string" }, amount: { type: "number", minimum: 0 }, note: { type: "string" } },
  required: ["orderId", "amount"],
};

const put = (apiKey: string, type: string, version: string, body: Record<string, unknown>) =>
  call(`/schemas/${type}/versions/${version}`, { method: "PUT", key: apiKey, body });

describe("schema registry", () => {
  it("versions are immutable; 1.0 is 1.0.0; the catalog lists types, versions and the latest", async () => {
    const { apiKey } = await newTenant();
    const created = await put(apiKey, "order.created", "1.0", { schema: v1, description: "first" });
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({
      type: "order.created",
      version: "1.0.0",
      schema: v1,
      description: "first",
      deprecated: false,
    });
    // The same schema again, under either spelling: 200.
    expect((await put(apiKey, "order.created", "1.0.0", { schema: v1 })).status).toBe(200);
    expect((await put(apiKey, "order.created", "1.0", { schema: v1 })).status).toBe(200);
    await expectProblem(await put(apiKey, "order.created", "1.0.0", { schema: { type: "object" } }), 409, "SCHEMA_VERSION_EXISTS");

    const v11 = { ...v1, properties: { ...v1.properties, coupon: { type: "string" } } };
    expect((await put(apiKey, "order.created", "1.1", { schema: v11 })).status).toBe(201);
    expect((await put(apiKey, "order.shipped", "2.0.1", { schema: true })).status).toBe(201);

    const catalog = await json<{ types: unknown[] }>(await call("/schemas", { key: apiKey }));
    expect(catalog.types).toEqual([
      { type: "order.created", latest: "1.1.0", versions: ["1.0.0", "1.1.0"] },
      { type: "order.shipped", latest: "2.0.1", versions: ["2.0.1"] },
    ]);
    const type = await json<{ latest: string; versions: Array<{ version: string }> }>(
      await call("/schemas/order.created", { key: apiKey }),
    );
    expect(type.latest).toBe("1.1.0");
    expect(type.versions.map((v) => v.version)).toEqual(["1.0.0", "1.1.0"]);
    const one = await json(await call("/schemas/order.created/versions/1.1.0", { key: apiKey }));
    expect(one).toMatchObject({ version: "1.1.0", schema: v11, deprecated: false });
    await expectProblem(await call("/schemas/order.created/versions/9.0", { key: apiKey }), 404, "NOT_FOUND");
    await expectProblem(await call("/schemas/order.unknown", { key: apiKey }), 404, "NOT_FOUND");
  });

  it("refuses bad versions and schemas with a 400 naming the path", async () => {
    const { apiKey } = await newTenant();
    for (const version of ["1", "v1.0", "1.0.0.0", "01.0"]) {
      const body = await expectProblem(await put(apiKey, "a.b", version, { schema: v1 }), 400, "VALIDATION_FAILED");
      expect(body.errors).toEqual([{ path: "version", message: expect.any(String) }]);
    }
    const bad = await expectProblem(
      await put(apiKey, "a.b", "1.0", { schema: { properties: { x: { type: "strin" } } } }),
      400,
      "VALIDATION_FAILED",
    );
    expect((bad.errors as Array<{ path: string }>)[0]?.path).toBe("schema.properties.x.type");
    await expectProblem(await put(apiKey, "A.B", "1.0", { schema: v1 }), 400, "VALIDATION_FAILED");
  });

  it("within a MAJOR a new version must be backward compatible: 409 lists every breaking change", async () => {
    const { apiKey } = await newTenant();
    expect((await put(apiKey, "order.created", "1.0", { schema: v1 })).status).toBe(201);
    const breaking = {
      type: "object",
      properties: { orderId: { type: "string" }, amount: { type: "integer", minimum: 0 } },
      required: ["orderId", "amount", "currency"],
      additionalProperties: false,
    };
    const body = await expectProblem(await put(apiKey, "order.created", "1.1", { schema: breaking }), 409, "INCOMPATIBLE_SCHEMA");
    const paths = (body.errors as Array<{ path: string; message: string }>).map((e) => e.path).sort();
    expect(paths).toEqual(["(root)", "amount", "currency", "note"]);
    // A new MAJOR may change anything.
    expect((await put(apiKey, "order.created", "2.0", { schema: breaking })).status).toBe(201);
    // Growing a type to a union is compatible.
    const nullable = { ...v1, properties: { ...v1.properties, amount: { type: ["number", "null"], minimum: 0 } } };
    expect((await put(apiKey, "order.created", "1.0.1", { schema: nullable })).status).toBe(201);
  });

  it("validates published events against the version metadata.version names", async () => {
    const { apiKey } = await newTenant();
    expect((await put(apiKey, "order.created", "1.0", { schema: v1 })).status).toBe(201);
    const publish = (body: Record<string, unknown>) =>
      call("/events", { method: "POST", key: apiKey, body: { type: "order.created", ...body } });

    const ok = await publish({ data: { orderId: "o1", amount: 5 } });
    expect(ok.status).toBe(202);
    expect(ok.headers.get("deprecation")).toBeNull();
    const invalid = await expectProblem(await publish({ data: { orderId: "o1", amount: "5" } }), 422, "SCHEMA_VALIDATION_FAILED");
    expect((invalid.errors as Array<{ path: string }>).map((e) => e.path)).toContain("data.amount");
    await expectProblem(await publish({ data: {}, metadata: { version: "1.5" } }), 422, "UNKNOWN_SCHEMA_VERSION");
    // Types without versions are accepted as before.
    expect((await call("/events", { method: "POST", key: apiKey, body: { type: "other.thing", data: {} } })).status).toBe(202);

    // Deprecation: still accepted, with a Deprecation header.
    const patched = await call("/schemas/order.created/versions/1.0", { method: "PATCH", key: apiKey, body: { deprecated: true } });
    expect(await json(patched)).toMatchObject({ deprecated: true, deprecatedAt: expect.any(String) });
    const dep = await publish({ data: { orderId: "o2", amount: 1 }, metadata: { version: "1.0.0" } });
    expect(dep.status).toBe(202);
    expect(dep.headers.get("deprecation")).toMatch(/^@\d+$/);

    // Batch: per-event problems, the rest published.
    const batch = await call("/events/batch", {
      method: "POST",
      key: apiKey,
      body: {
        events: [
          { type: "order.created", data: { orderId: "o3", amount: 1 } },
          { type: "order.created", data: { orderId: 3 } },
          { type: "order.created", data: {}, metadata: { version: "3.0" } },
        ],
      },
    });
    expect(batch.status).toBe(202);
    expect(batch.headers.get("deprecation")).toMatch(/^@\d+$/);
    const { results } = await json<{ results: Array<Record<string, unknown>> }>(batch);
    expect(results[0]).toHaveProperty("eventId");
    expect(results[1]).toMatchObject({ index: 1, code: "SCHEMA_VALIDATION_FAILED" });
    expect((results[1] as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toContain("events.1.data.orderId");
    expect(results[2]).toMatchObject({ index: 2, code: "UNKNOWN_SCHEMA_VERSION" });
  });
});
