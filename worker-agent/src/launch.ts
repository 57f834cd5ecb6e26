/**
 * How one attempt is started and kept within the host's policy: the program judged, a clean
 * environment, a fresh directory, the sandbox where there is one, its processes found and
 * ended with the run, its limits watched and its secrets cut from its output.
 */
import { existsSync } from "node:fs";
import type { StreamNo } from "../../src/protocol/frames.js";
import type { Assign } from "../../src/protocol/host.js";
import { judgeProgram, type Allowed } from "./allowlist.js";
import { jobEnvironment } from "./environment.js";
import { OutputBudget, wallTime, watchProcesses } from "./limits.js";
import type { Logger } from "./log.js";
import { DEFAULT_POLICY, hostRefusal, policySummary, type Isolation, type Policy } from "./policy.js";
import { Containment } from "./procs.js";
import { Redactor } from "./redactor.js";
import { bwrapArgs, SANDBOX_HOME } from "./sandbox.js";
import { jobDataEnv } from "./job-data.js";
import { PipeMaker, pipeRoot, stdinFile, type OutputPipe } from "./job-pipes.js";
import { unfitForWarm, WarmProcess, type Warm } from "./warm-process.js";
import { noteRead } from "./read-buffers.js";
import { createWorkdir, type Workdir } from "./workdir.js";

export interface HostSafety {
  policy: Policy;
  allowed: Allowed;
  isolation: Isolation;
  workRoot: string;
  /** The next job's sandbox, made ahead where jobs run sandboxed. */
  warm?: WarmProcess | null;
  /** Pipes for jobs' output, made ahead; none (socket pairs) where they cannot be made. */
  pipes?: PipeMaker | null;
}

/** Set once by main before any job comes; until then nothing may run. */
let safety: HostSafety = { policy: { ...DEFAULT_POLICY, security: "deny" }, allowed: new Map(), isolation: { kind: "none", detail: "not configured" }, workRoot: "" };
/**
 * This process's environment, copied once: each job's is built from it, and process.env goes
 * through the runtime for every name read (most of a job's environment's cost). Nothing
 * changes it after start.
 */
let hostEnv: NodeJS.ProcessEnv = {};

export function configureHostSafety(s: HostSafety, log?: Logger): void {
  safety.pipes?.close();
  safety = s;
  hostEnv = { ...process.env };
  if (!log) return;
  try {
    safety.pipes = new PipeMaker(pipeRoot(s.workRoot, process.env, log), log);
  } catch (err) {
    log(`no directory for jobs' pipes: ${(err as Error).message}`);
  }
  if (!existsSync("/usr/bin/env") || !existsSync("/bin/sh")) return;
  const sandboxed = s.isolation.kind === "bubblewrap" && s.policy.sandbox !== "off";
  // Outside the sandbox, `env` execs the path it was given under that name; under an allowlist the
  // judged real file must be what runs, under the name the job called it by: a fork for each job there.
  if (!sandboxed && s.policy.security !== "full") return;
  safety.warm = new WarmProcess({ bwrap: sandboxed ? s.isolation.detail : null, policy: s.policy, workRoot: s.workRoot, pipes: safety.pipes }, log);
  safety.warm.make();
}

/** A job's end report is out: the next process made ahead may be made now. */
export function jobEnded(): void {
  safety.warm?.afterEnd();
}

/** At the host's end: the sandbox made ahead goes. */
export function closeHostSafety(): void {
  safety.warm?.close();
  safety.pipes?.close();
}

/** A job's stdout and stderr pipes, or null: it gets Node's socket pairs. */
export function outputPipes(): [OutputPipe, OutputPipe] | null {
  return safety.pipes?.take() ?? null;
}

/** The stdin given at submit as an open file, or null: it goes through a socket. */
export function stdinFd(data: string): number | null {
  return stdinFile(safety.pipes, data);
}

/** How this host runs jobs, for its hello to the edge. */
export function hostPolicySummary() {
  return policySummary(safety.policy, safety.isolation);
}

/**
 * Why this host's owner wants a person to approve the job before it runs here, or null: its
 * policy asks on every run (`ask = "always"`), or on a program its allowlist does not name
 * (`"on-miss"`). A command refused outright (`security = "deny"`, a missing program) is not asked.
 */
export function approvalNeeded(assign: Assign): string | null {
  const { policy, allowed } = safety;
  if (policy.ask === "off" || assign.approved || policy.security === "deny") return null;
  if (policy.ask === "always") return `host policy asks a person before every run (ask = "always"): ${assign.job.argv[0]}`;
  if (policy.security === "full") return null;
  const path = assign.job.env?.PATH ?? process.env.PATH;
  const verdict = judgeProgram(policy, allowed, assign.job.argv[0]!, path, safety.workRoot || "/");
  if (verdict.ok || !/not on the allowlist/.test(verdict.error)) return null;
  return verdict.error.replace(/^refused by host policy: /, "host policy: ");
}

export interface Launch {
  command: string;
  args: string[];
  argv0: string | undefined;
  env: Record<string, string>;
  cwd: string;
  guard: JobGuard;
  /** Where the job's result lands, as this host sees it. */
  resultFile: string;
  /** A sandbox made ahead: `command` and `args` go to it, nothing is spawned. */
  warm?: Warm;
}

