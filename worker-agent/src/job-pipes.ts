/**
 * A job's stdout and stderr are pipes, as a shell gives them. Node's own for a child are socket
 * pairs, which a program cannot open by name: `echo x > /dev/stderr`, `tee /dev/stdout` and any
 * tool told to log to /dev/stderr failed with "No such device or address". Node has no call for
 * an anonymous pipe, so each is a named one (a FIFO): made by `mkfifo` many at a time, in a
 * directory of the host's own that no sandbox shows, opened at both ends and unlinked at once.
 * What a host keeps ready is open descriptors, never a name another process could open later.
 * The directory is in memory where the machine has such a place: on a journalled disk, making,
 * unlinking and last closing a FIFO cost the machine 0.6 ms a job (a third of a short job's start).
 *
 * A job's stdin is never a FIFO: one read again through /dev/stdin after its writer closed would
 * wait for a writer for ever, where a pipe gives what is left and the end. Stdin given whole is a
 * file (stdinFile); live input stays Node's socket.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions, type StdioNull, type StdioPipe } from "node:child_process";
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { Logger } from "./log.js";
import { prepareWorkRoot, sweepStale } from "./workdir.js";

/**
 * Where this host makes its FIFOs: a private directory in the user's runtime directory or
 * /dev/shm (memory), else the work root. What a host killed before it could remove its own
 * left there is swept, as in the work root.
 */
export function pipeRoot(workRoot: string, env: NodeJS.ProcessEnv, log: Logger): string {
  const uid = process.getuid?.() ?? "user";
  for (const base of [env.XDG_RUNTIME_DIR, "/dev/shm"]) {
    if (!base || !existsSync(base)) continue;
    try {
      const root = prepareWorkRoot(join(base, `tether-agent-${uid}`));
      sweepStale(root);
      return root;
    } catch (err) {
      log(`no directory for jobs' pipes in ${base}: ${(err as Error).message}`);
    }
  }
  return workRoot;
}

/** A pipe with its reading end here and its writing end for the job. */
export interface OutputPipe {
  /** This process's end; the job's output comes out of it. */
  read: number;
  /** The job's end, given to it as stdout or stderr. */
  write: number;
}

/** FIFOs made per `mkfifo`: one fork of this process for this many jobs' output (two each). */
const BATCH = 64;
/** Fewer than this left: the next batch is made, off the path of any job. */
const LOW = 32;
/** After a batch that could not be made (out of descriptors, say), jobs get socket pairs this long before the next try; doubled up to the most. */
const RETRY_FIRST_MS = 1000;
const RETRY_MOST_MS = 60_000;

export class PipeMaker {
  private readonly ready: OutputPipe[] = [];
  /** Where the FIFOs are made; null once closed, or where none can be made. */
  private dir: string | null;
  private made = 0;
  /** The batch being made, off the path of any job. */
  private refilling: Promise<void> | null = null;
  /** Set while batches fail: no batch is tried before `at`, so a job does not pay a failing fork each. */
  private failing: { at: number; waitMs: number } | null = null;

  constructor(
    root: string,
    private readonly log: Logger,
  ) {
    // Named after this process, so a host that dies leaves it for the next to sweep (workdir.ts).
    this.dir = mkdtempSync(join(root, `${process.pid}-pipes-`));
    this.makeNow();
    if (!this.ready.length) this.disable("mkfifo could not make pipes here");
  }

  /** Whether jobs get pipes from it: false once closed or where none can be made at all. */
  get enabled(): boolean {
    return this.dir !== null;
  }

  /**
   * The job's stdout and stderr pipes; null where none can be made now (the job gets socket
   * pairs). A batch that fails once the first has been made is a passing shortage: they are
   * tried again a while later, and the host says when jobs have pipes again.
   */
  take(): [OutputPipe, OutputPipe] | null {
    if (!this.dir) return null;
    const due = !this.failing || Date.now() >= this.failing.at;
    // More jobs at once than a batch keeps ready: this one waits for the next batch.
    if (this.ready.length < 2 && due) this.makeNow();
    if (this.ready.length < 2) {
      if (due) this.backOff();
      return null;
    }
    if (this.failing) {
      this.failing = null;
      this.log("mkfifo works again: jobs get pipes for stdout and stderr");
    }
    const pair: [OutputPipe, OutputPipe] = [this.ready.pop()!, this.ready.pop()!];
    if (this.ready.length < LOW) this.refill();
    return pair;
  }

  private backOff(): void {
    if (!this.failing) this.log("mkfifo failed: jobs get socket pairs for stdout and stderr, which /dev/stdout and /dev/stderr cannot open, until it works again");
    const waitMs = this.failing ? Math.min(this.failing.waitMs * 2, RETRY_MOST_MS) : RETRY_FIRST_MS;
    this.failing = { at: Date.now() + waitMs, waitMs };
  }

