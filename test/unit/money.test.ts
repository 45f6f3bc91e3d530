/** Unit tests for integer-cent money: parsing prices, exact totals, formatting back to decimals. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromCents, MAX_PRICE_CENTS, toCents, totalCents } from "../../src/domain/money";

describe("toCents", () => {
  it("converts two-decimal amounts exactly", () => {
    expect(toCents(29.99)).toBe(2999);
    expect(toCents(0.1)).toBe(10);
    expect(toCents(0)).toBe(0);
    expect(toCents(1_000_000)).toBe(MAX_PRICE_CENTS);
    expect(toCents(1.005)).toBeNull();
  });

  it("refuses fractions of a cent, negatives, non-finite and too-large amounts", () => {
    for (const bad of [0.001, 29.999, -1, Number.NaN, Number.POSITIVE_INFINITY, 1_000_000.01]) expect(toCents(bad)).toBeNull();
  });

  it("round-trips every cent amount", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_PRICE_CENTS }), (cents) => toCents(fromCents(cents)) === cents));
  });
});

describe("totals", () => {
  it("are exact: 2 × 29.99 = 59.98 and 3 × 0.1 = 0.3", () => {
    expect(fromCents(totalCents([{ quantity: 2, unitCents: 2999 }]))).toBe(59.98);
    expect(fromCents(totalCents([{ quantity: 3, unitCents: 10 }]))).toBe(0.3);
    expect(String(fromCents(totalCents([{ quantity: 3, unitCents: 10 }])))).toBe("0.3");
    expect(
      fromCents(
        totalCents([
          { quantity: 1, unitCents: 10 },
          { quantity: 1, unitCents: 20 },
        ]),
      ),
    ).toBe(0.3);
  });

  it("print as the shortest two-decimal form", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 12 }), (cents) => {
        const printed = String(fromCents(cents));
        return /^\d+(\.\d{1,2})?$/.test(printed) && Math.round(Number(printed) * 100) === cents;
      }),
    );
  });
});
