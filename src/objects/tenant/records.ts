/**
 * The subscription table of the Tenant object. Records are kept as JSON (one row each) with the
 * name as a unique column; every change bumps nothing global — readers cache for at most 2 s.
 */
import { LIMITS } from "../../config.js";
import type { SubscriptionRecord } from "../../schemas/subscription.js";

export type StoreResult<T> = { ok: true; value: T } | { ok: false; code: "CONFLICT" | "LIMIT_EXCEEDED" | "NOT_FOUND"; detail: string };

export class SubscriptionStore {
  static readonly MIGRATIONS = [
    `CREATE TABLE subscriptions (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
       created_at TEXT NOT NULL)`,
  ];

  constructor(private readonly sql: SqlStorage) {}

  list(): SubscriptionRecord[] {
    return this.sql
      .exec<{ body: string }>("SELECT body FROM subscriptions ORDER BY created_at, id")
      .toArray()
      .map((r) => JSON.parse(r.body) as SubscriptionRecord);
  }

  get(id: string): SubscriptionRecord | undefined {
    const row = this.sql.exec<{ body: string }>("SELECT body FROM subscriptions WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.body) as SubscriptionRecord) : undefined;
  }

  insert(record: SubscriptionRecord): StoreResult<SubscriptionRecord> {
    const count = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM subscriptions").one().n;
    if (count >= LIMITS.subscriptionsPerTenant) {
      return { ok: false, code: "LIMIT_EXCEEDED", detail: `A tenant has at most ${LIMITS.subscriptionsPerTenant} subscriptions.` };
    }
    if (this.nameTaken(record.name, record.id)) return conflict(record.name);
    this.sql.exec(
      "INSERT INTO subscriptions (id, name, body, created_at) VALUES (?, ?, ?, ?)",
      record.id,
      record.name,
      JSON.stringify(record),
      record.createdAt,
    );
    return { ok: true, value: record };
  }

  replace(record: SubscriptionRecord): StoreResult<SubscriptionRecord> {
    if (this.nameTaken(record.name, record.id)) return conflict(record.name);
    const cursor = this.sql.exec(
      "UPDATE subscriptions SET name = ?, body = ? WHERE id = ?",
      record.name,
      JSON.stringify(record),
      record.id,
    );
    if (cursor.rowsWritten === 0) return { ok: false, code: "NOT_FOUND", detail: `No subscription ${record.id}.` };
    return { ok: true, value: record };
  }

  delete(id: string): boolean {
    return this.sql.exec("DELETE FROM subscriptions WHERE id = ?", id).rowsWritten > 0;
  }

  private nameTaken(name: string, exceptId: string): boolean {
    return this.sql.exec("SELECT 1 FROM subscriptions WHERE name = ? AND id != ?", name, exceptId).toArray().length > 0;
  }
}

function conflict(name: string): StoreResult<never> {
  return { ok: false, code: "CONFLICT", detail: `A subscription named '${name}' already exists.` };
}
