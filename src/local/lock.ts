/**
 * One `npm start` per state directory. Two control planes on one set of SQLite files would both
 * write them, and the second would overwrite local.json under the CLI of the first. The lock is a
 * file created with O_EXCL that names its holder; a holder that died without removing it (killed
 * with SIGKILL, a crash) is recognised by its pid no longer running, and its lock is taken over.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";

export interface LockInfo {
  pid: number;
  /** Where the holder's control plane listens, once it does. */
  url?: string;
  started_at: string;
}

export type LockResult = { held: false; lock: StateLock } | { held: true; by: LockInfo };

export interface StateLock {
  /** Records where this control plane listens, for the next `npm start` to point at. */
  update(info: Partial<LockInfo>): void;
  release(): void;
}

/** A takeover marker older than this was left by a process that died mid-takeover. */
const MARKER_STALE_MS = 10_000;

export async function acquireStateLock(file: string): Promise<LockResult> {
  const mine: LockInfo = { pid: process.pid, started_at: new Date().toISOString() };
  const deadline = Date.now() + MARKER_STALE_MS + 5_000;
  while (Date.now() < deadline) {
    if (create(file, mine)) return { held: false, lock: lockOf(file, mine) };
    const by = read(file);
    if (by === "gone") continue;
    if (by !== "unreadable" && holds(by.pid)) return { held: true, by };
    if (takeOver(file, by)) continue;
    // Another start is between two steps (writing its lock, or taking over); nothing to wait on but time.
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`cannot take the lock ${file}: it keeps changing`);
}

function lockOf(file: string, mine: LockInfo): StateLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // Only our own lock: never one a later `npm start` took over after we were given up for dead.
    const now = read(file);
    if (typeof now === "object" && now.pid === process.pid) unlinkQuietly(file);
  };
  process.once("exit", release);
  return {
    update(info) {
      Object.assign(mine, info);
      writeFileSync(file, `${JSON.stringify(mine)}\n`);
    },
    release,
  };
}

function create(file: string, info: LockInfo): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, `${JSON.stringify(info)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function read(file: string): LockInfo | "gone" | "unreadable" {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw err;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    return Number.isInteger(info.pid) && info.pid > 0 ? info : "unreadable";
  } catch {
    // Created but not yet written (its holder is between open and write), or damaged.
    return "unreadable";
  }
}

/**
 * Removes a dead holder's lock so the next round can create ours. Two starts may find the same
 * stale lock at once: a marker file, also O_EXCL, lets only one of them remove it, and the lock is
 * read again under the marker so a lock just made by the other is never removed.
 */
function takeOver(file: string, stale: LockInfo | "unreadable"): boolean {
  if (stale === "unreadable" && Date.now() - mtimeOf(file) < MARKER_STALE_MS) return false; // still being written
  const marker = `${file}.takeover`;
  try {
    closeSync(openSync(marker, "wx", 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    if (Date.now() - mtimeOf(marker) > MARKER_STALE_MS) unlinkQuietly(marker);
    return false;
  }
  try {
    const now = read(file);
    const same = stale === "unreadable" ? now === "unreadable" : typeof now === "object" && now.pid === stale.pid && now.started_at === stale.started_at;
    if (same) unlinkQuietly(file);
    return same;
  } finally {
    unlinkQuietly(marker);
  }
}

/**
 * Whether the lock's pid is still an `npm start`. A lock outlives a reboot or a SIGKILL, and its
 * pid may since have gone to another program; where /proc says what a process runs, ask it.
 */
function holds(pid: number): boolean {
  if (pid === process.pid || !alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("start.mjs");
  } catch {
    return true;
  }
}

/** True while a process with this pid exists (EPERM: it does, as another user's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}
