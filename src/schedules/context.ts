import type { Submitted, SubmitOptions } from "../agent/run-plan.js";
import type { Timers } from "../agent/timers.js";
import type { Env } from "../env.js";
import type { JobSpec, RunStatus } from "../protocol/run.js";
import type { ScheduleStore } from "./store.js";

/** What the schedules need from the agent's object that holds them. */
export interface AgentSide {
  profile(): { workspace: string; name: string } | null;
  submit(job: JobSpec, opts: SubmitOptions): Promise<Submitted | null>;
  /** A run's status as the agent's object holds it; null for a run it no longer has. */
  runStatus(runId: string): RunStatus | null;
}

export interface ScheduleContext {
  storage: DurableObjectStorage;
  store: ScheduleStore;
  timers: Timers;
  env: Env;
  agent: AgentSide;
  /** Every decision reads the time here, so tests can drive the real object with a controlled clock. */
  clock: () => number;
}

/** Every schedule timer is of this kind; the key says which schedule, or the directory sync. */
export const TIMER_KIND = "schedule";
export const SYNC_TIMER = "schedule-sync";
export const timerKey = (id: string) => `schedule:${id}`;
export const scheduleOfTimer = (key: string) => (key.startsWith("schedule:") ? key.slice("schedule:".length) : null);

/** A fire or a directory update that failed is tried again after this long. */
export const RETRY_MS = 5_000;
/** While a schedule's last run is queued or running its state is re-read at least this often (the run's end usually says so sooner). */
export const WATCH_MS = 30_000;
