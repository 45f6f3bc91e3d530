/** Remembered Durable Object ids: the same object as idFromName, for every name, past the cap. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_NAMES, objectId } from "../../src/objects/kit/object-id.js";

describe("objectId", () => {
  it("is idFromName's id, derived once per name and namespace", () => {
    const first = objectId(env.PARTITION, "t/a");
    expect(first.equals(env.PARTITION.idFromName("t/a"))).toBe(true);
    expect(objectId(env.PARTITION, "t/a")).toBe(first);
    expect(objectId(env.PARTITION, "t/b").equals(first)).toBe(false);
    // Another namespace with the same name is another object.
    expect(objectId(env.TENANT, "t/a").equals(env.TENANT.idFromName("t/a"))).toBe(true);
    expect(String(objectId(env.TENANT, "t/a"))).not.toBe(String(first));
  });

  it("starts over at the cap and still answers every name correctly", () => {
    for (let i = 0; i <= MAX_NAMES + 5; i++) objectId(env.DIRECTORY, `n${i}`);
    for (const i of [0, MAX_NAMES - 1, MAX_NAMES + 5]) {
      expect(objectId(env.DIRECTORY, `n${i}`).equals(env.DIRECTORY.idFromName(`n${i}`))).toBe(true);
    }
  });
});
