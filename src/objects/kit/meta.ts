/**
 * The meta row store every object keeps (`meta (k, v)`): what an object must remember about
 * itself that fits no table — its name, a tenant id, a counter, a health timestamp.
 */

/** The DDL for the table; each object lists it among its own migrations. */
export const META_TABLE = "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)";

export class Meta {
  constructor(private readonly sql: SqlStorage) {}

  get(key: string): string | undefined {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", key).toArray()[0]?.v;
  }

  set(key: string, value: string): this {
    this.sql.exec("INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", key, value);
    return this;
  }

  /** Sets the key only when it has no value yet. */
  setIfAbsent(key: string, value: string): void {
    this.sql.exec("INSERT OR IGNORE INTO meta (k, v) VALUES (?, ?)", key, value);
  }

  delete(key: string): void {
    this.sql.exec("DELETE FROM meta WHERE k = ?", key);
  }
}
