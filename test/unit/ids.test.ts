import { describe, expect, it } from "vitest";
import { idBytes, newId } from "../../src/domain/ids.js";

describe("ids", () => {
  it("never hands out the same pooled bytes twice, across pool refills", () => {
    const seen = new Set<string>();
    // 2,000 × 20 bytes is ten refills of the 4 KiB pool.
    for (let i = 0; i < 2_000; i++) {
      const id = newId("evt");
      expect(id).toMatch(/^evt_[0-9a-z]{20}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(2_000);
  });

  it("gives each caller its own copy of the bytes", () => {
    const a = idBytes(16);
    const before = Array.from(a);
    const b = idBytes(16);
    b.fill(0);
    expect(Array.from(a)).toEqual(before);
    expect(a.buffer.byteLength).toBe(16);
  });

  it("refuses sizes it is not made for", () => {
    expect(() => idBytes(0)).toThrow(RangeError);
    expect(() => idBytes(65)).toThrow(RangeError);
    expect(() => idBytes(1.5)).toThrow(RangeError);
  });
});
