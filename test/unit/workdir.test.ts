/** An attempt's directory: private, with a TMPDIR of its own, and gone with whatever the job left in it. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWorkdir } from "../../worker-agent/src/workdir.js";

describe("an attempt's directory", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "workdir-test-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("is made private, with a TMPDIR of its own inside it, named for its host and run", () => {
    const w = createWorkdir(root, "run_a/b", 2);
    expect(statSync(w.dir).mode & 0o777).toBe(0o700);
    expect(statSync(w.tmp).mode & 0o777).toBe(0o700);
    expect(w.tmp.startsWith(`${w.dir}/`)).toBe(true);
    expect(w.dir.slice(root.length + 1)).toMatch(new RegExp(`^${process.pid}-run_a_b-2-`));
  });

  it("goes with what a job left in it, once however often it is asked", () => {
    const w = createWorkdir(root, "run_2", 1);
    mkdirSync(join(w.dir, "a", "b"), { recursive: true });
    writeFileSync(join(w.dir, "a", "b", "f"), "x");
    writeFileSync(join(w.tmp, "t"), "y");
    w.remove();
    expect(existsSync(w.dir)).toBe(false);
    // Another attempt's directory made since is not taken for it.
    const other = createWorkdir(root, "run_3", 1);
    w.remove();
    expect(readdirSync(root)).toEqual([other.dir.slice(root.length + 1)]);
  });
});
