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

const STREAM_TOKEN = /^ebt_([a-z0-9_]{1,64})_([0-9a-f]{48})$/;

/** A single-use token that opens one live tail (`ebt_<tenantId>_<48 hex chars>`). */
export function newStreamToken(tenantId: string): string {
  return `ebt_${tenantId}_${toHex(crypto.getRandomValues(new Uint8Array(24)))}`;
}

/** The tenant a stream token claims; only the partition that issued it can redeem it. */
export function tenantOfStreamToken(token: string): string | undefined {
  return STREAM_TOKEN.exec(token)?.[1];
}
