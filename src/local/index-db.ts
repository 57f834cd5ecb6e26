/**
 * Migrates the local D1 index before the Worker starts, the way `wrangler d1 migrations apply
 * --local` would (same files, same `d1_migrations` table, same database under the same persist
 * directory), without a wrangler process of its own on every start.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { repoRoot } from "./paths.js";

/** wrangler dev names a D1 database with no database_id by its binding. */
const BINDING = "INDEX";

/** The statements of a migration file: comments dropped, split at each `;` that ends a line. */
export function statements(sql: string): string[] {
  return sql
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("--"))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function migrateLocalIndex(persistDir: string): Promise<string[]> {
  const dir = join(repoRoot(), "migrations");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  const mf = new Miniflare({ modules: true, script: "export default {}", d1Persist: join(persistDir, "v3", "d1"), d1Databases: { [BINDING]: BINDING } });
  try {
    const db = await mf.getD1Database(BINDING);
    await db.prepare("CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)").run();
    const done = new Set((await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((r) => r.name));
    const applied: string[] = [];
    for (const f of files.filter((f) => !done.has(f))) {
      // One batch is one transaction: a migration applies whole or not at all.
      const stmts = statements(readFileSync(join(dir, f), "utf8")).map((s) => db.prepare(s));
      await db.batch([...stmts, db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(f)]);
      applied.push(f);
    }
    return applied;
  } finally {
    await mf.dispose();
  }
}
