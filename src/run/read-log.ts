/**
 * Reads of a run's log for clients that poll: its events, and output after a cursor. The log's
 * row ids are the cursors, the same ids the watch stream gives its events.
 */
import { toBase64 } from "../protocol/base64.js";
import { STDOUT } from "../protocol/frames.js";
import type { Run } from "../protocol/run.js";
import type { RunChange } from "../protocol/run-change.js";
import type { OutputEntry, RunEventEntry } from "../protocol/run-events.js";
import { rowsOfChange, type ChangeRow } from "./change-rows.js";
import { KIND_EVENT, KIND_OUTPUT, KIND_STATE } from "./schema.js";

const stateEntry = (id: number, run: Run, at: string): RunEventEntry => ({ id, type: "state", at, status: run.status, attempt: run.attempt, reason: run.error });

/**
 * A state change is dated by the decision that made it: the time of the last event of its change
 * (written just before it, in the same apply), or the run's creation for the first. Both the
 * object and the agent's unconfirmed changes give the same date that way.
 */
function stateAt(sql: SqlStorage, row: { id: number; at: number }, run: Run): string {
  const prev = sql.exec<{ kind: number; data: string; at: number }>("SELECT kind, data, at FROM log WHERE id = ?", row.id - 1).toArray()[0];
  return prev && prev.kind === KIND_EVENT && prev.at === row.at ? (JSON.parse(prev.data) as { at: string }).at : run.created_at;
}

export function eventsAfter(sql: SqlStorage, after: number, limit: number): RunEventEntry[] {
  return sql
    .exec<{ id: number; kind: number; data: string; at: number }>("SELECT id, kind, data, at FROM log WHERE id > ? AND kind IN (?, ?) ORDER BY id LIMIT ?", after, KIND_STATE, KIND_EVENT, limit)
    .toArray()
    .map((r) => {
      const body = JSON.parse(r.data) as Record<string, string | number | boolean | null>;
      if (r.kind === KIND_STATE) return stateEntry(r.id, body as unknown as Run, stateAt(sql, r, body as unknown as Run));
      return { at: new Date(r.at).toISOString(), ...body, id: r.id } as RunEventEntry;
    });
}

/** Output rows after the cursor, up to about `maxBytes` (at least one row, however large). */
export function outputAfter(sql: SqlStorage, after: number, maxBytes: number): { output: OutputEntry[]; more: boolean } {
  const output: OutputEntry[] = [];
  let bytes = 0;
  let cursor = after;
  for (;;) {
    const rows = sql.exec<{ id: number; attempt: number; stream: number; data: ArrayBuffer }>(
      "SELECT id, attempt, stream, data FROM log WHERE kind = ? AND id > ? ORDER BY id LIMIT 16", KIND_OUTPUT, cursor,
    ).toArray();
    for (const r of rows) {
      if (output.length && bytes + r.data.byteLength > maxBytes) return { output, more: true };
      output.push({ id: r.id, attempt: r.attempt, stream: r.stream === STDOUT ? "stdout" : "stderr", data_base64: toBase64(new Uint8Array(r.data)) });
      bytes += r.data.byteLength;
      cursor = r.id;
    }
    if (rows.length < 16) return { output, more: false };
  }
}

/**
 * The events of a run that has no object yet, from its agent's unconfirmed changes. Its object,
 * once made, applies the same changes in the same order (each change's events, then its state),
 * so the ids given here are the ids it will give: a cursor stays valid across its creation.
 */
export function eventsOfChanges(changes: readonly RunChange[], after: number, limit: number): RunEventEntry[] {
  const out: RunEventEntry[] = [];
  logOfChanges(changes, (id, row, c) => {
    if (id <= after || row.kind === "output") return;
    if (row.kind === "event") out.push({ ...row.event, id });
    else out.push(stateEntry(id, c.run, c.events[c.events.length - 1]?.at ?? c.run.created_at));
  });
  return out.slice(0, limit);
}

/** The output of a run that has no object yet: what its attempts sent with their ends, after the cursor. */
export function outputOfChanges(changes: readonly RunChange[], after: number): OutputEntry[] {
  return heldOutputRows(changes, after).map(({ data, ...o }) => ({ ...o, data_base64: toBase64(data) }));
}

/** The same as bytes. */
export function heldOutputRows(changes: readonly RunChange[], after: number): { id: number; attempt: number; stream: "stdout" | "stderr"; data: Uint8Array }[] {
  const out: { id: number; attempt: number; stream: "stdout" | "stderr"; data: Uint8Array }[] = [];
  logOfChanges(changes, (id, row, c) => {
    if (id > after && row.kind === "output") out.push({ id, attempt: c.run.attempt, stream: row.stream === STDOUT ? "stdout" : "stderr", data: row.data });
  });
  return out;
}

/** Every log row the changes make, with the id the run's object will give it. */
function logOfChanges(changes: readonly RunChange[], visit: (id: number, row: ChangeRow, c: RunChange) => void): void {
  let id = 0;
  for (const c of [...changes].sort((a, b) => a.version - b.version)) for (const row of rowsOfChange(c)) visit(++id, row, c);
}
