/** Tenants and their API keys (stored as SHA-256 hashes in the tenant's Tenant object). */
import { newId, sha256Hex } from "../domain/ids.js";
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

export async function createKey(env: Env, tenantId: string, name: string | null) {
  return tenantStub(env, tenantId).createKey(tenantId, name);
}

export async function revokeKey(env: Env, tenantId: string, keyId: string): Promise<void> {
  if (!(await tenantStub(env, tenantId).revokeKey(keyId))) throw new AppError("NOT_FOUND", `No API key ${keyId}.`);
}

/** The key id of a live key of this tenant, or null (unknown or revoked). */
export async function verifyKey(env: Env, tenantId: string, key: string): Promise<string | null> {
  return tenantStub(env, tenantId).verifyKey(await sha256Hex(key));
}
