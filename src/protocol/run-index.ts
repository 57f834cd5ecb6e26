/**
 * The workspace index's wire types: list queries and their pages, as the Worker checks them and
 * the SDK and CLI send them. One definition for every face.
 */
import { z } from "zod";
import { AgentName } from "./ids.js";
import { RunStatus, type Run } from "./run.js";

export const LIST_LIMIT_MAX = 200;
export const LIST_LIMIT_DEFAULT = 50;

const LabelPair = /^([A-Za-z0-9._/-]{1,64})=(.{0,256})$/s;

/** `k=v,k2=v2`: every pair must match. A value cannot hold a comma. */
export const LabelSelector = z
  .string()
  .max(4096)
  .transform((s, ctx) => {
    const out: [string, string][] = [];
    for (const part of s.split(",")) {
      const m = LabelPair.exec(part);
      if (!m) {
        ctx.addIssue({ code: "custom", message: `"${part.slice(0, 80)}" is not key=value (keys are 1-64 of A-Z a-z 0-9 . _ / -)` });
        return z.NEVER;
      }
      out.push([m[1]!, m[2]!]);
    }
    if (out.length > 16) {
      ctx.addIssue({ code: "custom", message: "at most 16 label pairs" });
      return z.NEVER;
    }
    return out;
  });

const Time = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const Limit = z.coerce.number().int().min(1).max(LIST_LIMIT_MAX).default(LIST_LIMIT_DEFAULT);
const Cursor = z.string().max(512);

/** `GET /v1/runs`: every filter is optional and all given must match. */
export const RunListQuery = z.strictObject({
  agent: AgentName.optional(),
  /** One status or several, comma-separated. */
  status: z
    .string()
    .transform((s) => s.split(","))
    .pipe(z.array(RunStatus).min(1).max(7))
    .optional(),
  label: LabelSelector.optional(),
  schedule: z.string().min(1).max(128).optional(),
  parent: z.string().min(1).max(128).optional(),
  created_after: Time.optional(),
  created_before: Time.optional(),
  /** Runs whose command line (argv joined by spaces) starts with this. */
  q: z.string().min(1).max(1024).optional(),
  cursor: Cursor.optional(),
  limit: Limit,
});
export type RunListQuery = z.infer<typeof RunListQuery>;

export const AgentListQuery = z.strictObject({ cursor: Cursor.optional(), limit: Limit });

/** A run as lists show it: the run without its inputs, and its result clipped to a summary. */
export interface RunSummary extends Omit<Run, "inputs" | "result"> {
  /** The result as JSON text, clipped to RESULT_SUMMARY_CHARS; null when there is none. */
  result_summary: string | null;
}
export const RESULT_SUMMARY_CHARS = 256;
/** argv past this many characters together is clipped in lists (the run itself has it whole). */
export const ARGV_SUMMARY_CHARS = 4096;

export interface RunPage {
  runs: RunSummary[];
  /** Pass as `cursor` for the next page; null on the last. */
  next_cursor: string | null;
}

/** An agent as the index lists it. */
export interface AgentSummary {
  name: string;
  created_at: string;
  queued: number;
  running: number;
  /** Hosts connected when the agent last wrote its row. */
  hosts: number;
  updated_at: string;
}

export interface AgentPage {
  agents: AgentSummary[];
  next_cursor: string | null;
}

export function summarize(run: Run): RunSummary {
  const { inputs: _i, result, ...rest } = run;
  let argv = rest.argv;
  if (argv.join(" ").length > ARGV_SUMMARY_CHARS) {
    const out: string[] = [];
    let n = 0;
    for (const a of argv) {
      if (n + a.length > ARGV_SUMMARY_CHARS) break;
      out.push(a);
      n += a.length + 1;
    }
    argv = out;
  }
  const json = result === null || result === undefined ? null : JSON.stringify(result);
  return { ...rest, argv, result_summary: json === null ? null : json.slice(0, RESULT_SUMMARY_CHARS) };
}
