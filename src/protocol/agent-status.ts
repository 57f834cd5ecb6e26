/** `GET /v1/agents/:agent/status`: one screen that says how an agent is doing. */
import type { HostPolicySummary } from "./host.js";
import type { RunStatus } from "./run.js";
import type { RunSummary } from "./run-index.js";

export interface HostStatus {
  host_id: string;
  hostname: string;
  version: string;
  policy?: HostPolicySummary;
  runners?: string[];
  /** Its owner's labels, which runs' `requires` match. */
  labels?: Record<string, string>;
  slots: number;
  /** Slots running one of this agent's runs. */
  busy: number;
  draining: boolean;
  connected_at: string;
  /** The last time the host said anything, pings included. */
  last_heard_at: string;
}

export interface AgentStatus {
  agent: string;
  at: string;
  hosts: HostStatus[];
  queue: {
    /** Runs queued for a host. */
    depth: number;
    /** Runs held until a person approves or denies them (not in depth). */
    awaiting_approval: number;
    oldest_age_ms: number | null;
    /** Why the queued runs wait, most common first. */
    waiting: { reason: string; runs: number }[];
  };
  running: RunSummary[];
  /** The last 10 runs to end, latest first. */
  recent: RunSummary[];
  /** Runs that ended in the window, by final status. */
  ended: { last_hour: Partial<Record<RunStatus, number>>; last_day: Partial<Record<RunStatus, number>> };
  /** Over runs that started (wait) or ended (run time) in the last day; null with none. */
  p50_wait_ms: number | null;
  p50_run_ms: number | null;
}
