import type { Outcome } from "../../run/retry.js";
import type { EndReport, RunRecord } from "./types.js";

export interface EndVerdict {
  /** The run as it stands if this attempt is its last. */
  final: Partial<RunRecord>;
  /** What a retry policy judges; null for outcomes never retried (success, a cancel). */
  outcome: Outcome | null;
}

/** How an attempt's end report settles the run. */
export function endVerdict(end: EndReport): EndVerdict {
  const base = { exit_code: end.exit_code, signal: end.signal };
  switch (end.reason) {
    case "cancelled":
      return { final: { ...base, status: "cancelled", error: "cancelled" }, outcome: null };
    case "agent_stop":
      // The host was stopped under the job: as for a lost host, the policy may try elsewhere.
      return { final: { ...base, status: "cancelled", error: "agent_stop: the host was stopped while the job ran" }, outcome: "lost" };
    case "fenced":
      return { final: { ...base, status: "orphaned", error: end.error ?? "lost: the host stopped the job when it lost the control plane" }, outcome: "lost" };
    case "timed_out":
      return { final: { ...base, status: "timed_out", error: end.error ?? "timed out" }, outcome: "timed_out" };
    case "spawn_failed":
      return { final: { ...base, status: "failed", error: end.error ?? "the process could not be started" }, outcome: "failed" };
    case "exit":
      if (end.exit_code === 0) return { final: { ...base, status: "succeeded", error: null }, outcome: null };
      return {
        final: { ...base, status: "failed", error: end.error ?? (end.signal ? `killed by ${end.signal}` : `exited with code ${end.exit_code}`) },
        outcome: "failed",
      };
  }
}
