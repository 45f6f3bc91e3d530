/**
 * API key scopes: what a key may do within its tenant. Every tenant route names the one scope it
 * needs (routes/route.ts) and the auth middleware checks it, so no route can forget. A key stored
 * without scopes (created before scopes existed) holds all of them.
 */
export const SCOPES = [
  "events:publish",
  "events:read",
  "subscriptions:read",
  "subscriptions:write",
  "deliveries:write",
  "tasks:write",
  "tasks:read",
  "cache:read",
  "cache:write",
  "schemas:write",
  "keys:admin",
] as const;

export type Scope = (typeof SCOPES)[number];

const KNOWN: ReadonlySet<string> = new Set(SCOPES);

export function isScope(s: string): s is Scope {
  return KNOWN.has(s);
}

/** Scopes in their canonical order, each once; unknown names are dropped. */
export function normalizeScopes(list: readonly string[]): Scope[] {
  const wanted = new Set(list);
  return SCOPES.filter((s) => wanted.has(s));
}

/** The stored form (`null` for all) read back: a key without a scope list holds all of them. */
export function scopesFromStored(text: string | null): Scope[] {
  if (text === null) return [...SCOPES];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? normalizeScopes(parsed.map(String)) : [...SCOPES];
  } catch {
    return [...SCOPES];
  }
}

/** The scopes of `wanted` that `held` does not include (a key grants only what it holds). */
export function missingScopes(held: readonly Scope[], wanted: readonly Scope[]): Scope[] {
  const have = new Set(held);
  return wanted.filter((s) => !have.has(s));
}
