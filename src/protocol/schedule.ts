/** Schedules as every face of the API shows them; the request bodies are checked at the edge. */
import { z } from "zod";
import type { JobSpec, RunStatus } from "./run.js";

/** What happens to a slot when the schedule's previous run is still queued or running. */
export const Overlap = z.enum(["skip", "allow", "queue"]);
export type Overlap = z.infer<typeof Overlap>;

/** What happens to slots that came due while nothing could fire them (the control plane was down). */
export const Misfire = z.enum(["run_once", "skip", "catch_up"]);
export type Misfire = z.infer<typeof Misfire>;

/**
 * `sch_` + 12 hex digits of the creation time in ms + 8 random hex digits + `_` + the agent.
 * Schedules live in their agent's object, so the id alone must say which one; agent names
 * hold '-' but never '_', so the split is unambiguous. Ids sort by creation time.
 */
const SCHEDULE_ID = /^sch_[0-9a-f]{20}_([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/;

export const ScheduleId = z.string().regex(SCHEDULE_ID, "is not a schedule id (sch_, 20 hex digits, '_' and the agent name)");

export const agentOfSchedule = (id: string): string | null => SCHEDULE_ID.exec(id)?.[1] ?? null;

export function newScheduleId(agent: string, now = Date.now()): string {
  const rand = new Uint8Array(4);
  crypto.getRandomValues(rand);
  const hex = Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("");
  return `sch_${now.toString(16).padStart(12, "0")}${hex}_${agent}`;
}

/** The job a schedule runs, as shown: env and stdin are left out, as they are from runs, since they may hold secrets. */
export type ScheduledJob = Omit<JobSpec, "env" | "stdin">;

export interface Schedule {
  id: string;
  agent: string;
  cron: string;
  timezone: string;
  run: ScheduledJob;
  enabled: boolean;
  overlap: Overlap;
  misfire: Misfire;
  /** The next slot, or null while paused (or when the expression has no further dates). */
  next_run_at: string | null;
  /** With overlap `queue`: the slot waiting for the previous run to end. */
  queued_slot: string | null;
  last_run_at: string | null;
  last_run_id: string | null;
  last_status: RunStatus | null;
  /** Runs submitted. */
  fires: number;
  /** Slots not run because the previous run was still going (overlap `skip`, or `queue` with one already waiting). */
  skips: number;
  /** Slots that came due while the control plane was down and got no run of their own. */
  misfires: number;
  created_at: string;
  updated_at: string;
}

/** What a client sends to create a schedule; left out: timezone UTC, enabled, overlap skip, misfire run_once. */
export interface ScheduleInput {
  cron: string;
  timezone?: string;
  run: JobSpec;
  enabled?: boolean;
  overlap?: Overlap;
  misfire?: Misfire;
}

/** A change to a schedule: only the fields sent change; `run` replaces the whole job. */
export type ScheduleChange = Partial<ScheduleInput>;

export interface SchedulePage {
  schedules: Schedule[];
  /** Pass as `cursor` for the next page; null on the last. */
  next_cursor: string | null;
}

export interface SchedulePreview {
  cron: string;
  timezone: string;
  from: string;
  times: string[];
}

export type ScheduleEvent =
  | { type: "fired"; at: string; slot: string | null; run_id: string; trigger?: true }
  | { type: "skipped"; at: string; slot: string; previous_run_id: string | null; reason: "overlap" | "paused" }
  | { type: "queued"; at: string; slot: string; previous_run_id: string | null }
  | { type: "misfired"; at: string; policy: Misfire; missed: number; first: string; last: string };
