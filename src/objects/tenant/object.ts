/**
 * Tenant Durable Object (one per tenant): the tenant's API keys (SHA-256 hashes only) and its
 * configuration — subscriptions/webhooks and workers. Strongly consistent; the worker isolate
 * caches what it reads from here for a short, documented time.
 */
import { DurableObject } from "cloudflare:workers";
import { positive } from "../../config.js";
import { newId, sha256Hex } from "../../domain/ids.js";
import { keyHint, newApiKey } from "../../domain/keys.js";
import { type Grant, TokenBucket } from "../../domain/quota.js";
import type { Version } from "../../domain/schema-compat.js";
import { type Scope, scopesFromStored } from "../../domain/scopes.js";
import type { SubscriptionRecord } from "../../schemas/subscription.js";
import type { WorkerRecord } from "../../schemas/worker.js";
import { migrate } from "../kit/migrations.js";
import { RECORD_MIGRATIONS, type RecordTable, type StoreResult, subscriptionTable, workerTable } from "./records.js";
import { type PutSchemaResult, SCHEMA_MIGRATIONS, SchemaRegistry, type SchemaVersionRecord } from "./schema-registry.js";

const MIGRATIONS = [
  `CREATE TABLE tenant (name TEXT NOT NULL, created_at TEXT NOT NULL)`,
  `CREATE TABLE api_keys (key_id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL,
     name TEXT, created_at TEXT NOT NULL, revoked_at TEXT)`,
  ...RECORD_MIGRATIONS,
  // NULL: every scope (keys stored before scopes existed keep what they could do).
  "ALTER TABLE api_keys ADD COLUMN scopes TEXT",
  // NULL: the deployment's default (PUBLISH_PER_SECOND).
  "ALTER TABLE tenant ADD COLUMN publish_per_second INTEGER",
  ...SCHEMA_MIGRATIONS,
];

export interface ApiKeyInfo {
  keyId: string;
  name: string | null;
  hint: string;
  createdAt: string;
  scopes: Scope[];
}

export interface TenantLimits {
  publishPerSecond: number;
  /** Whether publishPerSecond is this tenant's own (else the deployment's default). */
  custom: boolean;
}

