/** A run's events and its batch read, for clients that poll instead of holding a stream. */
import { z } from "zod";
import type { Run } from "./run.js";

/**
 * One entry of a run's event log. `id` is the same number the watch stream gives the entry, so
 * `after`, `event_cursor` and `Last-Event-ID` are one sequence. `type: "state"` is a state
 * change (its `status`); the others say what happened (attempt_started, attempt_ended,
 * lease_lost, retry_scheduled, cancel_requested, output_truncated, …), with `reason` where there is one.
 */
export type RunEventEntry = { id: number; type: string; at: string } & Record<string, string | number | boolean | null>;

export const EVENTS_PAGE_MAX = 500;
/** Output one batch answer carries at most; the next cursor picks up where it stops. */
export const BATCH_OUTPUT_BYTES = 256 * 1024;

const Cursor = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const EventsQuery = z.strictObject({ after: Cursor.default(0), limit: z.coerce.number().int().min(1).max(EVENTS_PAGE_MAX).default(100) });
export const BatchQuery = z.strictObject({ log_cursor: Cursor.default(0), event_cursor: Cursor.default(0) });

export interface EventPage {
  events: RunEventEntry[];
  /** Pass as `after` next time. */
  next_after: number;
}

export interface OutputEntry {
  id: number;
  attempt: number;
  stream: "stdout" | "stderr";
  data_base64: string;
}

export interface RunBatch {
  run: Run;
  /** The current attempt: its number and when the run started; null before the first. */
  attempt: { number: number; started_at: string | null } | null;
  output: OutputEntry[];
  events: RunEventEntry[];
  log_cursor: number;
  event_cursor: number;
  /** More output or events wait past these cursors: ask again at once. */
  more: boolean;
}
