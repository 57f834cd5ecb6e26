import { constants } from "node:os";
import type { Run } from "../protocol/run.js";

/** The exit code `tether run` ends with, the way a shell would report the job. */
export function exitCodeOf(run: Run): number {
  switch (run.status) {
    case "succeeded":
      return 0;
    case "cancelled":
      return 130; // as an interrupted shell job
    case "timed_out":
      return 124; // as timeout(1)
    case "failed":
      if (run.signal) return 128 + ((constants.signals as Record<string, number>)[run.signal] ?? 0);
      if (run.exit_code !== null) return run.exit_code;
      return run.error?.startsWith("could not start") ? 127 : 1;
    default:
      return 1;
  }
}
