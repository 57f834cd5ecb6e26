/**
 * The rows one run change adds to its run's log, in order: the process's start, then what the
 * attempt wrote (an end sent with its output on the control socket), then the change's other
 * events, then the state. Defined once, so a run without an object numbers its log as the object
 * made later will number it, and a cursor stays valid across its creation.
 */
import { fromBase64 } from "../protocol/base64.js";
import type { StreamNo } from "../protocol/frames.js";
import type { RunChange, RunEventOut } from "../protocol/run-change.js";

export type ChangeRow =
  | { kind: "event"; event: RunEventOut }
  | { kind: "output"; seq: number; stream: StreamNo; data: Uint8Array }
  | { kind: "state" };

export function rowsOfChange(c: RunChange): ChangeRow[] {
  const rows: ChangeRow[] = [];
  const starts = c.events.filter((e) => e.type === "process_started");
  for (const event of starts) rows.push({ kind: "event", event });
  (c.output ?? []).forEach((o, i) => rows.push({ kind: "output", seq: i + 1, stream: o.stream as StreamNo, data: fromBase64(o.data) ?? new Uint8Array() }));
  for (const event of c.events) if (event.type !== "process_started") rows.push({ kind: "event", event });
  rows.push({ kind: "state" });
  return rows;
}
