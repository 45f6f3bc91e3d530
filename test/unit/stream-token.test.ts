import { describe, expect, it } from "vitest";
import { newStreamToken, streamTokenKey, verifyStreamToken } from "../../src/domain/keys.js";

describe("stream tokens", () => {
  it("name their tenant only for the partition, the key and the time they were made for", async () => {
    const key = await streamTokenKey("server-secret");
    const token = await newStreamToken(key, "ten_abc", "orders-1", 1_000_060_000);
    expect(token).toMatch(/^ebt_ten_abc_1000060000_[0-9a-f]{32}_[0-9a-f]{64}$/);
    expect(await verifyStreamToken(key, token, "orders-1", 1_000_000_000)).toBe("ten_abc");
    expect(await verifyStreamToken(key, token, "orders-2", 1_000_000_000)).toBeUndefined();
    expect(await verifyStreamToken(key, token, "orders-1", 1_000_060_000)).toBeUndefined(); // expired
    expect(await verifyStreamToken(await streamTokenKey("other-secret"), token, "orders-1", 1_000_000_000)).toBeUndefined();
    // Another tenant, or a later expiry, written into the token breaks its MAC.
    expect(await verifyStreamToken(key, token.replace("ebt_ten_abc_", "ebt_ten_xyz_"), "orders-1", 1_000_000_000)).toBeUndefined();
    expect(await verifyStreamToken(key, token.replace("_1000060000_", "_1999999999_"), "orders-1", 1_000_000_000)).toBeUndefined();
    expect(await verifyStreamToken(key, "ebt_nonsense", "orders-1", 1_000_000_000)).toBeUndefined();
  });
});
