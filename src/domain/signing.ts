/**
 * Webhook wire-format signing (docs/architecture.md, "Webhook wire format"): the `X-Signature` (hex HMAC-SHA256 of the raw
 * body) and Standard Webhooks `webhook-signature` headers, the full set of delivery headers, and
 * the validation rule for client-supplied signing secrets.
 *
 * Key material: a secret's UTF-8 bytes, except that a `whsec_<base64>` secret uses the
 * base64-decoded bytes (as the Standard Webhooks libraries do).
 */
import { toHex } from "./ids.js";

const SECRET_PREFIX = "whsec_";
const MIN_SECRET_CHARS = 16;
const MAX_SECRET_CHARS = 256;
const MIN_SECRET_BYTES = 16;
const KEY_CACHE_LIMIT = 256;

const encoder = new TextEncoder();

export interface SignatureHeaders {
  "X-Signature": string;
  "webhook-signature": string;
}

export interface DeliveryHeaderOptions {
  secrets: readonly string[];
  eventId: string;
  eventType: string;
  sequence: number;
  partitionKey: string;
  attempt: number;
  /** The previous sequence of this partition routed to the receiving subscription (deliveries only). */
  previousSequence?: number;
  nowSeconds: number;
  rawBody: string;
  /** The body's media type (default application/json). */
  contentType?: string;
  /** More headers of this request: CloudEvents `ce-*` attributes, trace context. */
  extraHeaders?: Record<string, string>;
}

function bytesToBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/** Strict standard base64 (padding optional); undefined when not valid base64. */
function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  try {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/**
 * The HMAC key bytes of a secret. A `whsec_` secret whose remainder is not valid base64 falls
 * back to the UTF-8 bytes of the whole string (such secrets are refused by isValidClientSecret).
 */
function secretKeyBytes(secret: string): Uint8Array {
  if (secret.startsWith(SECRET_PREFIX)) {
    const decoded = decodeBase64(secret.slice(SECRET_PREFIX.length));
    if (decoded && decoded.length > 0) return decoded;
  }
  return encoder.encode(secret);
}

// Insertion-ordered Map used as a small LRU: a hit is moved to the end, the oldest is evicted.
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  const cached = keyCache.get(secret);
  if (cached) {
    keyCache.delete(secret);
    keyCache.set(secret, cached);
    return cached;
  }
  const imported = crypto.subtle.importKey("raw", secretKeyBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  // A failed import (e.g. an empty secret) must not stay cached.
  imported.catch(() => {
    if (keyCache.get(secret) === imported) keyCache.delete(secret);
  });
  keyCache.set(secret, imported);
  while (keyCache.size > KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next();
    if (oldest.done) break;
    keyCache.delete(oldest.value);
  }
  return imported;
}

async function hmac(secret: string, message: string): Promise<Uint8Array> {
  const key = await hmacKey(secret);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

/** A new signing secret: `whsec_` + standard base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + bytesToBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * Both signature headers for a delivery. `secrets` are newest first (two during a rotation grace
 * period); each header carries one signature per secret, space-separated, in the given order.
 */
export async function signatureHeaders(
  secrets: readonly string[],
  msgId: string,
  timestampSeconds: number,
  rawBody: string,
): Promise<SignatureHeaders> {
  if (secrets.length === 0) throw new Error("at least one signing secret is required");
  const signed = `${msgId}.${timestampSeconds}.${rawBody}`;
  const parts = await Promise.all(
    secrets.map(async (secret) => {
      const [bodyMac, stdMac] = await Promise.all([hmac(secret, rawBody), hmac(secret, signed)]);
      return { x: `sha256=${toHex(bodyMac)}`, std: `v1,${bytesToBase64(stdMac)}` };
    }),
  );
  return {
    "X-Signature": parts.map((p) => p.x).join(" "),
    "webhook-signature": parts.map((p) => p.std).join(" "),
  };
}

/** The complete header set of one webhook delivery attempt. */
export async function buildDeliveryHeaders(opts: DeliveryHeaderOptions): Promise<Record<string, string>> {
  const timestamp = Math.floor(opts.nowSeconds);
  const sig = await signatureHeaders(opts.secrets, opts.eventId, timestamp, opts.rawBody);
  return {
    "Content-Type": opts.contentType ?? "application/json",
    "X-Event-Type": opts.eventType,
    "X-Event-ID": opts.eventId,
    "X-Signature": sig["X-Signature"],
    "webhook-id": opts.eventId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": sig["webhook-signature"],
    "X-Event-Sequence": String(opts.sequence),
    "X-Partition-Key": opts.partitionKey,
    "X-Delivery-Attempt": String(opts.attempt),
    ...(opts.previousSequence !== undefined ? { "X-Previous-Sequence": String(opts.previousSequence) } : {}),
    ...opts.extraHeaders,
  };
}

/**
 * Client-supplied secrets: 16–256 characters; a `whsec_` secret must be valid base64 that
 * decodes to at least 16 bytes.
 */
export function isValidClientSecret(s: string): boolean {
  if (typeof s !== "string") return false;
  if (s.length < MIN_SECRET_CHARS || s.length > MAX_SECRET_CHARS) return false;
  if (s.startsWith(SECRET_PREFIX)) {
    const decoded = decodeBase64(s.slice(SECRET_PREFIX.length));
    return decoded !== undefined && decoded.length >= MIN_SECRET_BYTES;
  }
  return true;
}
