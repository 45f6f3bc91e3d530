import { Validator } from "@cfworker/json-schema";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { breakingChanges, canonicalVersion, compareVersions, parseVersion, schemaFaults } from "../../src/domain/schema-compat";

type S = Record<string, unknown>;

const order: S = {
  type: "object",
  properties: {
    id: { type: "string", maxLength: 40 },
    amount: { type: "number", minimum: 0, maximum: 1000 },
    status: { type: "string", enum: ["new", "paid"] },
    note: { type: "string" },
    lines: { type: "array", items: { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] }, maxItems: 10 },
  },
  required: ["id", "amount"],
};

const withProps = (props: S, extra: S = {}): S => ({ ...order, properties: { ...(order.properties as S), ...props }, ...extra });
const without = (name: string): S => {
  const { [name]: _gone, ...rest } = order.properties as S;
  return { ...order, properties: rest };
};

describe("breakingChanges: compatible changes", () => {
  it.each<[string, S]>([
    ["the same schema", order],
    ["an optional property added", withProps({ coupon: { type: "string" } })],
    ["an enum widened", withProps({ status: { type: "string", enum: ["new", "paid", "refunded"] } })],
    ["a maximum relaxed", withProps({ amount: { type: "number", minimum: 0, maximum: 5000 } })],
    ["a minimum removed", withProps({ amount: { type: "number", maximum: 1000 } })],
    ["a maxLength relaxed", withProps({ id: { type: "string", maxLength: 80 } })],
    ["a type added to a union", withProps({ amount: { type: ["number", "null"], minimum: 0, maximum: 1000 } })],
    ["integer widened to number", { type: "object", properties: { n: { type: "number" } } }],
    ["a required property made optional", { ...order, required: ["id"] }],
    [
      "maxItems relaxed",
      withProps({ lines: { type: "array", items: { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] } } }),
    ],
    ["a description added", withProps({ note: { type: "string", description: "free text" } })],
    ["an enum dropped", withProps({ status: { type: "string" } })],
  ])("%s", (_name, next) => {
    const before = _name === "integer widened to number" ? { type: "object", properties: { n: { type: "integer" } } } : order;
    expect(breakingChanges(before, next)).toEqual([]);
  });
});

describe("breakingChanges: breaking changes, each named with its path", () => {
  it.each<[string, S, string, RegExp]>([
    ["a property removed", without("note"), "note", /property removed/],
    [
      "a required property added",
      withProps({ coupon: { type: "string" } }, { required: ["id", "amount", "coupon"] }),
      "coupon",
      /required property added/,
    ],
    ["an optional property made required", { ...order, required: ["id", "amount", "note"] }, "note", /optional property made required/],
    ["a type changed", withProps({ amount: { type: "string" } }), "amount", /type narrowed/],
    ["a union narrowed", withProps({ note: { type: "null" } }), "note", /type narrowed/],
    [
      "number narrowed to integer",
      withProps({ amount: { type: "integer", minimum: 0, maximum: 1000 } }),
      "amount",
      /type narrowed: number/,
    ],
    ["an enum narrowed", withProps({ status: { type: "string", enum: ["new"] } }), "status", /enum narrowed: "paid"/],
    ["an enum added", withProps({ note: { type: "string", enum: ["a"] } }), "note", /enum added/],
    ["a maximum tightened", withProps({ amount: { type: "number", minimum: 0, maximum: 100 } }), "amount", /maximum tightened/],
    ["a minimum added", withProps({ note: { type: "string", minLength: 1 } }), "note", /minLength tightened/],
    [
      "an exclusive bound added",
      withProps({ amount: { type: "number", exclusiveMinimum: 0, maximum: 1000 } }),
      "amount",
      /exclusiveMinimum/,
    ],
    ["additional properties forbidden", { ...order, additionalProperties: false }, "(root)", /additional properties forbidden/],
    [
      "a nested item property removed",
      withProps({ lines: { type: "array", items: { type: "object", properties: {} }, maxItems: 10 } }),
      "lines[].sku",
      /property removed/,
    ],
    [
      "maxItems tightened",
      withProps({
        lines: { type: "array", items: { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] }, maxItems: 5 },
      }),
      "lines",
      /maxItems/,
    ],
    ["a pattern added", withProps({ id: { type: "string", maxLength: 40, pattern: "^o_" } }), "id", /pattern added or changed/],
    ["a change it cannot judge", withProps({ note: { anyOf: [{ type: "string" }, { type: "number" }] } }), "note", /cannot judge/],
    ["everything allowed, but properties disappear", {}, "id", /property removed/],
  ])("%s", (_name, next, path, message) => {
    const errors = breakingChanges(order, next);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.find((e) => e.path === path)?.message).toMatch(message);
  });

  it("a type added where any type was allowed", () => {
    expect(breakingChanges({ properties: { a: {} } }, { properties: { a: { type: "string" } } })).toEqual([
      { path: "a", message: "type added: string (any type was allowed before)" },
    ]);
  });

  it("lists every breaking change", () => {
    const next = { ...without("note"), required: ["id", "amount", "status"], additionalProperties: false };
    expect(
      breakingChanges(order, next)
        .map((e) => e.path)
        .sort(),
    ).toEqual(["(root)", "note", "status"]);
  });
});

