/** Identifiers: prefixed, random, URL-safe; and the validation rule for client-supplied ids. */

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** `<prefix>_<20 base36 chars>` (~103 bits of randomness). */
export function newId(prefix: string): string {
  const bytes = idBytes(20);
  let s = "";
  for (const b of bytes) s += ALPHABET[b % 36];
  return `${prefix}_${s}`;
}

// Ids and trace ids take their bytes from a pool the runtime's CSPRNG refills 4 KiB at a time:
// a request makes several ids, and one getRandomValues call per id cost more than the id itself.
// Secrets and keys never come from here: they take fresh bytes of their own.
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

/** `n` (1–64) random bytes for an identifier, a copy no other caller gets. */
export function idBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError(`idBytes takes 1–64 bytes, not ${n}`);
  if (used + n > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  used += n;
  return pool.slice(used - n, used);
}

/** Client-supplied ids (event ids, task ids, partition keys): printable, no slashes or spaces. */
export const CLIENT_ID = /^[A-Za-z0-9._:~@-]{1,256}$/;

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (const b of view) s += HEX[b];
  return s;
}

export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** FNV-1a, for stable sharding of ids (not for security). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
