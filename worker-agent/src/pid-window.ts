/**
 * Whether the kernel gave out any pid since a mark, but to processes this host made itself. A
 * job's processes are all made by the job, each with a new pid, so a job that ran within such a
 * window made none: its end needs no look through /proc for what it left (two full listings,
 * most of a short job's cost on its host). Any other pid given out meanwhile, a thread's
 * included, or a window too long to rule out the pids wrapping, and the look is made as before.
 * A job with CAP_CHECKPOINT_RESTORE (root, outside the sandbox) can pick its children's pids
 * (clone3's set_tid) and so pass unseen; such a job can as well clear its environment and leave
 * its tree between two looks, so outside the sandbox finding every process was already the
 * best that /proc allows against it. In the sandbox its PID namespace ends with the job.
 */
import { lastPid } from "./procfs.js";

export interface PidMark {
  pid: number;
  at: number;
}

/** Pids wrap after at least 32,768; in 10 s no machine makes that many. */
const WINDOW_MAX_MS = 10_000;
const MADE_MAX = 1024;
/** The latest pids this host's own spawns got, oldest first. */
const made = new Set<number>();

/** A process this host made (a job's first process, the one made ahead, the reaper). */
export function noteMade(pid: number | undefined): void {
  if (pid === undefined) return;
  made.add(pid);
  if (made.size > MADE_MAX) made.delete(made.values().next().value!);
}

/** The last pid given out now: take it before the job can run. */
export function markPids(): PidMark | null {
  const pid = lastPid();
  return pid === null ? null : { pid, at: Date.now() };
}

/** True only if every pid given out since `mark` went to a process this host made. */
export function noneMadeSince(mark: PidMark): boolean {
  if (Date.now() - mark.at > WINDOW_MAX_MS) return false;
  const now = lastPid();
  if (now === null || now < mark.pid || now - mark.pid > made.size) return false;
  for (let pid = mark.pid + 1; pid <= now; pid++) if (!made.has(pid)) return false;
  return true;
}
