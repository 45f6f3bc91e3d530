/**
 * The Tenant object's configuration tables — subscriptions (webhooks are subscriptions with a
 * URL) and worker endpoints — as one JSON row per record with its name as a unique column.
 * Readers in the worker cache what they read for at most 2 s, so nothing global is bumped here.
 */
import { LIMITS } from "../../config.js";
import type { SubscriptionRecord } from "../../schemas/subscription.js";
import type { WorkerRecord } from "../../schemas/worker.js";

export type StoreResult<T> = { ok: true; value: T } | { ok: false; code: "CONFLICT" | "LIMIT_EXCEEDED" | "NOT_FOUND"; detail: string };

export const RECORD_MIGRATIONS = [
  `CREATE TABLE subscriptions (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
     created_at TEXT NOT NULL)`,
  "CREATE TABLE workers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL, created_at TEXT NOT NULL)",
];

interface NamedRecord {
  id: string;
  name: string;
  createdAt: string;
}

export class RecordTable<T extends NamedRecord> {
  constructor(
    private readonly sql: SqlStorage,
    private readonly table: "subscriptions" | "workers",
    private readonly noun: string,
    private readonly limit?: number,
  ) {}

  list(): T[] {
    return this.sql
      .exec<{ body: string }>(`SELECT body FROM ${this.table} ORDER BY created_at, id`)
      .toArray()
      .map((r) => JSON.parse(r.body) as T);
  }

  get(id: string): T | undefined {
    const row = this.sql.exec<{ body: string }>(`SELECT body FROM ${this.table} WHERE id = ?`, id).toArray()[0];
    return row ? (JSON.parse(row.body) as T) : undefined;
  }

  insert(record: T): StoreResult<T> {
    if (this.limit !== undefined) {
      const count = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${this.table}`).one().n;
      if (count >= this.limit) return { ok: false, code: "LIMIT_EXCEEDED", detail: `A tenant has at most ${this.limit} ${this.noun}s.` };
    }
    if (this.nameTaken(record.name, record.id)) return this.conflict(record.name);
    this.sql.exec(
      `INSERT INTO ${this.table} (id, name, body, created_at) VALUES (?, ?, ?, ?)`,
      record.id,
      record.name,
      JSON.stringify(record),
      record.createdAt,
    );
    return { ok: true, value: record };
  }

  replace(record: T): StoreResult<T> {
    if (this.nameTaken(record.name, record.id)) return this.conflict(record.name);
    const cursor = this.sql.exec(
      `UPDATE ${this.table} SET name = ?, body = ? WHERE id = ?`,
      record.name,
      JSON.stringify(record),
      record.id,
    );
    if (cursor.rowsWritten === 0) return { ok: false, code: "NOT_FOUND", detail: `No ${this.noun} ${record.id}.` };
    return { ok: true, value: record };
  }

  delete(id: string): boolean {
    return this.sql.exec(`DELETE FROM ${this.table} WHERE id = ?`, id).rowsWritten > 0;
  }

  private nameTaken(name: string, exceptId: string): boolean {
    return this.sql.exec(`SELECT 1 FROM ${this.table} WHERE name = ? AND id != ?`, name, exceptId).toArray().length > 0;
  }

  private conflict(name: string): StoreResult<never> {
    return { ok: false, code: "CONFLICT", detail: `A ${this.noun} named '${name}' already exists.` };
  }
}

export const subscriptionTable = (sql: SqlStorage) =>
  new RecordTable<SubscriptionRecord>(sql, "subscriptions", "subscription", LIMITS.subscriptionsPerTenant);
export const workerTable = (sql: SqlStorage) => new RecordTable<WorkerRecord>(sql, "workers", "worker");
