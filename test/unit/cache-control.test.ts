/** Unit tests for reading max-age from a Cache-Control header. */
import { describe, expect, it } from "vitest";
import { parseMaxAge } from "../../src/domain/cache-control";

const MAX = 86_400;

describe("parseMaxAge", () => {
  it("reads max-age among other directives", () => {
    expect(parseMaxAge("max-age=3600", MAX)).toEqual({ ok: true, seconds: 3600 });
    expect(parseMaxAge("public, MAX-AGE = 2 ,must-revalidate", MAX)).toEqual({ ok: true, seconds: 2 });
    expect(parseMaxAge('max-age="60"', MAX)).toEqual({ ok: true, seconds: 60 });
  });

  it("leaves the time to live to the default without a max-age", () => {
    expect(parseMaxAge(undefined, MAX)).toEqual({ ok: true });
    expect(parseMaxAge("no-cache", MAX)).toEqual({ ok: true });
  });

  it("refuses malformed and out-of-range values", () => {
    for (const bad of ["max-age=", "max-age=abc", "max-age=-1", "max-age=1.5", "max-age=0", `max-age=${MAX + 1}`]) {
      expect(parseMaxAge(bad, MAX).ok, bad).toBe(false);
    }
  });
});
