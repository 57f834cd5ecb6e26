/** What a submit makes of a job: the job as its host gets it, and the run's first record. */
import type { AgentConfig } from "../protocol/agent-config.js";
import type { Assign } from "../protocol/host.js";
import { priorityOf, type JobSpec, type Run } from "../protocol/run.js";
import type { RunRecord } from "./lifecycle/types.js";
import { runnerArgv } from "./runner.js";

/** What a host is given: the job with its timeout settled. */
export type QueuedJob = Assign["job"];

export interface SubmitOptions {
  /** A key seen before returns the run it made, and makes no new one. */
  idempotency_key?: string;
  schedule_id?: string;
  scheduled_for?: string;
  /** Submitted by this run's job; with its depth. */
  parent?: { id: string; depth: number };
  detached?: boolean;
}

/** A submit that makes no run, and why (400 bad job, 404 no parent, 409 a dedup key's run lives, 429 too many children or runs waiting). */
export interface Refused {
  refused: { status: 400 | 404 | 409 | 429; slug: string; detail: string; retry_after_s?: number; existing_run_id?: string };
}

export interface Submitted {
  run: Run;
  created: boolean;
}

/** The agent's settings fill in what the job leaves out. */
export function planRun(agent: string, config: AgentConfig, job: JobSpec, opts: SubmitOptions, id: string, now: number): { queued: QueuedJob; record: RunRecord } {
  const timeout_ms = job.timeout_ms ?? config.default_timeout_ms;
  // A runner job is planned into the command its host runs; the host knows it by `runner`.
  const command = job.runner ? runnerArgv(job) : { argv: job.argv!, stdin: job.stdin };
  const queued: QueuedJob = {
    argv: command.argv,
    ...(command.stdin !== undefined && { stdin: command.stdin }),
    ...(job.runner && { runner: job.runner }),
    ...(job.env && { env: job.env }),
    ...(job.secrets?.length && { secrets: job.secrets }),
    ...(job.labels && { labels: job.labels }),
    ...(job.queue_timeout_ms !== undefined && { queue_timeout_ms: job.queue_timeout_ms }),
    ...(job.inputs && { inputs: job.inputs }),
    timeout_ms,
  };
  const record: RunRecord = {
    id,
    agent,
    status: "queued",
    argv: command.argv,
    runner: job.runner ?? null,
    stdin_pipe: typeof job.stdin === "object",
    labels: job.labels ?? {},
    inputs: job.inputs ?? {},
    result: null,
    timeout_ms,
    retry: { ...config.retry, ...job.retry },
    attempt: 0,
    exit_code: null,
    signal: null,
    error: null,
    cancel_requested: false,
    approval: null,
    priority: priorityOf(job.priority),
    concurrency: job.lane !== undefined ? { key: job.lane, limit: 1, strategy: "queue" } : (job.concurrency ?? null),
    dedup_key: job.dedup_key ?? null,
    requires: job.requires ?? {},
    prefer: job.prefer ?? {},
    schedule_id: opts.schedule_id ?? null,
    scheduled_for: opts.scheduled_for ?? null,
    created_at: new Date(now).toISOString(),
    started_at: null,
    ended_at: null,
    parent_run_id: opts.parent?.id ?? null,
    detached: opts.detached ?? false,
    host_id: null,
    rejects: 0,
    depth: opts.parent ? opts.parent.depth + 1 : 0,
  };
  return { queued, record };
}
