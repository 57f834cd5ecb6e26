import { z } from "zod";
import { SecretName } from "./secret.js";
import { LIMITS } from "./limits.js";

const encoder = new TextEncoder();
const utf8Bytes = (s: string) => encoder.encode(s).length;
// A UTF-16 unit is at most 3 bytes of UTF-8: a string short enough by that needs no encoding.
const boundedString = (max: number, what: string) =>
  z.string().refine((s) => s.length <= max && (s.length * 3 <= max || utf8Bytes(s) <= max), `${what} is longer than ${max} bytes`);

const EnvKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "is not a valid environment variable name");
export const LabelKey = z.string().regex(/^[A-Za-z0-9._/-]{1,64}$/, "label keys are 1-64 of A-Z a-z 0-9 . _ / -");

const boundedRecord = <K extends z.ZodString, V extends z.ZodType>(key: K, value: V, max: number, what: string) =>
  z.record(key, value).refine((r) => Object.keys(r).length <= max, `at most ${max} ${what}`);

export const RunStatus = z.enum(["queued", "awaiting_approval", "running", "succeeded", "failed", "cancelled", "timed_out", "orphaned"]);
export type RunStatus = z.infer<typeof RunStatus>;
export const TERMINAL: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "cancelled", "timed_out", "orphaned"]);
export const isTerminal = (s: RunStatus) => TERMINAL.has(s);

/** Which outcomes of an attempt may be tried again, how often and after how long. */
export const RetryOn = z.enum(["lost", "failed", "timed_out"]);
export const RetryPolicy = z.strictObject({
  max_attempts: z.number().int().min(1).max(100),
  on: z.array(RetryOn).max(3),
  delay_ms: z.number().int().min(0).max(24 * 3600 * 1000),
  backoff: z.enum(["fixed", "exponential"]),
  max_delay_ms: z.number().int().min(0).max(24 * 3600 * 1000),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;
/** A host that vanished is retried once; a command that failed is not, unless asked. */
export const DEFAULT_RETRY: RetryPolicy = { max_attempts: 2, on: ["lost"], delay_ms: 1000, backoff: "exponential", max_delay_ms: 60_000 };

/** A JSON value, shallowly typed: deep recursive types cost the checker too much across object RPC. */
export type Json = string | number | boolean | null | object;

/** An input's name: it becomes TETHER_INPUT_<NAME>, upper-cased. */
const InputName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "input names are a letter, then up to 63 of A-Z a-z 0-9 _");
/** Checked as JSON in full; typed shallowly, as Json says why. */
const JsonValue = z.json() as unknown as z.ZodType<Json>;
const Inputs = boundedRecord(InputName, JsonValue, LIMITS.inputEntries, "inputs")
  .refine((r) => utf8Bytes(JSON.stringify(r)) <= LIMITS.inputBytes, `inputs are more than ${LIMITS.inputBytes} bytes of JSON together`)
  .refine((r) => new Set(Object.keys(r).map((k) => k.toUpperCase())).size === Object.keys(r).length, "two inputs have the same name, ignoring case");

const PRIORITY_WORDS = { low: 2, normal: 5, high: 7, urgent: 9 } as const;
/** A priority as given: 0-9, or low (2), normal (5, the default), high (7), urgent (9). */
export const Priority = z.union([z.number().int().min(0).max(9), z.enum(["low", "normal", "high", "urgent"])]);
export const priorityOf = (p: z.infer<typeof Priority> | undefined): number => (p === undefined ? PRIORITY_WORDS.normal : typeof p === "number" ? p : PRIORITY_WORDS[p]);
const ConcurrencyKey = z.string().min(1).max(256);
export const Concurrency = z.strictObject({
  key: ConcurrencyKey,
  limit: z.number().int().min(1).max(1000).default(1),
  /**
   * queue: wait for a free place, in order. cancel_in_progress: the new run cancels the key's
   * others. cancel_newest: the new run is cancelled while the key is full. round_robin: waits as
   * queue does, and among the keys with a run ready the one served least recently goes next.
   */
  strategy: z.enum(["queue", "cancel_in_progress", "cancel_newest", "round_robin"]).default("queue"),
});

/** What a client may ask a host to run. Shared by submit, schedules and the host's assignment. */
export const JobSpec = z.strictObject({
  /** The program and its arguments; a run gives this or a `runner`. */
  argv: z.array(boundedString(LIMITS.argBytes, "an argument")).min(1, "argv needs at least the program to run").max(LIMITS.argvItems).optional(),
  /** Instead of argv: an agent the host runs for the job, here Claude Code, given `prompt`. */
  runner: z.literal("claude").optional(),
  prompt: boundedString(LIMITS.stdinBytes, "the prompt").optional(),
  model: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, "is not a model name").optional(),
  max_turns: z.number().int().min(1).max(1000).optional(),
  allowed_tools: z.array(z.string().regex(/^[A-Za-z0-9_():*, .\/-]{1,200}$/, "is not a tool pattern")).max(100).optional(),
  append_system_prompt: boundedString(64 * 1024, "append_system_prompt").optional(),
  /** The job's stdin: bytes given now, or `{mode: "pipe"}` to keep it open for live input. */
  stdin: z.union([boundedString(LIMITS.stdinBytes, "stdin"), z.strictObject({ mode: z.literal("pipe") })]).optional(),
  env: boundedRecord(EnvKey, boundedString(LIMITS.envValueBytes, "an environment value"), LIMITS.envEntries, "environment variables").optional(),
  /** The agent's secrets the job gets, each as the environment variable of its name; cut from its output. */
  secrets: z.array(SecretName).max(50, "a run names at most 50 secrets").optional(),
  labels: boundedRecord(LabelKey, boundedString(LIMITS.labelValueBytes, "a label value"), LIMITS.labelEntries, "labels").optional(),
  timeout_ms: z.number().int().min(1).max(LIMITS.timeoutMsMax).optional(),
  /** Fields left out take the agent's defaults. */
  retry: RetryPolicy.partial().optional(),
  /** A run still waiting for a host after this long ends cancelled. */
  queue_timeout_ms: z.number().int().min(1).max(LIMITS.timeoutMsMax).optional(),
  /** Named JSON values for the job, as TETHER_INPUT_<NAME>; shown on the run (unlike env). */
  inputs: Inputs.optional(),
  /** Higher goes first (0-9, or a word); runs of one priority go in the order they came. */
  priority: Priority.optional(),
  /** At most `limit` runs of the key run at once; what a new run does about the others is the strategy. */
  concurrency: Concurrency.optional(),
  /** Shorthand for concurrency {key: lane, limit: 1, strategy: "queue"}: one at a time, in order. */
  lane: ConcurrencyKey.optional(),
  /** At most one queued-or-running run per key: another submit gets 409 (or, with on_duplicate "return", that run). */
  dedup_key: z.string().min(1).max(256).optional(),
  on_duplicate: z.enum(["error", "return"]).optional(),
  /** At most `limit` runs of `key` start in any `window_s` seconds; a run past it waits (it is not refused). */
  start_rate: z.strictObject({ key: ConcurrencyKey, limit: z.number().int().min(1).max(100_000), window_s: z.number().int().min(1).max(24 * 3600) }).optional(),
  /**
   * A new run with the key replaces the one of the key still waiting to start (it ends cancelled)
   * and becomes ready `ms` after its submit: of a burst, the last one runs.
   */
  debounce: z.strictObject({ key: z.string().min(1).max(256), ms: z.number().int().min(0).max(24 * 3600 * 1000) }).optional(),
  /** Host labels the run needs, every one of them matching. */
  requires: boundedRecord(LabelKey, boundedString(LIMITS.labelValueBytes, "a label value"), LIMITS.labelEntries, "requires").optional(),
  /** Host labels it would rather have: of the hosts free to take it, the one matching most goes first. Never makes it wait. */
  prefer: boundedRecord(LabelKey, boundedString(LIMITS.labelValueBytes, "a label value"), LIMITS.labelEntries, "prefer").optional(),
});
export type JobSpec = z.infer<typeof JobSpec>;

