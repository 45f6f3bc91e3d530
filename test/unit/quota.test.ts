/** The publish quota's token bucket (domain/quota.ts) and the JSON value checks (domain/json-depth.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deeperThan, firstNonFinite } from "../../src/domain/json-depth";
import { LEASE_FRACTION, retryAfterSeconds, TokenBucket } from "../../src/domain/quota";

describe("TokenBucket", () => {
  it("starts full with one second's worth, then refuses with the time until the need is there", () => {
    const b = new TokenBucket();
    expect(b.take(0, 10, 10, false)).toEqual({ granted: 10, rate: 10 });
    expect(b.take(0, 10, 1)).toEqual({ granted: 0, rate: 10, retryAfterMs: 100 });
    expect(b.take(250, 10, 2, false)).toEqual({ granted: 2, rate: 10 });
    expect(b.take(250, 10, 5)).toMatchObject({ granted: 0, retryAfterMs: 450 });
  });

  it("never holds more than one second's worth", () => {
    const b = new TokenBucket();
    b.take(0, 10, 1, false);
    expect(b.take(60_000, 10, 10, false)).toMatchObject({ granted: 10 });
    expect(b.take(60_000, 10, 1)).toMatchObject({ granted: 0 });
  });

  it("refuses a need larger than one second's worth as never coverable", () => {
    expect(new TokenBucket().take(0, 5, 6)).toMatchObject({ granted: 0, tooLarge: true });
  });

  it("adds a lease chunk of 1/20 s of the rate when asked, never beyond what it holds", () => {
    const b = new TokenBucket();
    expect(b.take(0, 1000, 1)).toEqual({ granted: 1 + 1000 * LEASE_FRACTION, rate: 1000 });
    const small = new TokenBucket();
    expect(small.take(0, 3, 3)).toEqual({ granted: 3, rate: 3 });
  });

  it("applies a changed rate at once", () => {
    const b = new TokenBucket();
    b.take(0, 1000, 1000, false);
    // 100 ms refilled at the old rate (100 tokens), capped at the new one second's worth (5).
    expect(b.take(100, 5, 5, false)).toMatchObject({ granted: 5 });
    expect(b.take(100, 5, 1)).toMatchObject({ granted: 0, retryAfterMs: 200 });
  });

  it("over any run of calls, grants at most one second's worth plus the refill of the elapsed time", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 300 }), need: fc.integer({ min: 1, max: 50 }), lease: fc.boolean() }), {
          maxLength: 200,
        }),
        (rate, calls) => {
          const b = new TokenBucket();
          let now = 0;
          let granted = 0;
          for (const c of calls) {
            now += c.dt;
            const g = b.take(now, rate, c.need, c.lease);
            if (g.granted > 0) expect(g.granted).toBeGreaterThanOrEqual(c.need);
            granted += g.granted;
            expect(granted).toBeLessThanOrEqual(rate + (now / 1000) * rate + 1e-6);
          }
        },
      ),
      { seed: 15, numRuns: 300 },
    );
  });

  it("a retuned bucket fills at the new rate from the change on", () => {
    const b = new TokenBucket();
    b.take(0, 2, 2, false);
    b.retune(400, 1000);
    expect(b.take(450, 1000, 40, false)).toMatchObject({ granted: 40 });
  });

  it("Retry-After is whole seconds, at least 1", () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
  });
});

describe("deeperThan", () => {
  const nest = (n: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
    return v;
  };

  it("measures objects and arrays, not scalars", () => {
    expect(deeperThan(1, 0)).toBe(false);
    expect(deeperThan({}, 0)).toBe(true);
    expect(deeperThan(nest(64), 64)).toBe(false);
    expect(deeperThan(nest(65), 64)).toBe(true);
    expect(deeperThan({ a: 1, b: [1, 2, { c: [] }] }, 4)).toBe(false);
    expect(deeperThan({ a: 1, b: [1, 2, { c: [] }] }, 3)).toBe(true);
  });

  it("handles 100,000 levels without recursion", () => {
    expect(deeperThan(JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`), 64)).toBe(true);
  });
});

describe("firstNonFinite", () => {
  it("finds a number beyond a double's range, as JSON.parse reads it, and names its path", () => {
    expect(firstNonFinite(JSON.parse('{"a":1,"b":[2,{"c":-1e400}]}'))).toBe("b.1.c");
    expect(firstNonFinite(JSON.parse("1e400"))).toBe("");
    expect(firstNonFinite(JSON.parse("[0, 1e400]"))).toBe("1");
    expect(firstNonFinite(Number.NaN)).toBe("");
  });

  it("accepts every finite value, large and small", () => {
    expect(firstNonFinite(JSON.parse('{"a":1.7976931348623157e308,"b":[5e-324,-0,null,"1e400"],"c":{"d":true}}'))).toBeUndefined();
    expect(firstNonFinite(null)).toBeUndefined();
    expect(firstNonFinite("x")).toBeUndefined();
  });
});
