/**
 * tether submit <agent> [FILE|-]: many runs from JSON Lines, each line a submit's body as
 * `POST /v1/agents/:agent/runs` takes it, sent 100 a call through the batch submit.
 */
import { readFileSync } from "node:fs";
import type { TetherClient, SubmitBody, SubmitResult } from "../client/sdk.js";
import { LIMITS } from "../protocol/limits.js";
import { CreateRunBody } from "../protocol/run.js";
import { UsageError } from "./flags.js";

export interface SubmitFlags {
  json: boolean;
  /** Each line without a key of its own gets PREFIX:LINE, so running the file again makes no run twice. */
  keyPrefix?: string;
}

/** The file's jobs, each checked against the submit's schema: one bad line and nothing is sent. */
export function readJobs(text: string, keyPrefix?: string): { line: number; job: SubmitBody }[] {
  const jobs: { line: number; job: SubmitBody }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const src = lines[i]!.trim();
    if (!src || src.startsWith("#")) continue;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(src);
    } catch (err) {
      throw new UsageError(`line ${line} is not JSON: ${(err as Error).message}`, "submit");
    }
    const parsed = CreateRunBody.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const at = issue.path.length ? `${issue.path.join(".")}: ` : "";
      throw new UsageError(`line ${line}: ${at}${issue.message}`, "submit");
    }
    const job = value as SubmitBody;
    jobs.push({ line, job: keyPrefix !== undefined && job.idempotency_key === undefined ? { ...job, idempotency_key: `${keyPrefix}:${line}` } : job });
  }
  if (!jobs.length) throw new UsageError("no jobs to submit: give one JSON object a line", "submit");
  return jobs;
}

/** Submits every job, in order, and exits 0 when each was made (or was there already), 1 when any was refused. */
export async function submitCommand(connect: () => TetherClient, agent: string, source: string, flags: SubmitFlags): Promise<number> {
  // The file first: a mistake in it is said (exit 2) without any configuration or connection.
  const jobs = readJobs(readSource(source), flags.keyPrefix);
  const client = connect();
  let refused = 0;
  for (let at = 0; at < jobs.length; at += LIMITS.runsPerBatch) {
    const chunk = jobs.slice(at, at + LIMITS.runsPerBatch);
    let results: SubmitResult[];
    try {
      results = await client.submitMany(agent, chunk.map((j) => j.job));
    } catch (err) {
      // Say where it stopped: the lines before were submitted, and a run of the file again
      // with --key-prefix makes none of them twice.
      const done = at ? `lines up to ${chunk[0]!.line - 1} were submitted, ` : "";
      throw Object.assign(err as Error, { message: `${(err as Error).message} (${done}line ${chunk[0]!.line} on were not)` });
    }
    results.forEach((r, i) => {
      const line = chunk[i]!.line;
      if ("problem" in r) {
        refused++;
        if (flags.json) console.log(JSON.stringify({ line, problem: r.problem }));
        else console.error(`tether: line ${line}: ${r.problem.title}${r.problem.detail ? `: ${r.problem.detail}` : ""}`);
      } else if (flags.json) console.log(JSON.stringify({ line, created: r.created, run: r.run }));
      else console.log(r.run.id);
    });
  }
  return refused ? 1 : 0;
}

function readSource(source: string): string {
  try {
    return readFileSync(source === "-" ? 0 : source, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${source === "-" ? "stdin" : source}: ${(err as Error).message}`, "submit");
  }
}
