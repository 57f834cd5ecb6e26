/** How a job's argv[0] is found through its PATH and judged: real files, and no stale answer when files come and go. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { judgeProgram } from "../../worker-agent/src/allowlist.js";
import { DEFAULT_POLICY, type Policy } from "../../worker-agent/src/policy.js";

const FULL: Policy = { ...DEFAULT_POLICY, security: "full" };
const ALLOWLIST: Policy = { ...DEFAULT_POLICY, security: "allowlist" };

describe("judgeProgram", () => {
  let root: string;
  const dir = (name: string) => {
    const d = join(root, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const program = (d: string, name = "tool") => {
    const file = join(d, name);
    writeFileSync(file, "#!/bin/sh\n");
    chmodSync(file, 0o755);
    return file;
  };
  const found = (policy: Policy, path: string, cwd = root, allowed = new Map<string, string>()) => {
    const v = judgeProgram(policy, allowed, "tool", path, cwd);
    return v.ok ? v.path : v.error;
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "lookup-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("takes the first executable file in PATH order, skipping a directory or a file that is not executable", () => {
    const [a, b, c] = [dir("a"), dir("b"), dir("c")];
    mkdirSync(join(a, "tool"));
    writeFileSync(join(b, "tool"), "not executable");
    const want = program(c);
    expect(found(FULL, [a, b, c].join(":"))).toBe(want);
  });

  it("answers again from the files as they are: a program removed since is not given, the next one in PATH is", () => {
    const [a, b] = [dir("a"), dir("b")];
    const first = program(a);
    const second = program(b);
    const path = [a, b].join(":");
    expect(found(FULL, path)).toBe(first);
    rmSync(first);
    expect(found(FULL, path)).toBe(second);
    rmSync(second);
    expect(found(FULL, path)).toMatch(/not found in PATH/);
  });

  it("looks a relative PATH entry up from each job's own directory", () => {
    const [j1, j2] = [dir("job1"), dir("job2")];
    const mine = program(dir("job1/bin"));
    expect(found(FULL, "bin", j1)).toBe(mine);
    expect(found(FULL, "bin", j2)).toMatch(/not found in PATH/);
  });

  it("judges the file as it is now, not as it was found: one swapped for a link to another program since is refused", () => {
    const d = dir("bin");
    const tool = program(d);
    const allowed = new Map([[tool, "tool"]]);
    expect(found(ALLOWLIST, d, root, allowed)).toBe(tool);
    const other = program(dir("elsewhere"), "other");
    rmSync(tool);
    symlinkSync(other, tool);
    expect(found(ALLOWLIST, d, root, allowed)).toMatch(`resolves to ${other}, which is not on the allowlist`);
  });

  it("judges the real file under an allowlist, whatever name or link leads to it", () => {
    const real = program(dir("real"));
    const links = dir("links");
    symlinkSync(real, join(links, "tool"));
    const allowed = new Map([[real, "tool"]]);
    const v = judgeProgram(ALLOWLIST, allowed, "tool", links, root);
    expect(v.ok && v.real()).toBe(real);
    const other = program(dir("other"));
    expect(found(ALLOWLIST, dir("other"), root, allowed)).toMatch(`resolves to ${other}, which is not on the allowlist`);
  });
});
