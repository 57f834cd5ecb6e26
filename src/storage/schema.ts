/**
 * Versioned schema for a Durable Object's SQLite: each step runs once, in order, inside one
 * transaction with the version bump, so an object is never left half-migrated.
 */
export function migrate(storage: DurableObjectStorage, steps: readonly string[]): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM _schema WHERE id = 1").toArray()[0];
  const from = row?.version ?? 0;
  if (from >= steps.length) return;
  storage.transactionSync(() => {
    for (let v = from; v < steps.length; v++) sql.exec(steps[v]!);
    sql.exec("INSERT INTO _schema (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version", steps.length);
  });
}

/** Whether the object has a schema yet; reading this writes nothing, so an unknown id stays unmade. */
export function hasSchema(storage: DurableObjectStorage): boolean {
  return storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_schema'").toArray().length > 0;
}
