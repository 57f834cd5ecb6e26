/**
 * One attempt of one run on this host: the process, in its own process group, and the
 * uplink its output travels on. Cancel and timeout take the whole group down: SIGTERM,
 * a grace period, then SIGKILL.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { STDERR, STDOUT } from "../../src/protocol/frames.js";
import type { Assign } from "../../src/protocol/host.js";
import type { EndReason } from "../../src/protocol/run.js";
import type { Logger } from "./log.js";
import { signalGroup } from "./process-group.js";
import type { Reaper } from "./reaper.js";
import { Uplink } from "./uplink.js";

export interface AttemptOptions {
  baseUrl: string;
  hostId: string;
  graceMs: number;
  log: Logger;
  /** Kills the job's group if this process dies before it can. */
  reaper: Reaper;
  /** The process is gone: its slot is free again. */
  onExit(): void;
  /** The edge has the end report: forget the attempt. */
  onDone(): void;
}

/** Leftovers holding the job's pipes open after it exited get this long before they are killed. */
const LINGER_MS = 2000;

export class Attempt {
  readonly runId: string;
  readonly attempt: number;
  private child: ChildProcess | null = null;
  private reason: EndReason | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private exited = false;
  private done = false;
  private readonly uplink: Uplink;

  constructor(
    private readonly assign: Assign,
    private readonly opts: AttemptOptions,
  ) {
    this.runId = assign.run_id;
    this.attempt = assign.attempt;
    const url = new URL(`/v1/runs/${assign.run_id}/stream`, opts.baseUrl.replace(/^http/, "ws"));
    this.uplink = new Uplink(url.toString(), assign.token, assign.attempt, { host_id: opts.hostId, pid: null }, {
      cancel: (reason) => this.cancel("cancelled", reason),
      superseded: () => this.abandon(),
      pressure: (paused) => this.setPaused(paused),
      ended: () => this.markDone(),
    }, opts.log);
  }

  /** The process still runs (it holds a slot). */
  get running(): boolean {
    return !this.exited;
  }

  /** Still owed to the edge: the process runs, or its last output and end are not yet stored. */
  get pending(): boolean {
    return !this.done;
  }

  start(): void {
    const { job } = this.assign;
    const env: NodeJS.ProcessEnv = { ...process.env, ...job.env };
    delete env.TETHER_HOST_TOKEN;
    Object.assign(env, {
      TETHER_URL: this.opts.baseUrl,
      TETHER_TOKEN: this.assign.token,
      TETHER_RUN_ID: this.assign.run_id,
      TETHER_ATTEMPT: String(this.assign.attempt),
    });
    // Connecting first: spawn() blocks while it forks, and the socket's handshake can go on meanwhile.
    this.uplink.open();
    let child: ChildProcess;
    try {
      child = spawn(job.argv[0]!, job.argv.slice(1), { detached: true, env, stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
      return this.spawnFailed(err as Error);
    }
    this.child = child;
    this.uplink.setPid(child.pid ?? null);
    if (child.pid) this.opts.reaper.watch(child.pid);
    child.on("error", (err) => {
      if (!child.pid) this.spawnFailed(err);
    });
    if (!child.pid) return; // 'error' follows
    child.stdin!.on("error", () => {}); // a job that ignores its stdin may close it early
    child.stdin!.end(job.stdin ?? "");
    child.stdout!.on("data", (b: Buffer) => this.uplink.push(STDOUT, b));
    child.stderr!.on("data", (b: Buffer) => this.uplink.push(STDERR, b));
    child.on("exit", () => {
      if (this.exited) return;
      this.exited = true;
      this.opts.onExit();
      // Whatever the job left running in its group would hold the pipes open: end it too.
      setTimeout(() => this.killGroup(), LINGER_MS).unref();
      signalGroup(child.pid, "SIGTERM");
    });
    child.on("close", (code, signal) => this.finish(code, signal));
    this.timeoutTimer = setTimeout(() => this.cancel("timed_out", "timeout"), job.timeout_ms);
  }

  /** Idempotent; the first reason wins. */
  cancel(reason: Extract<EndReason, "cancelled" | "timed_out" | "agent_stop">, why: string): void {
    if (this.reason || this.exited || !this.child) return;
    this.reason = reason;
    this.opts.log(`${this.runId}#${this.attempt} ${reason} (${why}): SIGTERM to the process group`);
    signalGroup(this.child.pid, "SIGTERM");
    this.killTimer = setTimeout(() => signalGroup(this.child?.pid, "SIGKILL"), this.opts.graceMs);
  }

  kill(): void {
    if (!this.exited) signalGroup(this.child?.pid, "SIGKILL");
  }

  /** The edge gave this attempt up (lease lost, superseded): stop at once and send nothing more. */
  abandon(): void {
    if (this.done) return;
    this.opts.log(`${this.runId}#${this.attempt} revoked by the control plane: killing the process group`);
    this.killGroup();
    this.uplink.close();
    this.clearTimers();
    if (!this.exited) {
      this.exited = true;
      this.opts.onExit();
    }
    this.markDone();
  }

  /** The group is gone for good after this; the reaper can let it go. */
  private killGroup(): void {
    const pid = this.child?.pid;
    if (!pid) return;
    signalGroup(pid, "SIGKILL");
    this.opts.reaper.forget(pid);
  }

  private markDone(): void {
    if (this.done) return;
    this.done = true;
    this.opts.onDone();
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.clearTimers();
    this.uplink.end({ reason: this.reason ?? "exit", exit_code: code, signal, error: null });
  }

  private spawnFailed(err: Error): void {
    if (this.exited) return;
    this.exited = true;
    this.clearTimers();
    this.opts.onExit();
    this.uplink.open();
    this.uplink.end({ reason: "spawn_failed", exit_code: null, signal: null, error: `could not start ${this.assign.job.argv[0]}: ${err.message}`.slice(0, 4000) });
  }

  private setPaused(paused: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const s of [c.stdout, c.stderr]) {
      if (paused) s?.pause();
      else s?.resume();
    }
  }

  private clearTimers(): void {
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
  }
}