  /** A name no file has in this host's private directory, for a file that is unlinked once open. */
  scratchName(): string | null {
    return this.dir && join(this.dir, `in-${++this.made}`);
  }

  /** At the host's end: every pipe kept ready is closed and the directory goes. */
  close(): void {
    this.disable(null);
  }

  private makeNow(): void {
    const names = this.batch();
    this.fill(names, spawnSync("mkfifo", ["-m", "600", ...names], { stdio: "ignore" }).status === 0);
  }

  /** Settles once no batch is being made: then no name is left in the directory. */
  idle(): Promise<void> {
    return this.refilling ?? Promise.resolve();
  }

  private refill(): void {
    if (this.refilling) return;
    const names = this.batch();
    this.refilling = new Promise((resolve) => {
      const child = spawn("mkfifo", ["-m", "600", ...names], { stdio: "ignore" });
      child.on("error", () => undefined);
      child.on("close", (code) => {
        this.refilling = null;
        this.fill(names, code === 0);
        resolve();
      });
    });
  }

  private batch(): string[] {
    return Array.from({ length: BATCH }, () => join(this.dir!, String(++this.made)));
  }

  /**
   * Opens both ends of each FIFO made and unlinks it. The reading end first and without blocking,
   * so the writing end opens at once; the job's end stays blocking, as a pipe's is.
   */
  private fill(names: string[], made: boolean): void {
    if (made && this.dir) {
      for (const name of names) {
        let read: number | null = null;
        try {
          read = openSync(name, constants.O_RDONLY | constants.O_NONBLOCK);
          this.ready.push({ read, write: openSync(name, constants.O_WRONLY) });
        } catch (err) {
          if (read !== null) closeSync(read);
          this.log(`a pipe for job output could not be opened: ${(err as Error).message}`);
        }
      }
    }
    unlinkAll(names);
  }

  /** No more FIFOs: `why` says so where jobs are the worse for it. */
  private disable(why: string | null): void {
    if (!this.dir) return;
    if (why) this.log(`${why}: jobs get socket pairs for stdout and stderr, which /dev/stdout and /dev/stderr cannot open`);
    for (const p of this.ready.splice(0)) closeBoth(p);
    rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/**
 * A job's stdin given whole at submit, as a file the job reads as `cmd < file` would: opened,
 * its name gone at once. Unlike a socket it can be opened again as /dev/stdin, from its start.
 * Null where the host has nowhere to put it (the job gets a socket, as before).
 */
export function stdinFile(maker: PipeMaker | null | undefined, data: string): number | null {
  const path = maker?.scratchName();
  if (!path) return null;
  let write: number | null = null;
  try {
    write = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    writeFileSync(write, data);
    return openSync(path, constants.O_RDONLY);
  } catch {
    return null;
  } finally {
    if (write !== null) closeSync(write);
    unlinkAll([path]);
  }
}

/**
 * Spawns with these pipes as stdout and stderr (Node's socket pairs where there are none), the
 * rest of stdio as given around them. The writing ends are the child's alone once it has them:
 * ours would keep its output open after it ends. A spawn that throws closes the pipes.
 */
export function spawnWithOutput(
  pipes: [OutputPipe, OutputPipe] | null,
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, "stdio">,
  stdin: StdioNull | StdioPipe | number,
  extra: (StdioNull | StdioPipe)[] = [],
): { child: ChildProcess; output: [Readable, Readable] } {
  let child: ChildProcess;
  try {
    child = spawn(command, args, { ...options, stdio: [stdin, pipes?.[0].write ?? "pipe", pipes?.[1].write ?? "pipe", ...extra] });
  } catch (err) {
    pipes?.forEach(closeBoth);
    throw err;
  }
  if (!pipes) return { child, output: [child.stdout!, child.stderr!] };
  for (const p of pipes) closeSync(p.write);
  return { child, output: [readEnd(pipes[0]), readEnd(pipes[1])] };
}

/** The reading end as a stream: Node reads a pipe as it reads a socket, without a thread. */
export function readEnd(p: OutputPipe): Readable {
  // A read that fails ends that output early; the job still ends as it does.
  return new Socket({ fd: p.read, readable: true, writable: false }).on("error", () => undefined);
}

export function closeBoth(p: OutputPipe): void {
  for (const fd of [p.read, p.write]) {
    try {
      closeSync(fd);
    } catch {
      /* closed already */
    }
  }
}

function unlinkAll(names: string[]): void {
  for (const name of names) {
    try {
      unlinkSync(name);
    } catch {
      /* never made, or gone */
    }
  }
}
