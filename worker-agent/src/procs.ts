/**
 * Finding every process of a job, whatever it did to get away: its tree (by parent), its
 * session and group, and, without a sandbox, anything carrying its TETHER_RUN_ID and
 * TETHER_ATTEMPT in the environment it was started with (a setsid or double fork reparents a
 * process to init and leaves the session, but its environment goes with it). Node cannot be a
 * child subreaper and /sys/fs/cgroup is often not ours to write, so /proc is what there is.
 * A job that both clears its environment and leaves its tree between two looks can still get
 * away; in the sandbox nothing can (the PID namespace ends with its first process).
 */
import { signalGroup } from "./process-group.js";
import { noneMadeSince, type PidMark } from "./pid-window.js";
import { hasMarker, listProcs, readStat, type Listing, type Proc } from "./procfs.js";

/**
 * Once the root is reaped, a look that finds nothing of the job alive is the last one needed:
 * only a live process of the job can start another. In the sandbox the kernel sees to that (the
 * PID namespace went with bwrap). Outside it, a second listing of /proc follows the look: what
 * was alive when it was made was either in the first, and read alive by the look, or is new, and
 * is read then. So the look is the last if nothing that may be the job's went unread: a new
 * process gone or a zombie by its read (it may have forked first), an environment not ours to
 * read. (A process forked while /proc is being listed may be missed by that listing, as by any.)
 */
export class Containment {
  private root = 0;
  private rootStart = 0;
  /** Nothing of the job is left, nor can be: no more looks. */
  private over = false;
  private readonly marker: Buffer[];
  /** The last pid given out before the job could run (see pid-window.ts). */
  private mark: PidMark | null = null;

  /**
   * @param sandboxed the root is bwrap: everything of the job is in its tree (orphans are
   *   reparented to the namespace's init, itself a child of the root).
   * @param marker `NAME=value` entries only this attempt's processes have in their environment.
   */
  constructor(
    readonly sandboxed: boolean,
    marker: string[],
  ) {
    this.marker = marker.map((m) => Buffer.from(`\0${m}\0`, "latin1"));
  }

  /** Call before the job can run: a job that makes no process then needs no look at its end. */
  markStart(mark: PidMark | null): void {
    this.mark = mark;
  }

  attach(pid: number): void {
    this.root = pid;
    this.rootStart = readStat(pid)?.start ?? 0;
  }

  /** After the last kill: the root's pid may be reused by someone else's process from now on. */
  detach(): void {
    this.root = 0;
  }

  /** The job's processes, zombies too; `thorough` also looks for runaways by their environment (slower). */
  members(thorough = false): Proc[] {
    if (!this.root || this.over) return [];
    if (thorough && this.madeNothing()) {
      this.over = true;
      return [];
    }
    const list = listProcs();
    if (!list) return [];
    const { found, unsure } = this.find(list.procs, thorough, false);
    if (this.rootStart && found.every((p) => p.zombie) && (this.sandboxed || (thorough && !unsure && this.confirm(list)))) this.over = true;
    return found;
  }

  /** The root has exited, and no pid was given out since the mark but to this host's own processes. */
  private madeNothing(): boolean {
    if (!this.mark || this.sandboxed) return false;
    const root = readStat(this.root);
    if (root && root.start === this.rootStart && !root.zombie) return false;
    return noneMadeSince(this.mark);
  }

  /** A thorough look found nothing alive: whether it was the last one needed (see the class). */
  private confirm(first: Listing): boolean {
    const again = listProcs(new Set(first.pids));
    if (!again || again.vanished) return false;
    const { found, unsure } = this.find(again.procs, true, true);
    return !found.length && !unsure;
  }

  /**
   * The job's processes in `all`, and how many others may be the job's but could not be read:
   * their environment, or, if `strict`, a zombie's (gone with it).
   */
  private find(all: Proc[], thorough: boolean, strict: boolean): { found: Proc[]; unsure: number } {
    const children = new Map<number, Proc[]>();
    for (const p of all) {
      const siblings = children.get(p.ppid);
      if (siblings) siblings.push(p);
      else children.set(p.ppid, [p]);
    }
    const found = new Map<number, Proc>();
    const visit = (p: Proc) => {
      if (found.has(p.pid) || p.pid === process.pid) return;
      found.set(p.pid, p);
      for (const c of children.get(p.pid) ?? []) visit(c);
    };
    // Nothing started before the job is the job's; the root is known by its start too, since once
    // reaped its pid may be someone else's.
    const mayBeOurs = (p: Proc) => p.start >= this.rootStart && !p.kernel && p.pid !== process.pid && p.pid !== process.ppid;
    for (const p of all) {
      if (!mayBeOurs(p)) continue;
      if ((p.pid === this.root && p.start === this.rootStart) || (!this.sandboxed && (p.session === this.root || p.pgrp === this.root))) visit(p);
    }
    let unsure = 0;
    if (thorough && !this.sandboxed) {
      for (const p of all) {
        // This process's children are the roots of jobs, not this job's: no process can make
        // itself one, unless this process is a PID namespace's init (a container's), heir to orphans.
        if (found.has(p.pid) || !mayBeOurs(p) || (p.ppid === process.pid && process.pid !== 1)) continue;
        if (p.zombie) {
          if (strict) unsure++;
          continue;
        }
        const marked = hasMarker(p.pid, this.marker);
        if (marked) visit(p);
        else if (marked === null) unsure++;
      }
    }
    return { found: [...found.values()], unsure };
  }

  /**
   * SIGTERM goes to the job's processes but, in the sandbox, not to bwrap: bwrap would die of
   * it and take the job down with SIGKILL, leaving it no grace. SIGKILL goes everywhere, a few
   * rounds, so what forked meanwhile goes too.
   */
  signal(sig: NodeJS.Signals): void {
    const rounds = sig === "SIGKILL" ? 4 : 1;
    for (let i = 0; i < rounds && this.root; i++) {
      const found = this.members(true);
      // Nothing of the job is left, its group included, whose id is free for another from now on.
      if (this.over) return;
      if (this.sandboxed ? sig === "SIGKILL" : i === 0) signalGroup(this.root, sig);
      // A zombie takes no signal: counted live, it only made for more rounds.
      const targets = found.filter((p) => !p.zombie && (sig === "SIGKILL" || !this.sandboxed || p.pid !== this.root));
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
