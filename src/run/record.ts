import type { RetryPolicy, Run } from "../protocol/run.js";

/** What the run's object persists: the public run plus what only the edge needs. */
export interface RunState extends Run {
  workspace: string;
}

export interface RunInit {
  id: string;
  workspace: string;
  agent: string;
  argv: string[];
  labels: Record<string, string>;
  timeout_ms: number;
  retry: RetryPolicy;
  created_at: string;
  schedule_id: string | null;
  scheduled_for: string | null;
}

export function newRunState(init: RunInit): RunState {
  return {
    ...init,
    status: "queued",
    attempt: 0,
    exit_code: null,
    signal: null,
    error: null,
    cancel_requested: false,
    started_at: null,
    ended_at: null,
  };
}

export function publicRun(s: RunState): Run {
  const { workspace: _ws, ...run } = s;
  return run;
}