describe("versions and schema shape", () => {
  it("parses MAJOR.MINOR[.PATCH]; 1.0 is 1.0.0", () => {
    expect(canonicalVersion(parseVersion("1.0") as never)).toBe("1.0.0");
    expect(canonicalVersion(parseVersion("2.10.3") as never)).toBe("2.10.3");
    for (const bad of ["1", "v1.0", "1.0.0.0", "01.0", "1.x", "", "1.0-beta"]) expect(parseVersion(bad)).toBeUndefined();
    expect(compareVersions(parseVersion("1.2") as never, parseVersion("1.10") as never)).toBeLessThan(0);
  });

  it("names faults of a schema that is not a JSON Schema", () => {
    expect(schemaFaults({ type: "object", properties: { a: { type: "string" } } })).toEqual([]);
    expect(schemaFaults(true)).toEqual([]);
    expect(schemaFaults("x")[0]?.path).toBe("schema");
    expect(schemaFaults({ type: "strin" })[0]?.path).toBe("schema.type");
    expect(schemaFaults({ properties: { a: { minimum: "1" } } })[0]?.path).toBe("schema.properties.a.minimum");
    expect(schemaFaults({ required: "a" })[0]?.path).toBe("schema.required");
    expect(schemaFaults({ pattern: "(" })[0]?.path).toBe("schema.pattern");
    expect(schemaFaults({ properties: { a: { $ref: "https://example.com/x.json" } } })[0]?.path).toBe("schema.properties.a.$ref");
    expect(schemaFaults({ $defs: { n: { type: "number" } }, properties: { a: { $ref: "#/$defs/n" } } })).toEqual([]);
  });
});

// --- property tests: for every pair the checker accepts, documents valid under the old schema
// validate under the new one (documents carry the declared properties only: an undeclared key
// that a new optional property later describes is the one case the rule lets through on purpose).

const leafSchema: fc.Arbitrary<S> = fc.oneof(
  fc.record(
    { type: fc.constant("string"), maxLength: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }) },
    { requiredKeys: ["type"] },
  ),
  fc.record({ type: fc.constant("string"), enum: fc.uniqueArray(fc.constantFrom("a", "b", "c", "d"), { minLength: 1 }) }),
  fc.record(
    {
      type: fc.constantFrom("integer", "number"),
      minimum: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }),
      maximum: fc.option(fc.integer({ min: 6, max: 20 }), { nil: undefined }),
    },
    { requiredKeys: ["type"] },
  ),
  fc.constant({ type: "boolean" }),
  fc.constant({ type: ["string", "null"] }),
);

const schemaArb: fc.Arbitrary<S> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, leafSchema, tie("object"), tie("array")),
  object: fc.dictionary(fc.constantFrom("a", "b", "c", "d"), tie("node") as fc.Arbitrary<S>, { maxKeys: 4 }).chain((properties) =>
    fc.record(
      {
        type: fc.constant("object"),
        properties: fc.constant(properties),
        required: fc.subarray(Object.keys(properties)),
        additionalProperties: fc.option(fc.constant(false), { nil: undefined }),
      },
      { requiredKeys: ["type", "properties", "required"] },
    ),
  ),
  array: fc.record(
    {
      type: fc.constant("array"),
      items: tie("node") as fc.Arbitrary<S>,
      maxItems: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    },
    { requiredKeys: ["type", "items"] },
  ),
})).object as fc.Arbitrary<S>;

