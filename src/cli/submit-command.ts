/**
 * tether submit <agent> [FILE|-]: many runs from JSON Lines, each line a submit's body as
 * `POST /v1/agents/:agent/runs` takes it, sent through the batch submit 100 a call, or fewer
 * where 100 would pass the largest body a request may have.
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

interface Job {
  line: number;
  job: SubmitBody;
  /** Its bytes in a batch's body, with the idempotency key the SDK gives a job without one. */
  bytes: number;
}

/** `{"runs":[]}` around the jobs, and the key (a UUID) the SDK adds to a job sent without one. */
const ENVELOPE_BYTES = 16;
const KEY_BYTES = 64;

/** The file's jobs, each checked against the submit's schema: one bad line and nothing is sent. */
export function readJobs(text: string, keyPrefix?: string): Job[] {
  const jobs: Job[] = [];
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
    let job = value as SubmitBody;
    if (keyPrefix !== undefined && job.idempotency_key === undefined) job = { ...job, idempotency_key: `${keyPrefix}:${line}` };
    const bytes = Buffer.byteLength(JSON.stringify(job)) + KEY_BYTES + 1;
    // The server would refuse it alone as it would in any batch: say so before anything is sent.
    if (bytes + ENVELOPE_BYTES > LIMITS.bodyBytes) throw new UsageError(`line ${line}: ${bytes} bytes, more than the ${LIMITS.bodyBytes} one submit may be`, "submit");
    jobs.push({ line, job, bytes });
  }
  if (!jobs.length) throw new UsageError("no jobs to submit: give one JSON object a line", "submit");
  return jobs;
}

/** Submits every job, in order, and exits 0 when each was made (or was there already), 1 when any was refused. */
export async function submitCommand(connect: () => TetherClient, agent: string, source: string, flags: SubmitFlags): Promise<number> {
  // The file first: a mistake in it is said (exit 2) without any configuration or connection.
  const jobs = readJobs(await readSource(source), flags.keyPrefix);
  const client = connect();
  let refused = 0;
  for (const chunk of calls(jobs)) {
    let results: SubmitResult[];
    try {
      results = await client.submitMany(agent, chunk.map((j) => j.job));
    } catch (err) {
      // Say where it stopped: the lines before were submitted, and a run of the file again
      // with --key-prefix makes none of them twice.
      const done = chunk[0] !== jobs[0] ? `lines up to ${chunk[0]!.line - 1} were submitted, ` : "";
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

/** The jobs in order, in calls of at most 100 runs and at most one request body's bytes. */
export function calls(jobs: Job[]): Job[][] {
  const out: Job[][] = [];
  let chunk: Job[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const j of jobs) {
    if (chunk.length === LIMITS.runsPerBatch || (chunk.length && bytes + j.bytes > LIMITS.bodyBytes)) {
      out.push(chunk);
      chunk = [];
      bytes = ENVELOPE_BYTES;
    }
    chunk.push(j);
    bytes += j.bytes;
  }
  if (chunk.length) out.push(chunk);
  return out;
}

async function readSource(source: string): Promise<string> {
  try {
    if (source !== "-") return readFileSync(source, "utf8");
    // Read as a stream: a synchronous read of a pipe left non-blocking fails part way with EAGAIN.
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${source === "-" ? "stdin" : source}: ${(err as Error).message}`, "submit");
  }
}
