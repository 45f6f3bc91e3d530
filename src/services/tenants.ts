/** Tenants and their API keys (stored as SHA-256 hashes in the tenant's Tenant object). */
import { DEV, settings } from "../config.js";
import { newId, sha256Hex } from "../domain/ids.js";
import { missingScopes, normalizeScopes, SCOPES, type Scope } from "../domain/scopes.js";
import { AppError } from "../errors.js";
import { tenantStub } from "../objects/tenant/client.js";

/** A new tenant and its first key (shown once). */
export async function createTenant(env: Env, name: string): Promise<{ tenantId: string; apiKey: string; keyId: string }> {
  const tenantId = newId("ten");
  const { apiKey, keyId } = await tenantStub(env, tenantId).createTenant(tenantId, name);
  return { tenantId, apiKey, keyId };
}

export async function listKeys(env: Env, tenantId: string) {
  return tenantStub(env, tenantId).listKeys();
}

/**
 * A new key of the tenant; without `scopes` it gets every scope the creating key holds (all, for
 * a full key). A key grants only scopes it holds itself.
 */
export async function createKey(env: Env, tenantId: string, name: string | null, held: readonly Scope[], scopes?: Scope[]) {
  const wanted = scopes ?? [...held];
  const missing = missingScopes(held, wanted);
  if (missing.length > 0) {
    throw new AppError(
      "INSUFFICIENT_SCOPE",
      `This key cannot grant ${missing.map((s) => `'${s}'`).join(", ")}: a key grants only scopes it holds itself.`,
    );
  }
  // Stored without a list (= every scope, also those added later) when nothing was narrowed.
  const everything = scopes === undefined && held.length === SCOPES.length;
  return tenantStub(env, tenantId).createKey(tenantId, name, everything ? null : normalizeScopes(wanted));
}

export async function revokeKey(env: Env, tenantId: string, keyId: string): Promise<void> {
  if (!(await tenantStub(env, tenantId).revokeKey(keyId))) throw new AppError("NOT_FOUND", `No API key ${keyId}.`);
}

/** The key id and scopes of a live key of this tenant, or null (unknown or revoked). */
export async function verifyKey(env: Env, tenantId: string, key: string): Promise<{ keyId: string; scopes: Scope[] } | null> {
  return tenantStub(env, tenantId).verifyKey(await sha256Hex(key));
}

/**
 * The admin sets a tenant's own limits (`publishPerSecond: null` = back to the deployment's
 * default). The development tenant exists without being created, so in development its record
 * is made here.
 */
export async function setTenantLimits(env: Env, tenantId: string, limits: { publishPerSecond?: number | null }) {
  const implicit = tenantId === DEV.tenantId && !settings(env).production ? DEV.tenantId : null;
  const next = await tenantStub(env, tenantId).setLimits(limits.publishPerSecond, implicit);
  if (!next) throw new AppError("NOT_FOUND", `No tenant ${tenantId}.`);
  return { tenantId, limits: { publishPerSecond: next.publishPerSecond, default: !next.custom } };
}
