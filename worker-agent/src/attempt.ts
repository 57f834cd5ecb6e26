/**
 * One attempt of one run on this host: the process, in its own process group, and the
 * uplink its output travels on. Cancel and timeout take the whole group down: SIGTERM,
 * a grace period, then SIGKILL.
 */
import type { ChildProcess } from "node:child_process";
import { closeSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { STDERR, STDOUT } from "../../src/protocol/frames.js";
import type { Assign, HostFinished } from "../../src/protocol/host.js";
import type { StreamEnd } from "../../src/protocol/stream.js";
import { LIMITS } from "../../src/protocol/limits.js";
import type { EndReason } from "../../src/protocol/run.js";
import { ClaudeStream } from "./claude-stream.js";
import { readResult } from "./job-data.js";
import { spawnWithOutput } from "./job-pipes.js";
import { jobEnded, outputPipes, planLaunch, stdinFd, type JobGuard, type Launch } from "./launch.js";
import type { Logger } from "./log.js";
import { markPids, noteMade } from "./pid-window.js";
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
  /** The host's own credential, as it stands now: the output stream is opened with it, never with the job's token. */
  credential(): string;
  /** Whether the edge takes an end on the control socket now (protocol 3); sends it there. False: it was not sent. */
  finishOnControl(msg: HostFinished): boolean;
}

/** Leftovers holding the job's pipes open after it exited get this long before they are killed. */
const LINGER_MS = 2000;
/**
 * A job still running this long after its start gets its output stream, so watchers hear of its
 * start; one that ends before needs none, and its end goes on the control socket. Its first output
 * waits at most OUTPUT_HOLD_MS for the end to go with it: a moment of a live line's latency, once.
 */
const SILENT_STREAM_MS = 250;
const OUTPUT_HOLD_MS = 20;
/** An end report larger than this (a big result) goes on the output stream, not the control socket. */
const CONTROL_END_BYTES = 32 * 1024;

export class Attempt {
  readonly runId: string;
  readonly attempt: number;
  private child: ChildProcess | null = null;
  /** The job's stdin: the child's own, or the one a process made ahead kept for it. */
  private stdin: Writable | null = null;
  /** Its stdout and stderr, as this process reads them. */
  private output: Readable[] = [];
  /** The host policy's hold on the job: its processes, limits, output filter, directory. */
  private guard: JobGuard | null = null;
  /** Which policy limit ended the job, for the end report. */
  private limitError: string | null = null;
  private resultFile: string | null = null;
  private claude: ClaudeStream | null = null;
  /** The last live input written to the process's stdin. */
  private inputSeq = 0;
  private reason: EndReason | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private exited = false;
  private done = false;
  private readonly uplink: Uplink;
  private streamTimer: NodeJS.Timeout | null = null;
  /** Output came while the stream was not open: it opens soon, unless the end comes first. */
  private outputHeld = false;
  /** The end sent on the control socket, until the edge answers it: sent again after a reconnect. */
  private controlEnd: HostFinished | null = null;

