/** tether-agent's reading of /proc and its finding of a job's processes, against real processes (Linux only). */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { markPids, noteMade } from "../../worker-agent/src/pid-window.js";
import { lastPid, listProcs, readStat } from "../../worker-agent/src/procfs.js";
import { Containment } from "../../worker-agent/src/procs.js";

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
      expect(readStat(pid)).toEqual({ pid, ppid: process.pid, pgrp: pid, session: pid, start: Number(f[19]), rssPages: Number(f[21]), zombie: false, kernel: false });
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

  it("tells a zombie", async () => {
    // sh's child ends after sh has become sleep, which never reaps it.
    const child = spawn("/bin/sh", ["-c", "sleep 0.2 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    const pid = Number(await new Promise<string>((resolve) => child.stdout!.once("data", (b: Buffer) => resolve(b.toString()))));
    try {
      let p = readStat(pid);
      for (let i = 0; i < 200 && p && !p.zombie; i++, p = readStat(pid)) await new Promise((r) => setTimeout(r, 10));
      expect(p).toMatchObject({ pid, ppid: child.pid, zombie: true });
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("lists this process among the others", () => {
    const all = listProcs()!.procs;
    expect(all.find((p) => p.pid === process.pid)).toMatchObject({ ppid: process.ppid, rssPages: expect.any(Number) });
    expect(all.length).toBeGreaterThan(1);
  });
});

/** The pids a shell prints on its stdout, one a line, once it has exited. */
async function printedPids(child: ChildProcess): Promise<number[]> {
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  await new Promise((resolve) => child.once("close", resolve));
  return out.split("\n").filter(Boolean).map(Number);
}

const alive = (pid: number) => {
  const p = readStat(pid);
  return !!p && !p.zombie;
};

describe.runIf(linux)("Containment", () => {
  it("finds what left the job's session after the job's first process is reaped, and kills it at the end, not a neighbour's", async () => {
    const runId = `run_${randomBytes(6).toString("hex")}`;
    const env = (attempt: number) => ({ PATH: process.env.PATH!, TETHER_RUN_ID: runId, TETHER_ATTEMPT: String(attempt) });
    // Both runaways ignore SIGTERM: only the end's SIGKILL takes them.
    const script = [
      `setsid sh -c 'trap "" TERM; exec sleep 30' >/dev/null 2>&1 & echo $!`,
      `(sh -c 'trap "" TERM; exec sleep 30' >/dev/null 2>&1 & echo $!)`,
    ].join("\n");
    // The same run's next attempt, on its own: not this attempt's.
    const neighbour = (await printedPids(spawn("/bin/sh", ["-c", "setsid sleep 30 >/dev/null 2>&1 & echo $!"], { env: env(2), stdio: ["ignore", "pipe", "ignore"] })))[0]!;
    const contain = new Containment(false, [`TETHER_RUN_ID=${runId}`, `TETHER_ATTEMPT=1`]);
    // Marked as a host marks a job's start: the job's own forks still bring the look at its end.
    contain.markStart(markPids());
    const root = spawn("/bin/sh", ["-c", script], { detached: true, env: env(1), stdio: ["ignore", "pipe", "ignore"] });
    noteMade(root.pid);
    contain.attach(root.pid!);
    const runaways = await printedPids(root);
    try {
      expect(runaways).toHaveLength(2);
      expect(contain.members(true).map((p) => p.pid).sort()).toEqual([...runaways].sort());
      contain.signal("SIGTERM");
      expect(runaways.every(alive)).toBe(true);
      contain.signal("SIGKILL");
      for (let i = 0; i < 100 && runaways.some(alive); i++) await new Promise((r) => setTimeout(r, 10));
      expect(runaways.filter(alive)).toEqual([]);
      expect(alive(neighbour)).toBe(true);
      expect(contain.members(true).filter((p) => !p.zombie)).toEqual([]);
    } finally {
      for (const pid of [...runaways, neighbour]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
  });

  it("gives a job that made no process no look at its end, and the look to any other", async () => {
    const runId = `run_${randomBytes(6).toString("hex")}`;
    const marker = [`TETHER_RUN_ID=${runId}`, "TETHER_ATTEMPT=1"];
    const env = { PATH: process.env.PATH!, TETHER_RUN_ID: runId, TETHER_ATTEMPT: "1" };
    let skipped = 0;
    // Other processes on the machine make pids too, and each brings the look back: try until a quiet moment.
    for (let i = 0; i < 200 && !skipped; i++) {
      const contain = new Containment(false, marker);
      contain.markStart(markPids());
      const root = spawn("/bin/true", [], { detached: true, stdio: "ignore" });
      noteMade(root.pid);
      contain.attach(root.pid!);
      // A process that carries the job's marker but that this host made (through a shell of its
      // own, so that it is not its child): a look would take it for the job's, the window knows better.
      const maker = spawn("/bin/sh", ["-c", "sleep 30 >/dev/null 2>&1 & echo $!"], { env, stdio: ["ignore", "pipe", "ignore"] });
      noteMade(maker.pid);
      const decoy = (await printedPids(maker))[0]!;
      noteMade(decoy);
      if (root.exitCode === null && root.signalCode === null) await new Promise((r) => root.once("exit", r));
      try {
        const found = contain.members(true).map((p) => p.pid);
        if (found.length) expect(found).toEqual([decoy]);
        else skipped++;
      } finally {
        process.kill(decoy, "SIGKILL");
      }
    }
    expect(skipped).toBe(1);
    expect(lastPid()).toBeGreaterThan(0);
  });

  it("reads the last pid afresh each time, though the file stays open", async () => {
    const before = lastPid()!;
    const child = spawn("/bin/true");
    await new Promise((r) => child.once("exit", r));
    // Pids wrap, but not between two reads a process apart.
    expect(lastPid()).toBeGreaterThanOrEqual(child.pid!);
    expect(child.pid).not.toBe(before);
  });
});
