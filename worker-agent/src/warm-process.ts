/**
 * One process made ahead of the job that will become it. Forking tether-agent costs a few
 * milliseconds, more the larger it is, and bubblewrap's namespaces and mounts more again: most
 * of a job's start. A host keeps one made, a shell (in the sandbox, if jobs run in one) in a
 * directory of its own, waiting for the command on its stdin, the script it reads. A job takes
 * it, and the next is made after: the job starts as soon as the shell execs its command. Only
 * the command arrives late; the rest is what every job on the host gets (its policy).
 */
import type { ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { spawnWithOutput, type PipeMaker } from "./job-pipes.js";
import type { Logger } from "./log.js";
import type { Policy } from "./policy.js";
import { bwrapArgs } from "./sandbox.js";
import { noteMade } from "./pid-window.js";
import { createWorkdir, type Workdir } from "./workdir.js";

/**
 * The shell reads its script from stdin, in large reads and with no process of its own: reading
 * the command with `$(cat)` forked and exec'd cat on the job's path (0.4 ms of a 2.8 ms start).
 * The job's stdin waits on fd 3.
 */
export const WARM_SHELL_ARGS = ["-s"];

/**
 * The one line the waiting shell reads: fd 3 becomes the job's stdin, then the shell becomes
 * the job. The shell parses a whole line before it runs any of it, so nothing after the line is
 * read from the old stdin, however the line arrives.
 */
export function warmScript(path: string, args: string[], env: Record<string, string>): string {
  return `exec 0<&3 3<&-; ${becomeJob(path, args, env)}\n`;
}

export interface Warm {
  child: ChildProcess;
  /** The job's stdin, once it runs (the child's own is the shell's script). */
  stdin: Writable;
  /** The job's output, once it runs. */
  stdout: Readable;
  stderr: Readable;
  workdir: Workdir;
  /** Hands the job's program, arguments and whole environment to the waiting shell. */
  start(path: string, args: string[], env: Record<string, string>): void;
  /** Not used after all: the sandbox goes, its directory stays for the caller. */
  discard(): void;
}

/**
 * When the next process is made after a job takes one. Its fork is about a millisecond in
 * which this process does nothing else, so it must not fall on the job's end report nor on the
 * next assignment. Made 1 ms after the take, it fell on the end of a job that is over at once
 * (a `true` sent its end 1–2 ms later); made 5 ms after, on the next job's assignment (dispatch
 * p50 3.7–4.5 ms against 3.2–3.6). It is made once the job that took one has sent its end, when
 * the edge has a commit and the client a round trip to make before the next job can come, or
 * this long after the take, for a job still running.
 */
const MAKE_AFTER_MS = 10;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A name the shell can export; any other goes through env, which takes any name. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * What the waiting shell runs to become the job with exactly `env`. Exporting in the shell and
 * exec'ing the program saves the exec of env (a fifth of the job's start), once the shell's own
 * PATH and PWD are gone; env -i stays for a name the shell could not export, or a program
 * that would need a PATH lookup.
 */
export function becomeJob(path: string, args: string[], env: Record<string, string>): string {
  const assignments = Object.entries(env).map(([k, v]) => quote(`${k}=${v}`));
  const command = [quote(path), ...args.map(quote)].join(" ");
  if (!path.startsWith("/") || !Object.keys(env).every((k) => SHELL_NAME.test(k))) return `exec /usr/bin/env -i ${assignments.join(" ")} ${command}`;
  return `unset PATH PWD; ${assignments.length ? `export ${assignments.join(" ")}; ` : ""}exec ${command}`;
}

/** The waiting shell as the host runs it: `bwrap` set, inside the sandbox; otherwise as it is. */
export interface WarmShape {
  bwrap: string | null;
  policy: Policy;
  workRoot: string;
  pipes?: PipeMaker | null;
}

/** A command the shell could not be handed as it is: the exec would cut it at a NUL byte. */
export function unfitForWarm(path: string, args: string[], env: Record<string, string>): boolean {
  return [path, ...args, ...Object.keys(env), ...Object.values(env)].some((s) => s.includes("\0"));
}

export class WarmProcess {
  private ready: Warm | null = null;
  private made = 0;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly shape: WarmShape,
    private readonly log: Logger,
  ) {}

  /**
   * The sandbox made ahead, if it is still alive; the next is made a moment later, unless more
   * runs wait behind this job (`moreQueued`). Then the next job comes as soon as a slot frees and
   * would start no sooner from a process made ahead, which costs one exec more per job (a fifth
   * of the machine's work for a short job) and, with every core busy, slows all of them. The next
   * is made once an assignment comes with none waiting behind it.
   */
  take(moreQueued = false): Warm | null {
    const warm = this.ready;
    this.ready = null;
    if (moreQueued) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    } else this.timer ??= setTimeout(() => this.make(), MAKE_AFTER_MS);
    if (!warm || warm.child.exitCode !== null || warm.child.signalCode !== null) {
      if (warm) drop(warm);
      return null;
    }
    warm.child.removeAllListeners("exit");
    return warm;
  }

  /** A job has sent its end: the next is made now, if one is due, once the end is on its way. */
  afterEnd(): void {
    if (this.timer) setImmediate(() => this.make());
  }

  make(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.closed || this.ready) return;
    let workdir: Workdir;
    const { bwrap, policy, workRoot } = this.shape;
    try {
      workdir = createWorkdir(workRoot, "warm", ++this.made);
    } catch (err) {
      return this.log(`no directory for a process made ahead: ${(err as Error).message}`);
    }
    const [command, args] = bwrap ? [bwrap, bwrapArgs({ policy, workdir: workdir.dir, command: "/bin/sh", args: WARM_SHELL_ARGS })] : ["/bin/sh", WARM_SHELL_ARGS];
    let child: ChildProcess;
    let output: [Readable, Readable];
    try {
      // Its stdin is the script; fd 3 waits to be the job's stdin.
      ({ child, output } = spawnWithOutput(this.shape.pipes?.take() ?? null, command, args, { detached: true, env: { PATH: "/usr/bin:/bin" }, cwd: workdir.dir }, "pipe", ["pipe"]));
    } catch (err) {
      workdir.remove();
      return this.log(`could not make a process ahead: ${(err as Error).message}`);
    }
    noteMade(child.pid);
    child.on("error", () => undefined);
    child.stdin!.on("error", () => undefined);
    const warm: Warm = {
      child,
      stdin: child.stdio[3] as Writable,
      stdout: output[0],
      stderr: output[1],
      workdir,
      start(path, args, env) {
        child.stdin!.end(warmScript(path, args, env));
      },
      discard() {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* gone */
        }
      },
    };
    child.once("exit", () => {
      if (this.ready === warm) this.ready = null;
      drop(warm);
    });
    this.ready = warm;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Its directory goes now, not when its exit is heard: the host may be gone by then.
    this.ready?.discard();
    try {
      if (this.ready) drop(this.ready);
    } catch {
      /* what is left, the next host on this directory sweeps */
    }
    this.ready = null;
  }
}

/** A process made ahead that no job took: its output ends (never read, they would stay open) and its directory go. */
function drop(warm: Warm): void {
  warm.stdout.destroy();
  warm.stderr.destroy();
  warm.workdir.remove();
}
