/** The worker table of the Tenant object: one JSON row per worker endpoint, names unique. */
import type { StoreResult } from "./records.js";
import type { WorkerRecord } from "../../schemas/worker.js";

export class WorkerStore {
  static readonly MIGRATIONS = [
    "CREATE TABLE workers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL, created_at TEXT NOT NULL)",
  ];

  constructor(private readonly sql: SqlStorage) {}

  list(): WorkerRecord[] {
    return this.sql
      .exec<{ body: string }>("SELECT body FROM workers ORDER BY created_at, id")
      .toArray()
      .map((r) => JSON.parse(r.body) as WorkerRecord);
  }

  get(id: string): WorkerRecord | undefined {
    const row = this.sql.exec<{ body: string }>("SELECT body FROM workers WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.body) as WorkerRecord) : undefined;
  }

  insert(record: WorkerRecord): StoreResult<WorkerRecord> {
    if (this.sql.exec("SELECT 1 FROM workers WHERE name = ?", record.name).toArray().length > 0) {
      return { ok: false, code: "CONFLICT", detail: `A worker named '${record.name}' already exists.` };
    }
    this.sql.exec(
      "INSERT INTO workers (id, name, body, created_at) VALUES (?, ?, ?, ?)",
      record.id,
      record.name,
      JSON.stringify(record),
      record.createdAt,
    );
    return { ok: true, value: record };
  }

  delete(id: string): boolean {
    return this.sql.exec("DELETE FROM workers WHERE id = ?", id).rowsWritten > 0;
  }
}