export class Tenant extends DurableObject<Env> {
  private readonly subscriptions: RecordTable<SubscriptionRecord>;
  private readonly workers: RecordTable<WorkerRecord>;
  private readonly schemas: SchemaRegistry;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    // A key naming a tenant that was never created must not create storage for it: the schema is
    // made on the first write, and verifyKey on an empty object answers without touching storage.
    ctx.blockConcurrencyWhile(async () => {
      if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").toArray().length > 0) this.ensureSchema();
    });
    this.subscriptions = subscriptionTable(sql);
    this.workers = workerTable(sql);
    this.schemas = new SchemaRegistry(sql);
  }

  private ready = false;

  private ensureSchema(): void {
    if (this.ready) return;
    migrate(this.ctx.storage.sql, MIGRATIONS);
    this.ready = true;
  }

  /** Creates the tenant record (idempotent) and its first key. */
  async createTenant(tenantId: string, name: string): Promise<{ apiKey: string; keyId: string }> {
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    if (sql.exec("SELECT 1 FROM tenant").toArray().length === 0) {
      sql.exec("INSERT INTO tenant (name, created_at) VALUES (?, ?)", name, new Date().toISOString());
    }
    const { apiKey, keyId } = await this.createKey(tenantId, "default", null);
    return { apiKey, keyId };
  }

  /** A new key; `scopes` null = every scope (checked against the creating key by the caller). */
  async createKey(tenantId: string, name: string | null, scopes: Scope[] | null): Promise<ApiKeyInfo & { apiKey: string }> {
    this.ensureSchema();
    const apiKey = newApiKey(tenantId);
    const stored = scopes === null ? null : JSON.stringify(scopes);
    const info: ApiKeyInfo = {
      keyId: newId("key"),
      name,
      hint: keyHint(apiKey),
      createdAt: new Date().toISOString(),
      scopes: scopesFromStored(stored),
    };
    this.ctx.storage.sql.exec(
      "INSERT INTO api_keys (key_id, hash, hint, name, created_at, scopes) VALUES (?, ?, ?, ?, ?, ?)",
      info.keyId,
      await sha256Hex(apiKey),
      info.hint,
      name,
      info.createdAt,
      stored,
    );
    return { ...info, apiKey };
  }

  /** The key id and scopes for a key hash that is not revoked, or null. */
  verifyKey(hash: string): { keyId: string; scopes: Scope[] } | null {
    if (!this.ready) return null;
    const row = this.ctx.storage.sql
      .exec<{ key_id: string; scopes: string | null }>("SELECT key_id, scopes FROM api_keys WHERE hash = ? AND revoked_at IS NULL", hash)
      .toArray()[0];
    return row ? { keyId: row.key_id, scopes: scopesFromStored(row.scopes) } : null;
  }

  listKeys(): ApiKeyInfo[] {
    this.ensureSchema();
    return this.ctx.storage.sql
      .exec<{ key_id: string; name: string | null; hint: string; created_at: string; scopes: string | null }>(
        "SELECT key_id, name, hint, created_at, scopes FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at",
      )
      .toArray()
      .map((r) => ({ keyId: r.key_id, name: r.name, hint: r.hint, createdAt: r.created_at, scopes: scopesFromStored(r.scopes) }));
  }

  revokeKey(keyId: string): boolean {
    this.ensureSchema();
    const cursor = this.ctx.storage.sql.exec(
      "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
      new Date().toISOString(),
      keyId,
    );
    return cursor.rowsWritten > 0;
  }

  // --- limits and the publish quota ---

  private readonly bucket = new TokenBucket();

  /** Whether the tenant was created (a key naming an unknown tenant reaches an empty object). */
  exists(): boolean {
    if (!this.ready) return false;
    return this.ctx.storage.sql.exec("SELECT 1 FROM tenant").toArray().length > 0;
  }

  limits(): TenantLimits {
    const fallback = Math.floor(positive(this.env.PUBLISH_PER_SECOND, 1000));
    if (!this.ready) return { publishPerSecond: fallback, custom: false };
    const row = this.ctx.storage.sql.exec<{ p: number | null }>("SELECT publish_per_second AS p FROM tenant").toArray()[0];
    return row?.p ? { publishPerSecond: row.p, custom: true } : { publishPerSecond: fallback, custom: false };
  }

  /**
   * Sets the tenant's own limits (`undefined` keeps, `null` = back to the default); null when the
   * tenant does not exist — unless `implicitName` names one that exists without being created
   * (the development tenant), whose record is made now.
   */
  setLimits(publishPerSecond: number | null | undefined, implicitName: string | null): TenantLimits | null {
    if (!this.exists()) {
      if (implicitName === null) return null;
      this.ensureSchema();
      this.ctx.storage.sql.exec("INSERT INTO tenant (name, created_at) VALUES (?, ?)", implicitName, new Date().toISOString());
    }
    if (publishPerSecond !== undefined) this.ctx.storage.sql.exec("UPDATE tenant SET publish_per_second = ?", publishPerSecond);
    const limits = this.limits();
    this.bucket.retune(Date.now(), limits.publishPerSecond);
    return limits;
  }

  /**
   * Takes `need` publish tokens (and a small chunk more, for the isolate to spend without asking
   * again), or none with the time after which `need` will be there. The bucket lives in memory:
   * it holds one second's worth, so losing it with the object (an eviction) is losing one refill.
   */
  takeTokens(need: number, lease: boolean): Grant {
    return this.bucket.take(Date.now(), this.limits().publishPerSecond, need, lease);
  }

  // --- schema registry ---

  listSchemaVersions(): SchemaVersionRecord[] {
    this.ensureSchema();
    return this.schemas.all();
  }

  schemaVersionsOf(type: string): SchemaVersionRecord[] {
    this.ensureSchema();
    return this.schemas.ofType(type);
  }

  getSchemaVersion(type: string, version: Version): SchemaVersionRecord | null {
    this.ensureSchema();
    return this.schemas.get(type, version) ?? null;
  }

  /** Checks and stores a version in one step (the object runs one call at a time). */
  putSchemaVersion(type: string, version: Version, schema: string, description: string | null): PutSchemaResult {
    this.ensureSchema();
    return this.schemas.put(type, version, schema, description);
  }

  setSchemaDeprecated(type: string, version: Version, deprecated: boolean): SchemaVersionRecord | null {
    this.ensureSchema();
    return this.schemas.setDeprecated(type, version, deprecated) ?? null;
  }

  // --- subscriptions (webhooks are subscriptions with a URL) ---

  listSubscriptions(): SubscriptionRecord[] {
    this.ensureSchema();
    return this.subscriptions.list();
  }

  getSubscription(id: string): SubscriptionRecord | null {
    this.ensureSchema();
    return this.subscriptions.get(id) ?? null;
  }

  createSubscription(record: SubscriptionRecord): StoreResult<SubscriptionRecord> {
    this.ensureSchema();
    return this.subscriptions.insert(record);
  }

  /** Applies a partial change atomically (the object runs one call at a time between awaits). */
  updateSubscription(id: string, patch: Partial<SubscriptionRecord>): StoreResult<SubscriptionRecord> {
    this.ensureSchema();
    const current = this.subscriptions.get(id);
    if (!current) return { ok: false, code: "NOT_FOUND", detail: `No subscription ${id}.` };
    const next: SubscriptionRecord = { ...current, ...patch, id, updatedAt: new Date().toISOString() };
    if (next.status === "ACTIVE") {
      delete next.disabledReason;
      delete next.disabledAt;
    } else if (current.status === "ACTIVE") {
      next.disabledAt = new Date().toISOString();
    }
    return this.subscriptions.replace(next);
  }

  deleteSubscription(id: string): boolean {
    this.ensureSchema();
    return this.subscriptions.delete(id);
  }

  // --- worker endpoints (task receivers) ---

  listWorkers(): WorkerRecord[] {
    this.ensureSchema();
    return this.workers.list();
  }

  getWorker(id: string): WorkerRecord | null {
    this.ensureSchema();
    return this.workers.get(id) ?? null;
  }

  createWorker(record: WorkerRecord): StoreResult<WorkerRecord> {
    this.ensureSchema();
    return this.workers.insert(record);
  }

  deleteWorker(id: string): boolean {
    this.ensureSchema();
    return this.workers.delete(id);
  }
}
