/**
 * The schema registry from the API's side: parameters checked (event type, version, schema shape),
 * the Tenant object's answers turned into errors and views. Every change drops this isolate's
 * cached registry at once (other isolates see it within SCHEMA_CACHE_MS).
 */
import { isValidEventType } from "../domain/patterns.js";
import { parseVersion, schemaFaults, type Version } from "../domain/schema-compat.js";
import { AppError } from "../errors.js";
import { tenantStub } from "../objects/tenant/client.js";
import type { SchemaVersionRecord } from "../objects/tenant/schema-registry.js";
import type { SchemaVersionView } from "../schemas/registry.js";
import { forgetSchemas } from "./schema-cache.js";

/** A serialized schema is limited to 64 KiB. */
const SCHEMA_BYTES = 65_536;

export function checkType(type: string): string {
  if (!isValidEventType(type)) {
    throw new AppError("VALIDATION_FAILED", "type: not a valid event type (dotted lower-case words).", [
      { path: "type", message: "not a valid event type" },
    ]);
  }
  return type;
}

export function checkVersion(version: string): Version {
  const parsed = parseVersion(version);
  if (!parsed) {
    throw new AppError("VALIDATION_FAILED", "version: MAJOR.MINOR or MAJOR.MINOR.PATCH (numbers without leading zeros).", [
      { path: "version", message: "MAJOR.MINOR or MAJOR.MINOR.PATCH" },
    ]);
  }
  return parsed;
}

export function toSchemaView(r: SchemaVersionRecord): SchemaVersionView {
  return {
    type: r.type,
    version: r.version,
    schema: JSON.parse(r.schema) as SchemaVersionView["schema"],
    ...(r.description !== null ? { description: r.description } : {}),
    deprecated: r.deprecatedAt !== null,
    ...(r.deprecatedAt !== null ? { deprecatedAt: r.deprecatedAt } : {}),
    createdAt: r.createdAt,
  };
}

export async function putSchemaVersion(
  env: Env,
  tenantId: string,
  type: string,
  version: string,
  input: { schema: unknown; description?: string | undefined },
): Promise<{ created: boolean; view: SchemaVersionView }> {
  checkType(type);
  const v = checkVersion(version);
  const faults = schemaFaults(input.schema);
  const first = faults[0];
  if (first) throw new AppError("VALIDATION_FAILED", `Not a JSON Schema: ${first.path}: ${first.message}`, faults);
  const text = JSON.stringify(input.schema);
  if (new TextEncoder().encode(text).byteLength > SCHEMA_BYTES) {
    throw new AppError("PAYLOAD_TOO_LARGE", `A schema is limited to ${SCHEMA_BYTES} bytes serialized.`);
  }
  const result = await tenantStub(env, tenantId).putSchemaVersion(type, v, text, input.description ?? null);
  if (!result.ok) throw new AppError(result.code, result.detail, result.errors);
  if (result.created) forgetSchemas(tenantId);
  return { created: result.created, view: toSchemaView(result.value) };
}

export async function schemaCatalog(env: Env, tenantId: string) {
  const all = await tenantStub(env, tenantId).listSchemaVersions();
  const byType = new Map<string, string[]>();
  for (const r of all) byType.set(r.type, [...(byType.get(r.type) ?? []), r.version]);
  return { types: [...byType].map(([type, versions]) => ({ type, latest: versions.at(-1) as string, versions })) };
}

export async function schemaType(env: Env, tenantId: string, type: string) {
  checkType(type);
  const versions = await tenantStub(env, tenantId).schemaVersionsOf(type);
  const last = versions.at(-1);
  if (!last) throw new AppError("NOT_FOUND", `No schema versions for ${type}.`);
  return { type, latest: last.version, versions: versions.map(toSchemaView) };
}

export async function schemaVersion(env: Env, tenantId: string, type: string, version: string): Promise<SchemaVersionView> {
  checkType(type);
  const record = await tenantStub(env, tenantId).getSchemaVersion(type, checkVersion(version));
  if (!record) throw new AppError("NOT_FOUND", `No version ${version} of ${type}.`);
  return toSchemaView(record);
}

export async function deprecateSchemaVersion(env: Env, tenantId: string, type: string, version: string, deprecated: boolean) {
  checkType(type);
  const record = await tenantStub(env, tenantId).setSchemaDeprecated(type, checkVersion(version), deprecated);
  if (!record) throw new AppError("NOT_FOUND", `No version ${version} of ${type}.`);
  forgetSchemas(tenantId);
  return toSchemaView(record);
}
