/**
 * Schema versions for the SQLite-backed Durable Objects: each object keeps a version row and runs
 * only the migrations it has not run yet, inside the constructor's blockConcurrencyWhile.
 */
export function migrate(sql: SqlStorage, migrations: readonly string[]): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
  const current = row?.version ?? 0;
  if (current >= migrations.length) return;
  for (let v = current; v < migrations.length; v++) sql.exec(migrations[v] as string);
  if (row) sql.exec("UPDATE schema_version SET version = ?", migrations.length);
  else sql.exec("INSERT INTO schema_version (version) VALUES (?)", migrations.length);
}
