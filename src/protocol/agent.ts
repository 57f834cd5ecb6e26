import type { AgentConfig } from "./agent-config.js";
import type { HostPolicySummary } from "./host.js";

/** A connected host as the API shows it. */
export interface HostView {
  host_id: string;
  hostname: string;
  version: string;
  protocol: number;
  slots: number;
  /** Slots free right now. */
  free: number;
  /** Shutting down: takes nothing new. */
  draining: boolean;
  connected_at: string;
  /** How the host runs jobs, as it says in hello (absent for hosts that do not say). */
  policy?: HostPolicySummary;
  runners?: string[];
  labels?: Record<string, string>;
}

/** A host enrolled with the agent, connected or not. */
export interface EnrolledHost {
  host_id: string;
  hostname: string;
  enrolled_at: string;
  last_seen_at: string | null;
  connected: boolean;
}

/** An agent as the API shows it. */
export interface AgentView {
  name: string;
  created_at: string;
  config: AgentConfig;
  hosts: HostView[];
  queued: number;
  /** Runs a host's policy held for a person to approve or deny. */
  awaiting_approval: number;
  running: number;
}
