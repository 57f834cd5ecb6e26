import { z } from "zod";

/** Agent names appear in URLs, so they are slugs. */
export const AgentName = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "must be a slug: lowercase letters, digits and '-', 1-63 characters, not starting or ending with '-'");

/**
 * `run_` + 12 hex digits of the creation time in ms + 16 random hex digits + `_` + the agent.
 * A run's agent owns its whole life, so the id alone must say which object to ask; agent names
 * hold '-' but never '_', so the split is unambiguous. Ids sort by creation time within an agent.
 */
const RUN_ID = /^run_[0-9a-f]{28}_([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/;
export const RunId = z.string().regex(RUN_ID, "is not a run id (run_, 28 hex digits, '_' and the agent name)");

export const agentOfRun = (id: string): string | null => RUN_ID.exec(id)?.[1] ?? null;

export const HostId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1-128 of A-Z a-z 0-9 . _ : -");

export const Workspace = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export function newRunId(agent: string, now = Date.now()): string {
  const rand = new Uint8Array(8);
  crypto.getRandomValues(rand);
  const hex = Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("");
  return `run_${now.toString(16).padStart(12, "0")}${hex}_${agent}`;
}
