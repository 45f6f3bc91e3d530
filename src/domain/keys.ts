/**
 * API key format. A key carries its tenant id, so it is verified by that tenant's Durable Object
 * alone (no global index): `ebk_<tenantId>_<64 hex chars>`. Only the SHA-256 of a key is stored.
 */
import { toHex } from "./ids.js";

const KEY = /^ebk_([a-z0-9_]{1,64})_([0-9a-f]{64})$/;

export function newApiKey(tenantId: string): string {
  return `ebk_${tenantId}_${toHex(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** The tenant a key claims to belong to, or undefined when the key is not of our format. */
export function tenantOfKey(key: string): string | undefined {
  return KEY.exec(key)?.[1];
}

/** What may be shown of a key after creation: enough to recognise it, not to use it. */
export function keyHint(key: string): string {
  return `${key.slice(0, key.length - 60)}…${key.slice(-4)}`;
}

/**
 * Stream tokens open one live tail from a browser: `ebt_<tenantId>_<expiresAt ms>_<nonce>_<mac>`,
 * the MAC an HMAC-SHA256 over tenant, partition, expiry and nonce with a server key. The worker
 * checks the MAC before any Durable Object is involved, so a forged token costs nothing; the
 * partition that issued it then redeems it once.
 */
const STREAM_TOKEN = /^ebt_([a-z0-9_]{1,64})_([0-9]{1,16})_([0-9a-f]{32})_([0-9a-f]{64})$/;

/** The HMAC key for stream tokens, derived from a server secret (never the secret itself). */
export async function streamTokenKey(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`edgebus stream tokens\n${secret}`));
  return crypto.subtle.importKey("raw", material, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

async function mac(key: CryptoKey, tenantId: string, partitionKey: string, expiresAt: number, nonce: string): Promise<string> {
  const text = `${tenantId}\n${partitionKey}\n${expiresAt}\n${nonce}`;
  return toHex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
}

export async function newStreamToken(key: CryptoKey, tenantId: string, partitionKey: string, expiresAt: number): Promise<string> {
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));
  return `ebt_${tenantId}_${expiresAt}_${nonce}_${await mac(key, tenantId, partitionKey, expiresAt, nonce)}`;
}

/** The tenant of a token made by this server for this partition and not expired; otherwise undefined. */
export async function verifyStreamToken(key: CryptoKey, token: string, partitionKey: string, now: number): Promise<string | undefined> {
  const m = STREAM_TOKEN.exec(token);
  if (!m) return undefined;
  const [, tenantId, expires, nonce, given] = m as unknown as [string, string, string, string, string];
  const expiresAt = Number(expires);
  if (expiresAt <= now) return undefined;
  const expected = await mac(key, tenantId, partitionKey, expiresAt, nonce);
  // Constant time over the 64 hex characters both have (the pattern fixed the length).
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0 ? tenantId : undefined;
}
