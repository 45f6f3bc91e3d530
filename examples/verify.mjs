/**
 * Verifies one signed request from edgebus (a webhook delivery or a task dispatch) with nothing but
 * node:crypto. Both signature schemes are checked, and both must hold:
 *
 *   X-Signature: sha256=<hex HMAC-SHA256(key, raw body)>
 *   webhook-id / webhook-timestamp / webhook-signature: v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>
 *                                                       (Standard Webhooks)
 *
 * The key is the secret's UTF-8 bytes, or for a secret of the form `whsec_<base64>` (the form of
 * generated secrets) the decoded bytes. While a rotated secret's grace period runs, each header
 * carries several signatures separated by spaces; one match is enough.
 *
 * Returns { ok: true } or { ok: false, reason } where reason names the header and what is wrong.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** How far webhook-timestamp may be from this machine's clock (Standard Webhooks uses 5 minutes). */
export const TOLERANCE_SECONDS = 5 * 60;

export function keyOf(secret) {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice("whsec_".length), "base64") : Buffer.from(secret, "utf8");
}

function sameText(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** headers: Node's lower-cased request headers; body: the raw body as a string (never re-serialized JSON). */
export function verify(headers, body, secret, nowSeconds = Math.floor(Date.now() / 1000)) {
  const key = keyOf(secret);

  const xSignature = headers["x-signature"];
  if (!xSignature) return { ok: false, reason: "X-Signature header missing" };
  const hex = `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
  if (!xSignature.split(" ").some((s) => sameText(s, hex))) {
    return { ok: false, reason: "X-Signature does not match the body (wrong secret, or the body was changed)" };
  }

  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signature = headers["webhook-signature"];
  if (!id || !timestamp || !signature) {
    return { ok: false, reason: "webhook-id, webhook-timestamp or webhook-signature header missing" };
  }
  const ts = Number(timestamp);
  if (!Number.isInteger(ts)) return { ok: false, reason: `webhook-timestamp is not a number: ${timestamp}` };
  if (nowSeconds - ts > TOLERANCE_SECONDS) return { ok: false, reason: `webhook-timestamp too old (${nowSeconds - ts} s ago)` };
  if (ts - nowSeconds > TOLERANCE_SECONDS) return { ok: false, reason: `webhook-timestamp in the future (${ts - nowSeconds} s ahead)` };
  const expected = `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
  if (!signature.split(" ").some((s) => sameText(s, expected))) {
    return { ok: false, reason: "webhook-signature does not match (wrong secret, or id, timestamp or body changed)" };
  }
  return { ok: true };
}

/** Reads a request's raw body as text. */
export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The secret from an environment variable, or exit with a message saying how to set it. */
export function secretFromEnv(name, example) {
  const secret = process.env[name];
  if (!secret) {
    console.error(`Set ${name} to the secret edgebus signs with, e.g. ${name}=${example} node ${process.argv[1]}`);
    process.exit(2);
  }
  return secret;
}
