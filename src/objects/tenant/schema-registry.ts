/**
 * The Tenant object's schema registry: versions of JSON Schemas for each event type's `data`,
 * immutable once written (a version can only be deprecated). Versions are stored in canonical
 * form (`1.0` is `1.0.0`). A new version must be backward compatible with the highest version of
 * the same MAJOR below it, and the next version of that MAJOR above it (when one exists) must be
 * backward compatible with the new one, so each MAJOR stays a compatible chain.
 */
import {
  breakingChanges,
  type CompatError,
  canonicalVersion,
  compareVersions,
  jsonEqual,
  type Version,
} from "../../domain/schema-compat.js";

export const SCHEMA_MIGRATIONS = [
  `CREATE TABLE schema_versions (type TEXT NOT NULL, version TEXT NOT NULL, major INTEGER NOT NULL,
     minor INTEGER NOT NULL, patch INTEGER NOT NULL, schema TEXT NOT NULL, description TEXT,
     deprecated_at TEXT, created_at TEXT NOT NULL, PRIMARY KEY (type, version))`,
];

export interface SchemaVersionRecord {
  type: string;
  version: string;
  /** The JSON Schema, serialized. */
  schema: string;
  description: string | null;
  deprecatedAt: string | null;
  createdAt: string;
}

export type PutSchemaResult =
  | { ok: true; created: boolean; value: SchemaVersionRecord }
  | { ok: false; code: "SCHEMA_VERSION_EXISTS" | "INCOMPATIBLE_SCHEMA"; detail: string; errors?: CompatError[] };

interface Row extends Record<string, SqlStorageValue> {
  type: string;
  version: string;
  major: number;
  minor: number;
  patch: number;
  schema: string;
  description: string | null;
  deprecated_at: string | null;
  created_at: string;
}

const toRecord = (r: Row): SchemaVersionRecord => ({
  type: r.type,
  version: r.version,
  schema: r.schema,
  description: r.description,
  deprecatedAt: r.deprecated_at,
  createdAt: r.created_at,
});

const ORDER = "ORDER BY type, major, minor, patch";

export class SchemaRegistry {
  constructor(private readonly sql: SqlStorage) {}

  /** Every version of every type, in type and version order. */
  all(): SchemaVersionRecord[] {
    return this.sql.exec<Row>(`SELECT * FROM schema_versions ${ORDER}`).toArray().map(toRecord);
  }

  ofType(type: string): SchemaVersionRecord[] {
    return this.sql.exec<Row>(`SELECT * FROM schema_versions WHERE type = ? ${ORDER}`, type).toArray().map(toRecord);
  }

  get(type: string, version: Version): SchemaVersionRecord | undefined {
    const row = this.sql
      .exec<Row>("SELECT * FROM schema_versions WHERE type = ? AND version = ?", type, canonicalVersion(version))
      .toArray()[0];
    return row ? toRecord(row) : undefined;
  }

  put(type: string, version: Version, schema: string, description: string | null): PutSchemaResult {
    const canonical = canonicalVersion(version);
    const existing = this.get(type, version);
    const parsed = JSON.parse(schema) as unknown;
    if (existing) {
      if (jsonEqual(JSON.parse(existing.schema), parsed)) return { ok: true, created: false, value: existing };
      return {
        ok: false,
        code: "SCHEMA_VERSION_EXISTS",
        detail: `${type} ${canonical} exists with another schema; versions are immutable (put a new version).`,
      };
    }
    const sameMajor = this.sql
      .exec<Row>(`SELECT * FROM schema_versions WHERE type = ? AND major = ? ${ORDER}`, type, version.major)
      .toArray();
    const at = (r: Row): Version => ({ major: r.major, minor: r.minor, patch: r.patch });
    const below = sameMajor.filter((r) => compareVersions(at(r), version) < 0).at(-1);
    const above = sameMajor.find((r) => compareVersions(at(r), version) > 0);
    const errors: CompatError[] = [];
    if (below)
      errors.push(
        ...breakingChanges(JSON.parse(below.schema), parsed).map((e) => ({ ...e, message: `${e.message} (from ${below.version})` })),
      );
    if (above)
      errors.push(
        ...breakingChanges(parsed, JSON.parse(above.schema)).map((e) => ({ ...e, message: `${e.message} (to ${above.version})` })),
      );
    if (errors.length > 0) {
      return {
        ok: false,
        code: "INCOMPATIBLE_SCHEMA",
        detail: `${type} ${canonical} breaks compatibility within MAJOR ${version.major} (${errors.length} breaking change${errors.length === 1 ? "" : "s"}; a new MAJOR may change anything).`,
        errors,
      };
    }
    const record: SchemaVersionRecord = {
      type,
      version: canonical,
      schema,
      description,
      deprecatedAt: null,
      createdAt: new Date().toISOString(),
    };
    this.sql.exec(
      "INSERT INTO schema_versions (type, version, major, minor, patch, schema, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      type,
      canonical,
      version.major,
      version.minor,
      version.patch,
      schema,
      description,
      record.createdAt,
    );
    return { ok: true, created: true, value: record };
  }

  /** Marks a version deprecated (or not); the time of the first deprecation is kept. */
  setDeprecated(type: string, version: Version, deprecated: boolean): SchemaVersionRecord | undefined {
    const current = this.get(type, version);
    if (!current) return undefined;
    const deprecatedAt = deprecated ? (current.deprecatedAt ?? new Date().toISOString()) : null;
    this.sql.exec("UPDATE schema_versions SET deprecated_at = ? WHERE type = ? AND version = ?", deprecatedAt, type, current.version);
    return { ...current, deprecatedAt };
  }
}
