/** What the kernel says about processes, read straight from /proc (Linux only). */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z, T, ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** User plus system CPU time, in ticks. */
  ticks: number;
  /** The same for its children that have ended and been waited for. */
  childTicks: number;
}

const TICKS_PER_S = (() => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(out.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** Null when the process is gone. */
export function stat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  // The command name is in parentheses and may itself hold spaces or parentheses.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const f = text.slice(close + 2).split(" ");
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: f[0]!,
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    ticks: Number(f[11]) + Number(f[12]),
    childTicks: Number(f[13]) + Number(f[14]),
  };
}

export function allPids(): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
}

export const ticksToMs = (ticks: number) => (ticks * 1000) / TICKS_PER_S;

/** CPU milliseconds (user + system) the process has used so far; 0 when it is gone. */
export function cpuMs(pid: number): number {
  const s = stat(pid);
  return s ? ticksToMs(s.ticks) : 0;
}

function statusField(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU milliseconds of a set of processes. */
export const cpuOf = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);

/** Resident memory now, in MiB. */
export const rssMb = (pid: number) => statusField(pid, "VmRSS");
/** The kernel's high-water mark of resident memory since the process started, in MiB. */
export const peakRssMb = (pid: number) => statusField(pid, "VmHWM");

/** Live (not zombie) members of a process group. */
export function liveMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const pid of allPids()) {
    const s = stat(pid);
    if (s && s.pgrp === pgid && s.state !== "Z") out.push(pid);
  }
  return out;
}

/**
 * Resolves with the wall time (hrtime ns) at which no live member of the group remains. Zombies
 * count as dead: in a container whose init reaps orphans late they can linger a second or two
 * after they exited. The known members are polled every millisecond; a full scan confirms the group is empty.
 */
export async function groupDead(pgid: number, members: number[], timeoutMs = 30_000): Promise<bigint> {
  const deadline = Date.now() + timeoutMs;
  let watch = members;
  for (;;) {
    watch = watch.filter((pid) => {
      const s = stat(pid);
      return s !== null && s.pgrp === pgid && s.state !== "Z";
    });
    if (watch.length === 0) {
      const at = process.hrtime.bigint();
      watch = liveMembers(pgid);
      if (watch.length === 0) return at;
    }
    if (Date.now() > deadline) throw new Error(`process group ${pgid} still has live members after ${timeoutMs} ms: ${watch.join(", ")}`);
    // A 1 ms timer, not a busy loop: on a small machine a spinning poller would steal the CPU the cancel needs.
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Processes whose initial environment holds `marker` (NAME=value): everything the bench started, orphans included. */
export function markedProcesses(marker: string): ProcStat[] {
  const out: ProcStat[] = [];
  const needle = Buffer.from(`${marker}\0`);
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`).includes(needle)) continue;
    } catch {
      continue;
    }
    const s = stat(pid);
    if (s) out.push(s);
  }
  return out;
}

/** The descendants of a process, by walking parent links. */
export function descendants(root: number): ProcStat[] {
  const all = allPids().map(stat).filter((s): s is ProcStat => s !== null);
  const out: ProcStat[] = [];
  const parents = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of all) {
      if (!parents.has(s.pid) && parents.has(s.ppid)) {
        parents.add(s.pid);
        out.push(s);
        grew = true;
      }
    }
  }
  return out;
}

/** CPU milliseconds the whole machine has spent busy (all cores, idle and iowait excluded). */
export function machineBusyMs(): number {
  const f = readFileSync("/proc/stat", "latin1").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
  return ticksToMs(busy);
}