  constructor(
    private readonly assign: Assign,
    private readonly opts: AttemptOptions,
  ) {
    this.runId = assign.run_id;
    this.attempt = assign.attempt;
    const url = new URL(`/v1/runs/${assign.run_id}/stream?attempt=${assign.attempt}`, opts.baseUrl.replace(/^http/, "ws"));
    this.uplink = new Uplink(url.toString(), () => opts.credential(), assign.attempt, { pid: null }, {
      superseded: () => this.abandon(),
      input: (seq, data, eof) => this.input(seq, data, eof),
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
    const plan = planLaunch(this.assign, this.opts.baseUrl, this.opts.log);
    if (!plan.ok) return this.spawnFailed(new Error(plan.error));
    // Live input and a runner's events travel on the output stream: such a job has it from the start.
    if (typeof job.stdin === "object" || job.runner === "claude") this.uplink.open();
    const { launch } = plan;
    this.resultFile = launch.resultFile;
    const guard = launch.guard;
    this.guard = guard;
    let child: ChildProcess;
    let stdin: Writable | null;
    let output: [Readable, Readable];
    try {
      guard.contain.markStart(markPids());
      if (launch.warm) {
        child = launch.warm.child;
        stdin = launch.warm.stdin;
        output = [launch.warm.stdout, launch.warm.stderr];
        launch.warm.start(launch.command, launch.args, launch.env);
      } else {
        ({ child, output } = spawnJob(launch, job.stdin));
        noteMade(child.pid);
        stdin = child.stdin;
      }
    } catch (err) {
      return this.spawnFailed(err as Error);
    }
    this.child = child;
    this.stdin = stdin;
    this.output = output;
    if (child.pid) guard.attach(child.pid, (error) => this.limit(error));
    this.uplink.setPid(child.pid ?? null);
    if (child.pid) this.opts.reaper.watch(child.pid);
    child.on("error", (err) => {
      if (!child.pid) this.spawnFailed(err);
    });
    if (!child.pid) {
      for (const o of output) o.destroy();
      return; // 'error' follows
    }
    stdin?.on("error", () => {}); // a job that ignores its stdin may close it early
    // A pipe stays open for live input; anything else is all the stdin there is.
    if (typeof job.stdin === "string" && job.stdin) stdin?.end(job.stdin);
    else if (typeof job.stdin !== "object") stdin?.end();
    // A runner's output is read as it goes by, for its events and its result.
    if (job.runner === "claude") this.claude = new ClaudeStream((e) => this.uplink.event(e));
    const push = (stream: typeof STDOUT | typeof STDERR, b: Buffer) => {
      if (stream === STDOUT) this.claude?.feed(b);
      this.uplink.push(stream, b);
      if (this.uplink.opened) return;
      // More than can go with the end on the control socket: it streams from now on.
      if (this.uplink.unackedBytes > LIMITS.controlOutputBytes) return this.openStream();
      if (!this.outputHeld) {
        this.outputHeld = true;
        this.openStreamIn(OUTPUT_HOLD_MS);
      }
    };
    this.openStreamIn(SILENT_STREAM_MS);
    output[0].on("data", guard.output(STDOUT, push));
    output[1].on("data", guard.output(STDERR, push));
    child.on("exit", () => {
      if (this.exited) return;
      this.exited = true;
      this.opts.onExit();
      // Whatever the job left running in its group would hold the pipes open: end it too.
      setTimeout(() => this.killGroup(), LINGER_MS).unref();
      guard.signal("SIGTERM");
    });
    // The end once the process is gone and both its outputs are read to their end.
    let left = 3;
    let status: [number | null, NodeJS.Signals | null] = [null, null];
    const closed = () => --left === 0 && this.finish(...status);
    child.once("exit", (code, signal) => ((status = [code, signal]), closed()));
    for (const o of output) o.once("close", closed);
    const wall = guard.wallTime(job.timeout_ms);
    this.timeoutTimer = setTimeout(() => {
      if (!this.reason) this.limitError = wall.error;
      this.cancel("timed_out", wall.error ?? "timeout");
    }, wall.ms);
  }

  private openStreamIn(ms: number): void {
    if (this.streamTimer) clearTimeout(this.streamTimer);
    this.streamTimer = setTimeout(() => this.openStream(), ms);
  }

  private openStream(): void {
    if (this.streamTimer) clearTimeout(this.streamTimer);
    this.uplink.open();
  }

  /** Live input: each delivery written once, in order, however often the edge sends it. */
  private input(seq: number, data: Buffer, eof: boolean): void {
    const stdin = this.stdin;
    if (seq <= this.inputSeq) return this.uplink.inputAck(this.inputSeq);
    if (seq !== this.inputSeq + 1 || !stdin || stdin.writableEnded) return;
    this.inputSeq = seq;
    stdin.write(data, () => this.uplink.inputAck(seq));
    if (eof) stdin.end();
  }

  /** Stopped by this host when it lost the control plane (see Host's fence). */
  get fenced(): boolean {
    return this.reason === "fenced";
  }

  /** Idempotent; the first reason wins. */
  cancel(reason: Extract<EndReason, "cancelled" | "timed_out" | "agent_stop" | "fenced">, why: string, graceMs = this.opts.graceMs): void {
    if (this.reason || this.exited || !this.child) return;
    this.reason = reason;
    this.opts.log(`${this.runId}#${this.attempt} ${reason} (${why}): SIGTERM to the process group`);
    this.guard?.signal("SIGTERM");
    this.killTimer = setTimeout(() => this.guard?.signal("SIGKILL"), graceMs);
  }

  kill(): void {
    if (!this.exited) this.guard?.signal("SIGKILL");
  }

  /** A limit of the host policy was passed: the job ends now, and its end report says which. */
  private limit(error: string): void {
    if (this.reason || this.exited || this.limitError) return;
    this.limitError = error;
    this.opts.log(`${this.runId}#${this.attempt} ${error}: killing the job`);
    this.guard?.signal("SIGKILL");
  }

  /**
   * The lease is gone (lost, timed out at the edge): the process group dies now, and what it
   * wrote is still delivered, so no byte is lost; the edge only acknowledges its end.
   */
  revoke(why: string): void {
    if (this.exited) return;
    this.opts.log(`${this.runId}#${this.attempt} revoked by the control plane (${why}): killing the process group`);
    this.reason ??= "cancelled";
    this.guard?.signal("SIGKILL");
  }

  /** This host may not stream the attempt at all: stop at once and send nothing more. */
  abandon(): void {
    if (this.done) return;
    this.opts.log(`${this.runId}#${this.attempt} revoked by the control plane: killing the process group`);
    this.killGroup();
    this.guard?.dispose();
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
    this.guard?.signal("SIGKILL");
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
    // The result before the directory goes; held-back output first, and nothing of the job left running.
    const result = this.claude ? this.claude.finish() : this.resultFile ? readResult(this.resultFile) : { result: null, result_error: null };
    this.guard?.finish();
    this.report({ reason: this.reason ?? "exit", exit_code: code, signal, error: this.limitError, ...result });
    this.guard?.dispose();
    jobEnded();
  }

  /**
   * The end report: on the output stream if it was opened (it follows the last chunk there), else
   * on the control socket where the edge takes it, else on a stream opened for it now.
   */
  private report(end: Omit<StreamEnd, "type" | "last_seq">): void {
    if (this.streamTimer) clearTimeout(this.streamTimer);
    if (!this.uplink.opened) {
      const output = this.uplink.unsent().map((o) => ({ stream: o.stream, data: o.data.toString("base64") }));
      const msg: HostFinished = { type: "finished", run_id: this.runId, attempt: this.attempt, pid: this.child?.pid ?? null, ...end, output };
      if (JSON.stringify(msg).length <= CONTROL_END_BYTES && this.opts.finishOnControl(msg)) {
        this.controlEnd = msg;
        return;
      }
    }
    this.uplink.open();
    this.uplink.end(end);
  }

  /**
   * The control socket is back: an end sent on it and not answered goes again, or, if the edge no
   * longer takes ends there, on the output stream.
   */
  resendEnd(): void {
    const msg = this.controlEnd;
    if (!msg || this.done) return;
    if (!this.opts.finishOnControl(msg)) this.streamEnd();
  }

  /** The edge has the end sent on the control socket, or (`stream`) wants it on the output stream. */
  finishedAcked(stream: boolean): void {
    if (!this.controlEnd) return;
    if (stream) return this.streamEnd();
    this.uplink.close();
    this.markDone();
  }

  /** The end sent on the control socket goes on the output stream instead, behind the output it held. */
  private streamEnd(): void {
    const { type: _t, run_id: _r, attempt: _a, pid: _p, output: _o, ...end } = this.controlEnd!;
    this.controlEnd = null;
    this.uplink.open();
    this.uplink.end(end);
  }

  private spawnFailed(err: Error): void {
    if (this.exited) return;
    this.exited = true;
    this.clearTimers();
    this.guard?.dispose();
    this.opts.onExit();
    this.report({ reason: "spawn_failed", exit_code: null, signal: null, error: `could not start ${this.assign.job.argv[0]}: ${err.message}`.slice(0, 4000) });
  }

  private setPaused(paused: boolean): void {
    for (const s of this.output) {
      if (paused) s.pause();
      else s.resume();
    }
  }

  private clearTimers(): void {
    if (this.streamTimer) clearTimeout(this.streamTimer);
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
  }
}

/**
 * Spawns the job with pipes for its output (job-pipes.ts), or Node's socket pairs where there are
 * none. Stdin given whole is a file; live input a socket. A job given no stdin reads /dev/null: a
 * pipe would cost a socket here and a write for nothing.
 */
function spawnJob(launch: Launch, stdin: Assign["job"]["stdin"]): { child: ChildProcess; output: [Readable, Readable] } {
  const file = typeof stdin === "string" && stdin ? stdinFd(stdin) : null;
  try {
    const options = { detached: true, env: launch.env, cwd: launch.cwd, ...(launch.argv0 && { argv0: launch.argv0 }) };
    return spawnWithOutput(outputPipes(), launch.command, launch.args, options, file ?? (typeof stdin === "object" || stdin ? "pipe" : "ignore"));
  } finally {
    if (file !== null) closeSync(file);
  }
}
