/** The local D1 migrator splits the files in migrations/ as wrangler would run them. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { statements } from "../../src/local/index-db.js";
import { repoRoot } from "../../src/local/paths.js";

describe("statements", () => {
  it("drops comments and splits at each ; that ends a line, keeping multi-line statements whole", () => {
    expect(statements("-- a comment; not a statement\nCREATE TABLE a (x INT);\nINSERT INTO a\n  SELECT 1;\n\n")).toEqual(["CREATE TABLE a (x INT)", "INSERT INTO a\n  SELECT 1"]);
  });

  it("finds only whole statements in every migration", () => {
    const dir = join(repoRoot(), "migrations");
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".sql"))) {
      for (const s of statements(readFileSync(join(dir, f), "utf8"))) expect(s, f).toMatch(/^(CREATE|INSERT|ALTER|DROP|UPDATE|DELETE)\b/);
    }
  });
});
