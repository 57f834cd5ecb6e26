import type { AgentConfig } from "./agent-config.js";

/** A connected host as the API shows it. */
export interface HostView {
  host_id: string;
  hostname: string;
  version: string;
  slots: number;
  /** Slots free right now. */
  free: number;
  /** Shutting down: takes nothing new. */
  draining: boolean;
  connected_at: string;
}

/** An agent as the API shows it. */
export interface AgentView {
  name: string;
  created_at: string;
  config: AgentConfig;
  hosts: HostView[];
  queued: number;
  running: number;
}
