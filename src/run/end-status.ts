import type { RunState } from "./record.js";
import type { StreamEnd } from "../protocol/stream.js";

/** How an attempt's end report settles the run. */
export function endStatus(end: StreamEnd, cancelRequested: boolean): Partial<RunState> {
  const base = { exit_code: end.exit_code, signal: end.signal };
  switch (end.reason) {
    case "cancelled":
      return { ...base, status: "cancelled", error: "cancelled" };
    case "timed_out":
      return { ...base, status: "timed_out", error: end.error ?? "timed out" };
    case "spawn_failed":
      return { ...base, status: "failed", error: end.error ?? "the process could not be started" };
    case "exit":
      if (cancelRequested) return { ...base, status: "cancelled", error: "cancelled" };
      if (end.exit_code === 0) return { ...base, status: "succeeded", error: null };
      return {
        ...base,
        status: "failed",
        error: end.signal ? `killed by ${end.signal}` : `exited with code ${end.exit_code}`,
      };
  }
}
