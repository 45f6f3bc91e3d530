/**
 * Signs forwarded events exactly as edgebus signs its webhooks (docs/webhooks.md, "Wire format"):
 * Standard Webhooks `webhook-id` / `webhook-timestamp` / `webhook-signature` (v1, base64
 * HMAC-SHA256 of "id.timestamp.body") and `X-Signature` (sha256=<hex HMAC of the body>). The key is
 * the secret's UTF-8 bytes, or the base64-decoded bytes of a `whsec_` secret.
 */
import { createHmac, randomBytes } from "node:crypto";

const PREFIX = "whsec_";
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/** A new secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes. */
export function generateSecret() {
  return PREFIX + randomBytes(32).toString("base64");
}

/** Why a secret is refused (the rule edgebus applies to webhook secrets), or null when it is fine. */
export function secretProblem(secret) {
  if (secret.length < 16 || secret.length > 256) return "a signing secret has 16–256 characters";
  if (secret.startsWith(PREFIX)) {
    const rest = secret.slice(PREFIX.length);
    if (!BASE64.test(rest) || Buffer.from(rest, "base64").length < 16) return "a whsec_ secret is whsec_ + base64 of at least 16 bytes";
  }
  return null;
}

function keyBytes(secret) {
  if (secret.startsWith(PREFIX)) {
    const rest = secret.slice(PREFIX.length);
    if (BASE64.test(rest)) {
      const bytes = Buffer.from(rest, "base64");
      if (bytes.length > 0) return bytes;
    }
  }
  return Buffer.from(secret, "utf8");
}

/**
 * The headers of one forwarded delivery, as edgebus's sender builds them.
 * `event` is the envelope that goes into the body (with partitionKey and sequence).
 */
export function deliveryHeaders({ secret, event, rawBody, attempt, previousSequence, replayId, nowSeconds }) {
  const key = keyBytes(secret);
  const timestamp = Math.floor(nowSeconds);
  const std = createHmac("sha256", key).update(`${event.id}.${timestamp}.${rawBody}`).digest("base64");
  const hex = createHmac("sha256", key).update(rawBody).digest("hex");
  return {
    "Content-Type": "application/json",
    "X-Event-Type": event.type,
    "X-Event-ID": event.id,
    "X-Signature": `sha256=${hex}`,
    "webhook-id": event.id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": `v1,${std}`,
    "X-Event-Sequence": String(event.sequence),
    "X-Partition-Key": event.partitionKey,
    "X-Delivery-Attempt": String(attempt),
    ...(previousSequence !== undefined ? { "X-Previous-Sequence": String(previousSequence) } : {}),
    ...(replayId ? { "X-Replay-Id": replayId } : {}),
  };
}

/** W3C trace context for one attempt: the event's trace id with a new parent id (as edgebus sends it). */
export function traceHeaders(trace) {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(trace?.traceparent ?? "");
  if (!m) return {};
  return {
    traceparent: `00-${m[2]}-${randomBytes(8).toString("hex")}-${m[4]}`,
    ...(trace.tracestate ? { tracestate: trace.tracestate } : {}),
  };
}

/**
 * A pulled message as the body a webhook would get: the stored envelope without its cache
 * instructions and trace context, under "event" (previousSequence travels as a header).
 */
export function webhookBody(pulledEvent) {
  const { previousSequence: _p, cacheInvalidation: _c, trace: _t, ...event } = pulledEvent;
  return { event, rawBody: JSON.stringify({ event }) };
}