/** What to spawn for this attempt, or why it may not start (the error of a spawn failure). */
export function planLaunch(assign: Assign, baseUrl: string, log: Logger): { ok: true; launch: Launch } | { ok: false; error: string } {
  const { policy, isolation } = safety;
  const refusal = hostRefusal(policy, isolation);
  if (refusal) return { ok: false, error: `refused by host policy: ${refusal}` };
  const sandboxed = isolation.kind === "bubblewrap" && policy.sandbox !== "off";
  // Stdin given whole is a file opened for the job (attempt.ts): the shell made ahead has a socket.
  const wholeStdin = typeof assign.job.stdin === "string" && assign.job.stdin !== "" && safety.pipes?.enabled;
  let warm = (!wholeStdin && safety.warm?.take(assign.more_queued === true)) || undefined;
  let workdir: Workdir;
  try {
    workdir = warm?.workdir ?? createWorkdir(safety.workRoot, assign.run_id, assign.attempt);
  } catch (err) {
    return { ok: false, error: `no working directory: ${(err as Error).message}` };
  }
  const home = sandboxed ? SANDBOX_HOME : workdir.dir;
  const { env, secrets } = jobEnvironment({
    host: hostEnv,
    run: assign.job.env,
    secrets: assign.secrets,
    policy,
    identity: { url: baseUrl, token: assign.job_token, runId: assign.run_id, attempt: assign.attempt },
    home,
    tmp: sandboxed ? "/tmp" : workdir.tmp,
    log,
  });
  const data = jobDataEnv(assign.job.inputs, workdir.dir, home);
  Object.assign(env, data.env);
  const [argv0, ...rest] = assign.job.argv;
  const verdict = judgeProgram(policy, safety.allowed, argv0!, env.PATH, workdir.dir, assign.approved === true);
  if (!verdict.ok) {
    warm?.discard();
    workdir.remove();
    return { ok: false, error: verdict.error };
  }
  // env would take a path with "=" in it for a variable: such a job gets a sandbox made for it.
  if (warm && (verdict.path.includes("=") || unfitForWarm(verdict.path, rest, env))) (warm.discard(), (warm = undefined));
  const marker = [`TETHER_RUN_ID=${assign.run_id}`, `TETHER_ATTEMPT=${assign.attempt}`];
  const guard = new JobGuard(policy, new Containment(sandboxed, marker), secrets, workdir, log);
  const launch: Launch = warm
    ? { command: verdict.path, args: rest, argv0: undefined, env, cwd: workdir.dir, guard, resultFile: data.resultFile, warm }
    : sandboxed
    ? { command: isolation.detail, args: bwrapArgs({ policy, workdir: workdir.dir, command: verdict.path, args: rest }), argv0: undefined, env, cwd: workdir.dir, guard, resultFile: data.resultFile }
    : // The file judged is the file run, whatever is renamed meanwhile; the program still sees the name it was called by.
      { command: verdict.real(), args: rest, argv0: argv0!, env, cwd: workdir.dir, guard, resultFile: data.resultFile };
  return { ok: true, launch };
}

/** One attempt's limits, output filter and clean-up. */
export class JobGuard {
  private readonly budget: OutputBudget;
  private readonly redactors = new Map<StreamNo, Redactor>();
  private readonly sinks = new Map<StreamNo, (b: Buffer) => void>();
  private stopWatching: () => void = () => {};
  private onLimit: (error: string) => void = () => {};
  private cut = false;
  private stopped = false;
  private disposed = false;

  constructor(
    private readonly policy: Policy,
    readonly contain: Containment,
    private readonly secrets: string[],
    private readonly workdir: Workdir,
    private readonly log: Logger,
  ) {
    this.budget = new OutputBudget(policy.max_output_bytes);
  }

  /** The job's first process is running as `pid`; `onLimit` ends it, saying which limit. */
  attach(pid: number, onLimit: (error: string) => void): void {
    this.contain.attach(pid);
    this.onLimit = onLimit;
    this.stopWatching = watchProcesses(this.policy, this.contain, onLimit);
  }

  wallTime(jobTimeoutMs: number) {
    return wallTime(this.policy, jobTimeoutMs);
  }

  /** A filter for one stream's bytes on their way to `push`: budget first, then redaction. */
  output(stream: StreamNo, push: (stream: StreamNo, b: Buffer) => void): (b: Buffer) => void {
    const redactor = new Redactor(this.secrets);
    this.redactors.set(stream, redactor);
    const sink = (b: Buffer) => b.byteLength && push(stream, b);
    this.sinks.set(stream, sink);
    return (chunk) => {
      noteRead(chunk.byteLength);
      if (this.cut) return;
      const { allowed, exceeded } = this.budget.take(chunk);
      sink(redactor.push(allowed));
      if (exceeded) {
        this.cut = true;
        this.onLimit(this.budget.error);
      }
    };
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopWatching();
    this.contain.signal("SIGKILL");
    this.contain.detach();
  }

  /** Signals every process of the job, wherever it went (see Containment). */
  signal(sig: NodeJS.Signals): void {
    this.contain.signal(sig);
  }

  /**
   * The run ends: what is held back goes out and every process left is killed, before the end
   * report is sent. The directory goes right after the report (dispose): in the same turn, so
   * before anyone hears of the end, but off its path.
   */
  finish(): void {
    for (const [stream, r] of this.redactors) this.sinks.get(stream)?.(r.end());
    this.stop();
  }

  /** After the end report, or when the attempt was given up: nothing of it is left. */
  dispose(): void {
    this.stop();
    if (this.disposed) return;
    this.disposed = true;
    if (this.policy.keep_workdir) return this.log(`kept the working directory ${this.workdir.dir}`);
    try {
      this.workdir.remove();
    } catch (err) {
      this.log(`could not remove ${this.workdir.dir}: ${(err as Error).message}`);
    }
  }
}
