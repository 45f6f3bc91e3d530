/** Unit tests for the "did you mean" matcher used on unknown envelope members. */
import { describe, expect, it } from "vitest";
import { closestName, editDistance } from "../../src/domain/suggest";

const ENVELOPE = ["id", "type", "timestamp", "source", "data", "metadata", "routingKey", "partitionKey", "cacheInvalidation"];

describe("closestName", () => {
  it("matches names that differ only in case and separators", () => {
    expect(closestName("routing_key", ENVELOPE)).toBe("routingKey");
    expect(closestName("partitionkey", ENVELOPE)).toBe("partitionKey");
    expect(closestName("PARTITION-KEY", ENVELOPE)).toBe("partitionKey");
    expect(closestName("cache.invalidation", ENVELOPE)).toBe("cacheInvalidation");
  });

  it("matches small typos", () => {
    expect(closestName("routinKey", ENVELOPE)).toBe("routingKey");
    expect(closestName("partitonKey", ENVELOPE)).toBe("partitionKey");
    expect(closestName("tpye", ENVELOPE)).toBe("type");
    expect(closestName("dat", ENVELOPE)).toBe("data");
  });

  it("suggests nothing for a different word", () => {
    expect(closestName("colour", ENVELOPE)).toBeUndefined();
    expect(closestName("idempotencyKey", ENVELOPE)).toBeUndefined();
    expect(closestName("x", ENVELOPE)).toBeUndefined();
  });
});

describe("editDistance", () => {
  it("counts insertions, deletions, substitutions and adjacent swaps", () => {
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("abc", "abc")).toBe(0);
    expect(editDistance("abc", "abd")).toBe(1);
    expect(editDistance("abc", "acb")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
});
