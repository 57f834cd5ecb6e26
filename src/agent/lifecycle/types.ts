/** The words of a run's life: its record at the edge, what can happen to it, what follows. */
import type { EndReason, Run } from "../../protocol/run.js";

/** What the agent's object keeps of a run: the run as the API shows it, plus its lease holder. */
export interface RunRecord extends Run {
  /** The host holding the current attempt's lease while the run is running. */
  host_id: string | null;
  /** Assignments a host handed back unstarted: they do not count against the retry policy. */
  rejects: number;
  /** How many parents stand above it (0 for a run submitted from outside). */
  depth: number;
}

/** An attempt's end as its host reports it. */
export interface EndReport {
  reason: EndReason;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  /** The JSON text the job returned, or why what it wrote could not be used. */
  result?: string | null;
  result_error?: string | null;
}

export type LifeEvent =
  | { type: "assign"; attempt: number; host_id: string }
  /** `started`: the host reports the process's start with its end (a run that never opened its output stream). */
  | { type: "ended"; attempt: number; end: EndReport; started?: { pid: number | null; host_id: string } }
  | { type: "lost"; attempt: number; why: string }
  | { type: "expired"; attempt: number }
  /** `ask`: the host's policy does not allow the job, and its owner asks a person (`ttl_ms` to answer). */
  | { type: "rejected"; attempt: number; reason: string; ask?: { why: string; ttl_ms: number } }
  | { type: "approve"; by: string; note: string | null }
  | { type: "deny"; by: string; note: string | null }
  | { type: "approval_expired" }
  | { type: "cancel"; reason: string }
  | { type: "queue_timeout"; why: string };

/** A run event as watchers see it (the object stamps the time). */
export type RunEvent = { type: string } & Record<string, string | number | boolean | null>;

export type Effect =
  /** Tell the host holding this attempt to stop it: `cancel` lets it report, `revoke` means its lease is gone. */
  | { type: "stop"; host_id: string; attempt: number; how: "cancel" | "revoke"; reason: string }
  /** Back in the queue, ready after this long. */
  | { type: "requeue"; delay_ms: number }
  /** The run reached its final status. */
  | { type: "settled" };

export type Transition = { ok: true; run: RunRecord; events: RunEvent[]; effects: Effect[] } | { ok: false; why: string };
