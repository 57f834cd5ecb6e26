/**
 * One sandbox made ahead of the job that will use it. Making bubblewrap's namespaces and mounts
 * takes several milliseconds, most of a job's start; a host whose jobs run sandboxed keeps one
 * made, with its directory bound at /job and a shell that waits on fd 3 for the command. A job
 * takes it, and the next is made after: the job starts as soon as the shell execs its command.
 * Only the command arrives late; the sandbox is the one every job gets (the host's policy).
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Writable } from "node:stream";
import type { Logger } from "./log.js";
import type { Policy } from "./policy.js";
import { bwrapArgs } from "./sandbox.js";
import { createWorkdir, type Workdir } from "./workdir.js";

/** Reads the command from fd 3 to its end, closes it, and becomes the job. */
const STUB = 'cmd=$(cat <&3) && exec 3<&- && eval "$cmd"';

export interface Warm {
  child: ChildProcess;
  workdir: Workdir;
  /** Hands the job's program, arguments and whole environment to the waiting shell. */
  start(path: string, args: string[], env: Record<string, string>): void;
  /** Not used after all: the sandbox goes, its directory stays for the caller. */
  discard(): void;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class WarmSandbox {
  private ready: Warm | null = null;
  private made = 0;
  private closed = false;

  constructor(
    private readonly bwrap: string,
    private readonly policy: Policy,
    private readonly workRoot: string,
    private readonly log: Logger,
  ) {}

  /** The sandbox made ahead, if it is still alive; the next is made once this turn is done. */
  take(): Warm | null {
    const warm = this.ready;
    this.ready = null;
    setImmediate(() => this.make());
    if (!warm || warm.child.exitCode !== null || warm.child.signalCode !== null) {
      if (warm) warm.workdir.remove();
      return null;
    }
    warm.child.removeAllListeners("exit");
    return warm;
  }

  make(): void {
    if (this.closed || this.ready) return;
    let workdir: Workdir;
    try {
      workdir = createWorkdir(this.workRoot, "sandbox", ++this.made);
    } catch (err) {
      return this.log(`no directory for a sandbox made ahead: ${(err as Error).message}`);
    }
    const child = spawn(this.bwrap, bwrapArgs({ policy: this.policy, workdir: workdir.dir, command: "/bin/sh", args: ["-c", STUB] }), {
      detached: true,
      env: { PATH: "/usr/bin:/bin" },
      cwd: workdir.dir,
      stdio: ["pipe", "pipe", "pipe", "pipe"],
    });
    child.on("error", () => undefined);
    const warm: Warm = {
      child,
      workdir,
      start(path, args, env) {
        // env -i: the job's environment is exactly the one given, nothing of the shell's.
        const assignments = Object.entries(env).map(([k, v]) => quote(`${k}=${v}`));
        const fd3 = child.stdio[3] as Writable;
        fd3.on("error", () => undefined);
        fd3.end(`exec /usr/bin/env -i ${assignments.join(" ")} ${quote(path)} ${args.map(quote).join(" ")}`);
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
      workdir.remove();
    });
    this.ready = warm;
  }

  close(): void {
    this.closed = true;
    this.ready?.discard();
    this.ready = null;
  }
}
