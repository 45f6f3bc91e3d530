/**
 * The isolate's view of a tenant's schema registry, read from the Tenant object at most every
 * SCHEMA_CACHE_MS (2 s, like subscriptions), and the compiled validators. Versions are immutable,
 * so a compiled validator is kept for as long as the isolate lives (bounded); only deprecation
 * changes, and that is read with the registry. Validation interprets the schema
 * (@cfworker/json-schema): Workers forbid generating code, so no validator compiles to JavaScript.
 */
import { type OutputUnit, Validator } from "@cfworker/json-schema";
import { SUBSCRIPTION_CACHE_MS } from "../config.js";
import { canonicalVersion, parseVersion } from "../domain/schema-compat.js";
import { AppError, type FieldError } from "../errors.js";
import { tenantStub } from "../objects/tenant/client.js";
import type { EventEnvelope } from "../schemas/event.js";

export const SCHEMA_CACHE_MS = SUBSCRIPTION_CACHE_MS;
const MAX_VALIDATORS = 1_000;
const MAX_ERRORS = 20;

interface VersionEntry {
  schema: string;
  deprecatedAt: string | null;
}

interface Entry {
  until: number;
  /** type → canonical version → the version's schema text and deprecation. */
  types: Map<string, Map<string, VersionEntry>>;
}

const entries = new Map<string, Entry>();
const validators = new Map<string, Validator>();

async function tenantSchemas(env: Env, tenantId: string): Promise<Entry> {
  const cached = entries.get(tenantId);
  if (cached && cached.until > Date.now()) return cached;
  const rows = await tenantStub(env, tenantId).listSchemaVersions();
  const types = new Map<string, Map<string, VersionEntry>>();
  for (const r of rows) {
    const versions = types.get(r.type) ?? new Map<string, VersionEntry>();
    versions.set(r.version, { schema: r.schema, deprecatedAt: r.deprecatedAt });
    types.set(r.type, versions);
  }
  const entry = { until: Date.now() + SCHEMA_CACHE_MS, types };
  entries.set(tenantId, entry);
  return entry;
}

export function forgetSchemas(tenantId: string): void {
  entries.delete(tenantId);
}

function validatorFor(tenantId: string, type: string, version: string, schema: string): Validator {
  const key = `${tenantId}\u0000${type}\u0000${version}`;
  let validator = validators.get(key);
  if (validator === undefined) {
    if (validators.size >= MAX_VALIDATORS) validators.delete(validators.keys().next().value as string);
    validator = new Validator(JSON.parse(schema), "2020-12", true);
    validators.set(key, validator);
  }
  return validator;
}

/** `#/lines/0/sku` → `data.lines.0.sku`. */
function dataPath(instanceLocation: string): string {
  const parts = instanceLocation
    .replace(/^#\/?/, "")
    .split("/")
    .filter((p) => p !== "")
    .map((p) => decodeURIComponent(p).replaceAll("~1", "/").replaceAll("~0", "~"));
  return ["data", ...parts].join(".");
}

function fieldErrors(errors: OutputUnit[]): FieldError[] {
  return errors.slice(0, MAX_ERRORS).map((e) => ({ path: dataPath(e.instanceLocation), message: e.error }));
}

/**
 * Checks an envelope's `data` against the version its `metadata.version` names, when its type has
 * versions (types without versions are accepted). Returns the deprecation time when that version
 * is deprecated; throws UNKNOWN_SCHEMA_VERSION or SCHEMA_VALIDATION_FAILED.
 */
export async function checkEventSchema(env: Env, tenantId: string, envelope: EventEnvelope): Promise<{ deprecatedAt?: string }> {
  const versions = (await tenantSchemas(env, tenantId)).types.get(envelope.type);
  if (versions === undefined) return {};
  const named = envelope.metadata.version;
  const parsed = parseVersion(named);
  const version = parsed ? canonicalVersion(parsed) : undefined;
  const found = version !== undefined ? versions.get(version) : undefined;
  if (version === undefined || found === undefined) {
    throw new AppError(
      "UNKNOWN_SCHEMA_VERSION",
      `${envelope.type} has no schema version ${named} (metadata.version; known: ${[...versions.keys()].join(", ")}).`,
      [{ path: "metadata.version", message: "not a registered version of this type" }],
    );
  }
  let result: ReturnType<Validator["validate"]>;
  try {
    result = validatorFor(tenantId, envelope.type, version, found.schema).validate(envelope.data);
  } catch (err) {
    // A schema the validator cannot apply (a reference that resolves to nothing): the event is refused, not a 500.
    const message = err instanceof Error ? err.message : String(err);
    throw new AppError("SCHEMA_VALIDATION_FAILED", `${envelope.type} ${version} could not be applied: ${message}`, [
      { path: "data", message },
    ]);
  }
  if (!result.valid) {
    throw new AppError("SCHEMA_VALIDATION_FAILED", `data does not match ${envelope.type} ${version}.`, fieldErrors(result.errors));
  }
  return found.deprecatedAt !== null ? { deprecatedAt: found.deprecatedAt } : {};
}

/** RFC 9745's Deprecation header value: `@` and the Unix time in seconds. */
export function deprecationHeader(deprecatedAt: string): string {
  return `@${Math.floor(Date.parse(deprecatedAt) / 1000)}`;
}