/** A random edit somewhere in the schema: widening and narrowing moves alike. */
function mutate(s: S): fc.Arbitrary<S> {
  const edits: fc.Arbitrary<S>[] = [
    fc.constant(s),
    fc.constant({ ...s, type: Array.isArray(s.type) ? s.type : [s.type, "null"] }),
    fc.constant({ ...s, type: "string" }),
    fc.constant({ ...s, type: "integer" }),
    fc.constant({ ...s, type: "number" }),
  ];
  if (typeof s.maxLength === "number") edits.push(fc.integer({ min: 0, max: 10 }).map((n) => ({ ...s, maxLength: n })));
  if (typeof s.minimum === "number") edits.push(fc.integer({ min: -8, max: 8 }).map((n) => ({ ...s, minimum: n })));
  if (typeof s.maximum === "number") edits.push(fc.integer({ min: 3, max: 25 }).map((n) => ({ ...s, maximum: n })));
  if (Array.isArray(s.enum))
    edits.push(fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e"), { minLength: 1 }).map((e) => ({ ...s, enum: e })));
  if (typeof s.maxItems === "number") edits.push(fc.integer({ min: 0, max: 6 }).map((n) => ({ ...s, maxItems: n })));
  if (s.type === "array") edits.push(mutate(s.items as S).map((items) => ({ ...s, items })));
  if (s.type === "object") {
    const props = s.properties as Record<string, S>;
    const keys = Object.keys(props);
    edits.push(fc.constant({ ...s, additionalProperties: false }));
    edits.push(fc.constant({ ...s, required: [...new Set([...(s.required as string[]), ...keys.slice(0, 1)])] }));
    edits.push(fc.constant({ ...s, required: (s.required as string[]).slice(1) }));
    edits.push(leafSchema.map((p) => ({ ...s, properties: { ...props, e: p } })));
    if (keys.length > 0) {
      edits.push(
        fc.constantFrom(...keys).chain((k) => mutate(props[k] as S).map((p) => ({ ...s, properties: { ...props, [k]: p } }))),
        fc.constantFrom(...keys).map((k) => {
          const { [k]: _gone, ...rest } = props;
          return { ...s, properties: rest };
        }),
      );
    }
  }
  return fc.oneof(...edits);
}

/** Documents valid under a schema (the generator subset above). */
function docOf(s: S): fc.Arbitrary<unknown> {
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  return fc.oneof(
    ...types.map((t): fc.Arbitrary<unknown> => {
      switch (t) {
        case "string":
          return fc.string({ maxLength: typeof s.maxLength === "number" ? s.maxLength : 10 });
        case "null":
          return fc.constant(null);
        case "boolean":
          return fc.boolean();
        case "integer":
        case "number": {
          const min = typeof s.minimum === "number" ? s.minimum : -100;
          const max = typeof s.maximum === "number" ? s.maximum : 100;
          return t === "integer" ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
        }
        case "array":
          return fc.array(docOf(s.items as S), { maxLength: typeof s.maxItems === "number" ? s.maxItems : 3 });
        default: {
          const props = s.properties as Record<string, S>;
          const required = new Set(s.required as string[]);
          const entries = Object.entries(props).map(([k, p]) => [k, docOf(p)] as const);
          return fc.record(Object.fromEntries(entries), { requiredKeys: [...required] });
        }
      }
    }),
  );
}

describe("breakingChanges: property tests", () => {
  it("documents of the old schema validate under every new schema it accepts", () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        schemaArb.chain((before) => mutate(before).chain((after) => mutate(after).map((after2) => ({ before, after: after2 })))),
        fc.context(),
        ({ before, after }, ctx) => {
          if (breakingChanges(before, after).length > 0) return;
          accepted++;
          const validator = new Validator(after as never, "2020-12", false);
          fc.assert(
            fc.property(docOf(before), (doc) => {
              const result = validator.validate(doc);
              if (!result.valid) ctx.log(JSON.stringify({ before, after, doc }));
              return result.valid;
            }),
            { numRuns: 20 },
          );
        },
      ),
      { numRuns: 400 },
    );
    // The generator must exercise the accepting side, not only the refusals.
    expect(accepted).toBeGreaterThan(50);
  });

  it("widening moves are always accepted", () => {
    fc.assert(
      fc.property(schemaArb, (before) => {
        const props = before.properties as Record<string, S>;
        const after = { ...before, required: [], properties: { ...props, zz: { type: "string" } } };
        if (before.additionalProperties === false) return; // a new property is then still fine, checked below
        expect(breakingChanges(before, after)).toEqual([]);
      }),
    );
    fc.assert(
      fc.property(schemaArb, (before) => {
        expect(breakingChanges(before, { ...before, additionalProperties: true })).toEqual([]);
      }),
    );
  });
});
