import { z } from "zod";
import { LIMITS } from "./limits.js";

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;
const boundedString = (max: number, what: string) =>
  z.string().refine((s) => s.length <= max && utf8Bytes(s) <= max, `${what} is longer than ${max} bytes`);

const EnvKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "is not a valid environment variable name");
const LabelKey = z.string().regex(/^[A-Za-z0-9._/-]{1,64}$/, "label keys are 1-64 of A-Z a-z 0-9 . _ / -");

const boundedRecord = <K extends z.ZodString, V extends z.ZodType>(key: K, value: V, max: number, what: string) =>
  z.record(key, value).refine((r) => Object.keys(r).length <= max, `at most ${max} ${what}`);

export const RunStatus = z.enum(["queued", "running", "succeeded", "failed", "cancelled", "timed_out", "orphaned"]);
export type RunStatus = z.infer<typeof RunStatus>;
export const TERMINAL: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "cancelled", "timed_out", "orphaned"]);
export const isTerminal = (s: RunStatus) => TERMINAL.has(s);

/** What a client may ask a host to run. Shared by submit, schedules and the host's assignment. */
export const JobSpec = z.strictObject({
  argv: z.array(boundedString(LIMITS.argBytes, "an argument")).min(1, "argv needs at least the program to run").max(LIMITS.argvItems),
  stdin: boundedString(LIMITS.stdinBytes, "stdin").optional(),
  env: boundedRecord(EnvKey, boundedString(LIMITS.envValueBytes, "an environment value"), LIMITS.envEntries, "environment variables").optional(),
  labels: boundedRecord(LabelKey, boundedString(LIMITS.labelValueBytes, "a label value"), LIMITS.labelEntries, "labels").optional(),
  timeout_ms: z.number().int().min(1).max(LIMITS.timeoutMsMax).optional(),
});
export type JobSpec = z.infer<typeof JobSpec>;

export const CreateRunBody = JobSpec.extend({
  /** A key seen before on this agent returns the run it made (200), and makes no new one. */
  idempotency_key: z.string().min(1).max(256).optional(),
});

/** The run as every face of the API shows it. */
export interface Run {
  id: string;
  agent: string;
  status: RunStatus;
  argv: string[];
  labels: Record<string, string>;
  timeout_ms: number;
  attempt: number;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  cancel_requested: boolean;
  schedule_id: string | null;
  scheduled_for: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

/** Why an attempt ended, as the host reports it. */
export const EndReason = z.enum(["exit", "cancelled", "timed_out", "spawn_failed"]);
export type EndReason = z.infer<typeof EndReason>;
