/**
 * Finding every process of a job, whatever it did to get away: its tree (by parent), its
 * session and group, and, without a sandbox, anything carrying its TETHER_RUN_ID and
 * TETHER_ATTEMPT in the environment it was started with (a setsid or double fork reparents a
 * process to init and leaves the session, but its environment goes with it). Node cannot be a
 * child subreaper and /sys/fs/cgroup is often not ours to write, so /proc is what there is.
 * A job that both clears its environment and leaves its tree between two looks can still get
 * away; in the sandbox nothing can (the PID namespace ends with its first process).
 */
import { readdirSync, readFileSync } from "node:fs";
import { signalGroup } from "./process-group.js";

export interface Proc {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** Clock ticks after boot: tells a process from a later one with the same pid. */
  start: number;
  rssPages: number;
}

function readStat(pid: number): Proc | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null; // gone meanwhile
  }
  // The command name is in parentheses and may hold anything, parentheses too: fields follow the last ')'.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { pid, ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), start: Number(f[19]), rssPages: Number(f[21]) };
}

export function listProcs(): Proc[] {
  const out: Proc[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return out; // no procfs: only the process group can be reached
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const p = readStat(Number(name));
    if (p) out.push(p);
  }
  return out;
}

function hasMarker(pid: number, marker: string[]): boolean {
  try {
    const env = "\0" + readFileSync(`/proc/${pid}/environ`, "latin1");
    return marker.every((m) => env.includes(`\0${m}\0`));
  } catch {
    return false;
  }
}

export class Containment {
  private root = 0;
  private rootStart = 0;

  /**
   * @param sandboxed the root is bwrap: everything of the job is in its tree (orphans are
   *   reparented to the namespace's init, itself a child of the root).
   * @param marker `NAME=value` entries only this attempt's processes have in their environment.
   */
  constructor(
    readonly sandboxed: boolean,
    private readonly marker: string[],
  ) {}

  attach(pid: number): void {
    this.root = pid;
    this.rootStart = readStat(pid)?.start ?? 0;
  }

  /** After the last kill: the root's pid may be reused by someone else's process from now on. */
  detach(): void {
    this.root = 0;
  }

  /** The job's live processes; `thorough` also looks for runaways by their environment (slower). */
  members(thorough = false): Proc[] {
    if (!this.root) return [];
    const all = listProcs();
    const children = new Map<number, Proc[]>();
    for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    const found = new Map<number, Proc>();
    const visit = (p: Proc) => {
      if (found.has(p.pid) || p.pid === process.pid) return;
      found.set(p.pid, p);
      for (const c of children.get(p.pid) ?? []) visit(c);
    };
    // Nothing started before the job is the job's: that also keeps a reused pid out.
    const mayBeOurs = (p: Proc) => p.start >= this.rootStart && p.pid !== process.pid && p.pid !== process.ppid;
    for (const p of all) {
      if (!mayBeOurs(p)) continue;
      if (p.pid === this.root || (!this.sandboxed && (p.session === this.root || p.pgrp === this.root))) visit(p);
    }
    if (thorough && !this.sandboxed) {
      for (const p of all) if (!found.has(p.pid) && mayBeOurs(p) && hasMarker(p.pid, this.marker)) visit(p);
    }
    return [...found.values()];
  }

  /**
   * SIGTERM goes to the job's processes but, in the sandbox, not to bwrap: bwrap would die of
   * it and take the job down with SIGKILL, leaving it no grace. SIGKILL goes everywhere, a few
   * rounds, so what forked meanwhile goes too.
   */
  signal(sig: NodeJS.Signals): void {
    if (!this.root) return;
    if (!this.sandboxed) signalGroup(this.root, sig);
    const rounds = sig === "SIGKILL" ? 4 : 1;
    for (let i = 0; i < rounds; i++) {
      const targets = this.members(true).filter((p) => sig === "SIGKILL" || !this.sandboxed || p.pid !== this.root);
      if (sig === "SIGKILL" && this.sandboxed) signalGroup(this.root, sig);
      let live = 0;
      for (const p of targets) {
        try {
          process.kill(p.pid, sig);
          live++;
        } catch {
          /* gone */
        }
      }
      if (!live) return;
    }
  }
}
