/** What a submit makes of a job: the job as its host gets it, and the run's first record. */
import type { AgentConfig } from "../protocol/agent-config.js";
import type { Assign } from "../protocol/host.js";
import type { JobSpec, Run } from "../protocol/run.js";
import type { RunInit } from "../run/record.js";
import type { Profile } from "./schema.js";

/** What a host is given: the job with its timeout settled. */
export type QueuedJob = Assign["job"];

export interface SubmitOptions {
  /** A key seen before returns the run it made, and makes no new one. */
  idempotency_key?: string;
  schedule_id?: string;
  scheduled_for?: string;
}

export interface Submitted {
  run: Run;
  created: boolean;
}

/** The agent's settings fill in what the job leaves out. */
export function planRun(p: Profile, config: AgentConfig, job: JobSpec, opts: SubmitOptions, id: string, now: number): { queued: QueuedJob; init: RunInit } {
  const timeout_ms = job.timeout_ms ?? config.default_timeout_ms;
  const queued: QueuedJob = {
    argv: job.argv,
    ...(job.stdin !== undefined && { stdin: job.stdin }),
    ...(job.env && { env: job.env }),
    ...(job.labels && { labels: job.labels }),
    timeout_ms,
  };
  const init: RunInit = {
    id,
    workspace: p.workspace,
    agent: p.name,
    argv: job.argv,
    labels: job.labels ?? {},
    timeout_ms,
    retry: { ...config.retry, ...job.retry },
    created_at: new Date(now).toISOString(),
    schedule_id: opts.schedule_id ?? null,
    scheduled_for: opts.scheduled_for ?? null,
  };
  return { queued, init };
}
