/**
 * Reading /proc: each process's stat line and the environment it started with. A job's end reads
 * a file or two for every process on the machine, so this reads without allocating.
 */
import { closeSync, openSync, readdirSync, readSync } from "node:fs";

export interface Proc {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** Clock ticks after boot: tells a process from a later one with the same pid. */
  start: number;
  rssPages: number;
  /** Exited, every thread of it, not yet reaped: it starts nothing more, and its environment is gone. */
  zombie: boolean;
  /** A kernel thread: no job's, and its environment may not be ours to read. */
  kernel: boolean;
}

// A scan reads a file or two per process on the machine, for every job: one buffer for all of
// them, and no fstat (procfs sizes are 0), since allocating and statting were most of its cost.
let buf = Buffer.allocUnsafe(4096);
const NL = 0x0a;

/** A /proc file into `buf` from `at` on, grown as needed: its end, or -1 if it cannot be read. */
function readProc(path: string, at: number, line: boolean): number {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return -1; // gone meanwhile, or not ours to read
  }
  try {
    let end = at;
    for (;;) {
      if (end === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, end);
        buf = bigger;
      }
      const n = readSync(fd, buf, end, buf.length - end, null);
      end += n;
      // A one-line file comes whole in one read: no second read to learn that it ended.
      if (!n || (line && buf[end - 1] === NL)) return end;
    }
  } catch {
    return -1;
  } finally {
    closeSync(fd);
  }
}

const fields = new Float64Array(22);
const PF_KTHREAD = 0x200000;

/** The process's stat line, or null if it is gone. */
export function readStat(pid: number): Proc | null {
  const end = readProc(`/proc/${pid}/stat`, 0, true);
  // The command name is in parentheses and may hold anything, parentheses too: fields follow the last ')'.
  const close = end > 0 ? buf.lastIndexOf(0x29, end - 1) : -1;
  if (close < 0) return null;
  // After ") " the state, a letter; the numbers from ppid on, counted from the state as field 0.
  let field = 1;
  let value = 0;
  let negative = false;
  for (let i = close + 4; i < end && field < fields.length; i++) {
    const c = buf[i]!;
    if (c === 0x20 || c === NL) {
      fields[field++] = negative ? -value : value;
      value = 0;
      negative = false;
    } else if (c === 0x2d) negative = true;
    else value = value * 10 + c - 0x30;
  }
  if (field < fields.length) return null;
  // A leader that exited before its other threads shows "Z" too, but counts itself and those.
  const state = buf[close + 2];
  const dead = (state === 0x5a || state === 0x58) && fields[17]! <= 1;
  return { pid, ppid: fields[1]!, pgrp: fields[2]!, session: fields[3]!, start: fields[19]!, rssPages: fields[21]!, zombie: dead, kernel: (fields[6]! & PF_KTHREAD) !== 0 };
}

export interface Listing {
  procs: Proc[];
  /** Every pid listed (but those skipped), with those gone before their stat could be read. */
  pids: number[];
  vanished: number;
}

/** The machine's processes, but those in `skip`; null without procfs (only the process group can be reached). */
export function listProcs(skip?: ReadonlySet<number>): Listing | null {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return null;
  }
  const out: Listing = { procs: [], pids: [], vanished: 0 };
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 0x30 || c > 0x39) continue; // not a process
    const pid = Number(name);
    if (skip?.has(pid)) continue;
    out.pids.push(pid);
    const p = readStat(pid);
    if (p) out.procs.push(p);
    else out.vanished++;
  }
  return out;
}

/** /proc/loadavg kept open: every job reads it before it starts, and a read from 0 is a fresh one. */
let loadavg: number | null | undefined;

/** The pid the kernel gave out last in this PID namespace (/proc/loadavg's fifth field), or null. */
export function lastPid(): number | null {
  const end = readLoadavg();
  if (end < 0) return null;
  const pid = Number(buf.toString("latin1", 0, end).trim().split(" ")[4]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Whether the environment the process started with holds every one of `marker`; null if it cannot be read. */
export function hasMarker(pid: number, marker: readonly Buffer[]): boolean | null {
  // A NUL before the first entry, so each is matched whole, as "\0NAME=value\0".
  buf[0] = 0;
  const end = readProc(`/proc/${pid}/environ`, 1, false);
  if (end < 0) return null;
  const env = buf.subarray(0, end);
  const marked = marker.every((m) => env.includes(m));
  // A huge environment is rare: its buffer is not kept for the life of the host.
  if (buf.length > 65536) buf = Buffer.allocUnsafe(4096);
  return marked;
}

function readLoadavg(): number {
  if (loadavg === undefined) {
    try {
      loadavg = openSync("/proc/loadavg", "r");
    } catch {
      loadavg = null;
    }
  }
  if (loadavg === null) return -1;
  try {
    return readSync(loadavg, buf, 0, buf.length, 0);
  } catch {
    // Opened afresh next time: one failed read must not leave every later job without its mark.
    try {
      closeSync(loadavg);
    } catch {
      /* closed already */
    }
    loadavg = undefined;
    return -1;
  }
}
