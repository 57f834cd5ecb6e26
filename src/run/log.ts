/**
 * The run's log in its object's SQLite: the state its agent decided, each change applied once by
 * version, the events that explain it, and the output of every attempt, capped by bytes.
 */
import type { Run } from "../protocol/run.js";
import type { RunChange } from "../protocol/run-change.js";
import type { Chunk } from "../protocol/frames.js";
import { rowsOfChange } from "./change-rows.js";
import { KIND_EVENT, KIND_OUTPUT, KIND_STATE } from "./schema.js";

interface Head {
  run: Run;
  version: number;
  max_output: number;
  stored: number;
  truncated: boolean;
}

export class RunLog {
  private head: Head | null | undefined;

  constructor(
    private readonly sql: SqlStorage,
    /** Whether the object has its tables yet: one that has not holds nothing, and reading must not make them. */
    private readonly present: () => boolean,
  ) {}

  /** The run as last applied, or null before the first change. */
  state(): Head | null {
    if (!this.present()) return null;
    if (this.head === undefined) {
      const r = this.sql.exec<{ body: string; version: number; max_output: number; stored: number; truncated: number }>("SELECT body, version, max_output, stored, truncated FROM run WHERE id = 1").toArray()[0];
      this.head = r ? { run: JSON.parse(r.body) as Run, version: r.version, max_output: r.max_output, stored: r.stored, truncated: r.truncated === 1 } : null;
    }
    return this.head;
  }

  /** Applies the changes newer than what is here, in order; returns the version now held. Call inside a transaction. */
  apply(changes: readonly RunChange[]): { version: number; changed: boolean } {
    let head = this.state();
    let changed = false;
    for (const c of [...changes].sort((a, b) => a.version - b.version)) {
      if (head && c.version <= head.version) continue;
      const now = Date.now();
      const rows = rowsOfChange(c);
      head = { run: c.run, version: c.version, max_output: c.max_output_bytes, stored: head?.stored ?? 0, truncated: head?.truncated ?? false };
      // Output sent with the end is stored as streamed output is, against the same cap; its rows are
      // consecutive, so they go together where the first of them stands.
      const output = rows.flatMap((r) => (r.kind === "output" ? [r] : []));
      for (const r of rows) {
        if (r.kind === "event") this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, 0, ?, ?)", KIND_EVENT, c.run.attempt, JSON.stringify(r.event), now);
        else if (r.kind === "state") this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, 0, ?, ?)", KIND_STATE, c.run.attempt, JSON.stringify(c.run), now);
        else if (r === output[0]) this.storeChunks(c.run.attempt, output, head);
      }
      this.sql.exec(
        "INSERT INTO run (id, body, version, max_output, stored, truncated) VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, version = excluded.version, max_output = excluded.max_output",
        JSON.stringify(c.run), c.version, c.max_output_bytes, head.stored, head.truncated ? 1 : 0,
      );
      changed = true;
    }
    this.head = head;
    return { version: head?.version ?? 0, changed };
  }

  lastSeq(attempt: number): number {
    if (!this.present()) return 0;
    return this.sql.exec<{ last_seq: number }>("SELECT last_seq FROM attempts WHERE attempt = ?", attempt).toArray()[0]?.last_seq ?? 0;
  }

  /**
   * Stores the chunks that follow the last one stored, up to the run's output cap; past it they are
   * counted as received (so the host moves on) but not kept, and one event says so. Call inside a transaction.
   */
  storeChunks(attempt: number, chunks: readonly Chunk[], head = this.state()!): { last: number; stored: boolean } {
    const before = this.lastSeq(attempt);
    let last = before;
    let stored = false;
    const at = Date.now();
    for (const c of chunks) {
      if (c.seq !== last + 1) continue; // a duplicate from a resend, or past a gap
      last = c.seq;
      const room = head.max_output - head.stored;
      if (room <= 0) {
        this.truncate(head, attempt);
        continue;
      }
      const data = c.data.byteLength > room ? c.data.subarray(0, room) : c.data;
      this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, ?, ?, ?)", KIND_OUTPUT, attempt, c.stream, data, at);
      head.stored += data.byteLength;
      stored = true;
      if (data.byteLength < c.data.byteLength) this.truncate(head, attempt);
    }
    if (last !== before) {
      this.sql.exec("INSERT INTO attempts (attempt, last_seq) VALUES (?, ?) ON CONFLICT (attempt) DO UPDATE SET last_seq = excluded.last_seq", attempt, last);
      this.sql.exec("UPDATE run SET stored = ?, truncated = ? WHERE id = 1", head.stored, head.truncated ? 1 : 0);
    }
    return { last, stored: stored || head.truncated };
  }

  /** Appends an event the run's object itself observed. Call inside a transaction. */
  event(attempt: number, event: { type: string } & Record<string, string | number | boolean | null>): void {
    this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, 0, ?, ?)", KIND_EVENT, attempt, JSON.stringify({ ...event, at: new Date().toISOString() }), Date.now());
  }

  private truncate(head: Head, attempt: number): void {
    if (head.truncated) return;
    head.truncated = true;
    const event = { type: "output_truncated", attempt, reason: `the run's output reached max_output_bytes (${head.max_output} bytes); more is not stored`, at: new Date().toISOString() };
    this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, 0, ?, ?)", KIND_EVENT, attempt, JSON.stringify(event), Date.now());
  }

  forget(): void {
    this.head = undefined;
  }
}
