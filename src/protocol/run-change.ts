/**
 * A change of a run as its agent's object decided it, for the run's object: the run as it now
 * stands and the events that explain it, numbered so that applying one twice, or an older one
 * after a newer, changes nothing.
 */
import { fromBase64 } from "./base64.js";
import type { Run } from "./run.js";

/** A run event as watchers read it: flat values only, so it crosses objects as it is. */
export type RunEventOut = { type: string; at: string } & Record<string, string | number | boolean | null>;

export interface RunChange {
  version: number;
  run: Run;
  events: RunEventOut[];
  /** Output past this many bytes is not stored (the agent's `max_output_bytes`). */
  max_output_bytes: number;
  /**
   * All the output of an attempt that sent it with its end on the control socket (base64), of
   * `run.attempt`; in the log after the change's `process_started` and before its other events.
   */
  output?: { stream: number; data: string }[];
}

/** Bytes of output a change carries. */
export function outputBytes(c: RunChange): number {
  let n = 0;
  for (const o of c.output ?? []) n += fromBase64(o.data)?.byteLength ?? 0;
  return n;
}
