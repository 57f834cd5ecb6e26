/** tether-agent's reading of /proc, against real processes (Linux only). */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listProcs, readStat } from "../../worker-agent/src/procs.js";

const linux = process.platform === "linux";
const dir = mkdtempSync(join(tmpdir(), "procs-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(linux)("readStat", () => {
  it("reads the fields after the command name, whatever that name holds", async () => {
    // The kernel keeps the first 15 bytes of the name: ") (" and spaces, then more of both.
    const name = ") (1 2) 3 (4)";
    symlinkSync("/bin/sleep", join(dir, name));
    const child = spawn(join(dir, name), ["30"], { detached: true, stdio: "ignore" });
    await new Promise((resolve) => child.once("spawn", resolve));
    try {
      const pid = child.pid!;
      // Asleep, so its figures hold still; the kernel's line says which name it took.
      let line = "";
      while (!/\) S /.test(line)) line = readFileSync(`/proc/${pid}/stat`, "latin1");
      expect(line).toContain(`(${name})`);
      const f = line.slice(line.lastIndexOf(")") + 2).split(" ");
      expect(readStat(pid)).toEqual({ pid, ppid: process.pid, pgrp: pid, session: pid, start: Number(f[19]), rssPages: Number(f[21]) });
      expect(readStat(pid)!.start).toBeGreaterThanOrEqual(readStat(process.pid)!.start);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("is null for a process that is gone", async () => {
    const child = spawn("/bin/true", { stdio: "ignore" });
    await new Promise((resolve) => child.once("exit", resolve));
    expect(readStat(child.pid!)).toBeNull();
  });

  it("lists this process among the others", () => {
    const all = listProcs();
    expect(all.find((p) => p.pid === process.pid)).toMatchObject({ ppid: process.ppid, rssPages: expect.any(Number) });
    expect(all.length).toBeGreaterThan(1);
  });
});
