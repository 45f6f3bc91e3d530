/** Unit tests for webhook signing: verified against the Standard Webhooks reference library. */

import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { buildDeliveryHeaders, generateSecret, isValidClientSecret, signatureHeaders } from "../../src/domain/signing";

const enc = new TextEncoder();

async function hexHmac(keyBytes: Uint8Array, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(message)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64Decode(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const rawBody = JSON.stringify({ id: "evt_1", type: "order.created", data: { total: 42, note: "héllo ✓" } });

function deliveryOpts(secrets: readonly string[]) {
  return {
    secrets,
    eventId: "evt_abc123",
    eventType: "order.created",
    sequence: 7,
    partitionKey: "customer-9",
    attempt: 2,
    nowSeconds: nowSeconds(),
    rawBody,
  };
}

function stdHeaders(h: Record<string, string>) {
  return {
    "webhook-id": h["webhook-id"] ?? "",
    "webhook-timestamp": h["webhook-timestamp"] ?? "",
    "webhook-signature": h["webhook-signature"] ?? "",
  };
}

describe("generateSecret", () => {
  it("returns whsec_ + base64 of 32 random bytes", () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(base64Decode(a.slice("whsec_".length))).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(isValidClientSecret(a)).toBe(true);
  });
});

describe("buildDeliveryHeaders", () => {
  it("returns exactly the documented delivery headers", async () => {
    const opts = deliveryOpts([generateSecret()]);
    const h = await buildDeliveryHeaders(opts);
    expect(Object.keys(h).sort()).toEqual(
      [
        "Content-Type",
        "X-Event-Type",
        "X-Event-ID",
        "X-Signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "X-Event-Sequence",
        "X-Partition-Key",
        "X-Delivery-Attempt",
      ].sort(),
    );
    expect(h["Content-Type"]).toBe("application/json");
    expect(h["X-Event-Type"]).toBe("order.created");
    expect(h["X-Event-ID"]).toBe("evt_abc123");
    expect(h["webhook-id"]).toBe("evt_abc123");
    expect(h["webhook-timestamp"]).toBe(String(opts.nowSeconds));
    expect(h["X-Event-Sequence"]).toBe("7");
    expect(h["X-Partition-Key"]).toBe("customer-9");
    expect(h["X-Delivery-Attempt"]).toBe("2");
    expect(h["X-Signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(h["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it("verifies with standardwebhooks for a generated whsec_ secret, and X-Signature matches", async () => {
    const secret = generateSecret();
    const h = await buildDeliveryHeaders(deliveryOpts([secret]));
    expect(new Webhook(secret).verify(rawBody, stdHeaders(h))).toEqual(JSON.parse(rawBody));
    const expected = await hexHmac(base64Decode(secret.slice(6)), rawBody);
    expect(h["X-Signature"]).toBe(`sha256=${expected}`);
  });

  it("verifies with standardwebhooks (raw format) for a plain secret, and X-Signature matches", async () => {
    const secret = "webhook-secret-123";
    const h = await buildDeliveryHeaders(deliveryOpts([secret]));
    expect(new Webhook(secret, { format: "raw" }).verify(rawBody, stdHeaders(h))).toEqual(JSON.parse(rawBody));
    const expected = await hexHmac(enc.encode(secret), rawBody);
    expect(h["X-Signature"]).toBe(`sha256=${expected}`);
  });

  it("fails verification with the wrong secret or a tampered body", async () => {
    const secret = generateSecret();
    const h = await buildDeliveryHeaders(deliveryOpts([secret]));
    expect(() => new Webhook(generateSecret()).verify(rawBody, stdHeaders(h))).toThrow();
    expect(() => new Webhook(secret).verify(`${rawBody} `, stdHeaders(h))).toThrow();
  });

  it("signs with both secrets during rotation, newest first", async () => {
    const newSecret = generateSecret();
    const oldSecret = "webhook-secret-123";
    const h = await buildDeliveryHeaders(deliveryOpts([newSecret, oldSecret]));
    const std = stdHeaders(h);
    expect(std["webhook-signature"].split(" ")).toHaveLength(2);
    expect(std["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
    expect(() => new Webhook(newSecret).verify(rawBody, std)).not.toThrow();
    expect(() => new Webhook(oldSecret, { format: "raw" }).verify(rawBody, std)).not.toThrow();
    expect(() => new Webhook(generateSecret()).verify(rawBody, std)).toThrow();

    const newHex = await hexHmac(base64Decode(newSecret.slice(6)), rawBody);
    const oldHex = await hexHmac(enc.encode(oldSecret), rawBody);
    expect(h["X-Signature"]).toBe(`sha256=${newHex} sha256=${oldHex}`);
  });
});

describe("signatureHeaders", () => {
  it("is deterministic and signs '<msgId>.<timestamp>.<body>'", async () => {
    const secret = "webhook-secret-123";
    const ts = 1_700_000_000;
    const a = await signatureHeaders([secret], "msg_1", ts, rawBody);
    const b = await signatureHeaders([secret], "msg_1", ts, rawBody);
    expect(a).toEqual(b);
    const ref = new Webhook(secret, { format: "raw" }).sign("msg_1", new Date(ts * 1000), rawBody);
    expect(a["webhook-signature"]).toBe(ref);
    const other = await signatureHeaders([secret], "msg_2", ts, rawBody);
    expect(other["webhook-signature"]).not.toBe(a["webhook-signature"]);
    expect(other["X-Signature"]).toBe(a["X-Signature"]);
  });

  it("keeps signing correctly beyond the key cache size", async () => {
    const secrets = Array.from({ length: 300 }, (_, i) => `secret-number-${String(i).padStart(4, "0")}`);
    for (const s of secrets) await signatureHeaders([s], "m", 1, "{}");
    const first = secrets[0] ?? "";
    const h = await signatureHeaders([first], "m", 1, "{}");
    expect(h["X-Signature"]).toBe(`sha256=${await hexHmac(enc.encode(first), "{}")}`);
  });

  it("requires at least one secret", async () => {
    await expect(signatureHeaders([], "m", 1, "{}")).rejects.toThrow();
  });
});

describe("isValidClientSecret", () => {
  const cases: Array<[string, boolean]> = [
    ["webhook-secret-123", true],
    ["a".repeat(16), true],
    ["a".repeat(15), false],
    ["a".repeat(256), true],
    ["a".repeat(257), false],
    ["", false],
    [`whsec_${btoa("x".repeat(16))}`, true],
    [`whsec_${btoa("x".repeat(15))}`, false],
    [`whsec_${btoa("x".repeat(32))}`, true],
    ["whsec_not*valid*base64!!", false],
    ["whsec_AAAAAAAAAAA", false],
  ];
  for (const [secret, valid] of cases) {
    it(`${JSON.stringify(secret.length > 40 ? `${secret.slice(0, 20)}…(${secret.length})` : secret)} → ${valid}`, () => {
      expect(isValidClientSecret(secret)).toBe(valid);
    });
  }
  it("accepts generated secrets", () => {
    expect(isValidClientSecret(generateSecret())).toBe(true);
  });
});