export const CreateRunBody = JobSpec.extend({
  /** A key seen before on this agent returns the run it made (200), and makes no new one. */
  idempotency_key: z.string().min(1).max(256).optional(),
  /** Submitted from inside a job: a detached child goes on when its parent is cancelled. */
  detached: z.boolean().optional(),
});

/** Many submits in one call (POST /v1/agents/:agent/runs/batch), each as a submit's body. */
export const CreateRunsBody = z.strictObject({ runs: z.array(CreateRunBody).min(1).max(LIMITS.runsPerBatch) });

/** The run as every face of the API shows it. */
export interface Run {
  id: string;
  agent: string;
  status: RunStatus;
  argv: string[];
  /** Submitted with `stdin: {mode: "pipe"}`: it takes live input through /input. */
  stdin_pipe: boolean;
  /** The runner the host runs for the job (its argv is that runner's command), or null. */
  runner: "claude" | null;
  labels: Record<string, string>;
  inputs: Record<string, Json>;
  /** What the job returned (the JSON it wrote to TETHER_RESULT_PATH), or null. */
  result: Json | null;
  timeout_ms: number;
  retry: RetryPolicy;
  attempt: number;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  cancel_requested: boolean;
  schedule_id: string | null;
  scheduled_for: string | null;
  /** The run whose job submitted this one with its own token, or null. */
  parent_run_id: string | null;
  detached: boolean;
  /** 0-9, higher first. */
  priority: number;
  /** The concurrency key it counts against, with its limit, or null. */
  concurrency: { key: string; limit: number; strategy: string } | null;
  dedup_key: string | null;
  /** Host labels it needs. */
  requires: Record<string, string>;
  /** Host labels it would rather have. */
  prefer: Record<string, string>;
  /** Asked of a person when a host's policy did not allow the job and its owner asks; null otherwise. */
  approval: Approval | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

/**
 * A run a host's policy did not allow, held for a person: `asked` until approved (it may then
 * run on a host whose policy takes approved runs), denied or expired (it ends cancelled).
 */
export interface Approval {
  state: "asked" | "approved" | "denied" | "expired";
  /** What the host's policy said of the job: which program, which rule. */
  reason: string;
  host_id: string;
  asked_at: string;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  note: string | null;
}

/** A person's answer to an approval request. */
export const ApprovalBody = z.strictObject({ reason: z.string().max(512).optional() });

/** Why an attempt ended, as the host reports it. */
export const EndReason = z.enum(["exit", "cancelled", "timed_out", "spawn_failed", "agent_stop", "fenced"]);
export type EndReason = z.infer<typeof EndReason>;
