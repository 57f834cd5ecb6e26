/**
 * `tether run`'s flags: one for every field of the submit (CreateRunBody), so nothing the API
 * takes needs curl. Each flag is checked here, against the same zod schema the edge uses, so a
 * mistake is a usage error (exit 2) naming the flag, not a 400 after the round trip.
 */
import { readFileSync } from "node:fs";
import type { ParseArgsConfig } from "node:util";
import { CreateRunBody } from "../protocol/run.js";
import { inputs, pairs, UsageError } from "./flags.js";

export const RUN_OPTIONS = {
  help: { type: "boolean", short: "h" },
  detach: { type: "boolean", short: "d" },
  result: { type: "boolean" },
  interactive: { type: "boolean", short: "i" },
  stdin: { type: "string" },
  env: { type: "string", short: "e", multiple: true },
  secret: { type: "string", multiple: true },
  label: { type: "string", short: "l", multiple: true },
  input: { type: "string", multiple: true },
  timeout: { type: "string" },
  "queue-timeout": { type: "string" },
  attempts: { type: "string" },
  "retry-on": { type: "string", multiple: true },
  "retry-delay": { type: "string" },
  "retry-backoff": { type: "string" },
  "retry-max-delay": { type: "string" },
  priority: { type: "string" },
  lane: { type: "string" },
  concurrency: { type: "string" },
  "dedup-key": { type: "string" },
  "on-duplicate": { type: "string" },
  "idempotency-key": { type: "string" },
  "start-rate": { type: "string" },
  debounce: { type: "string" },
  require: { type: "string", multiple: true },
  prefer: { type: "string", multiple: true },
  runner: { type: "string" },
  prompt: { type: "string" },
  model: { type: "string" },
  "max-turns": { type: "string" },
  "allowed-tool": { type: "string", multiple: true },
  "append-system-prompt": { type: "string" },
  "detached-child": { type: "boolean" },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;

type RunFlag = keyof typeof RUN_OPTIONS | "--";
type SubmitField = keyof typeof CreateRunBody.shape;

/**
 * Which flag sets each submit field ("--" is the argv after it). Typed against the schema, so a
 * field added to the submit without a flag fails the type-check; test/unit/cli-run-flags.test.ts
 * checks the same at run time, and that each flag is in the help.
 */
export const FIELD_FLAGS: Record<SubmitField, readonly RunFlag[]> = {
  argv: ["--"],
  runner: ["runner"],
  prompt: ["prompt"],
  model: ["model"],
  max_turns: ["max-turns"],
  allowed_tools: ["allowed-tool"],
  append_system_prompt: ["append-system-prompt"],
  stdin: ["stdin", "interactive"],
  env: ["env"],
  secrets: ["secret"],
  labels: ["label"],
  timeout_ms: ["timeout"],
  retry: ["attempts", "retry-on", "retry-delay", "retry-backoff", "retry-max-delay"],
  queue_timeout_ms: ["queue-timeout"],
  inputs: ["input"],
  priority: ["priority"],
  concurrency: ["concurrency"],
  lane: ["lane"],
  dedup_key: ["dedup-key"],
  on_duplicate: ["on-duplicate"],
  start_rate: ["start-rate"],
  debounce: ["debounce"],
  requires: ["require"],
  prefer: ["prefer"],
  idempotency_key: ["idempotency-key"],
  detached: ["detached-child"],
};

export type RunValues = { [K in keyof typeof RUN_OPTIONS]?: (typeof RUN_OPTIONS)[K] extends { multiple: true } ? string[] : (typeof RUN_OPTIONS)[K] extends { type: "boolean" } ? boolean : string };

const bad = (flag: string, takes: string, given: string) => new UsageError(`--${flag} takes ${takes}, not ${JSON.stringify(given)}`, "run");

/** A length of time: seconds (`30`, `1.5`) or with a unit (`500ms`, `30s`, `5m`, `2h`); in ms. */
export function duration(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw bad(flag, "a length of time such as 30 (seconds), 500ms, 30s, 5m or 2h", v);
  const ms = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "s"]);
  return ms;
}

const int = (flag: string, v: string, what = "a whole number"): number => {
  if (!/^\d+$/.test(v.trim())) throw bad(flag, what, v);
  return Number(v);
};

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw bad(flag, allowed.join(", "), v);
  return v as T;
}

/** `key=K,limit=2,strategy=queue`: the parts named, each known; `bare` names the part a value without `=` is. */
function parts(flag: string, v: string, known: readonly string[], bare?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of v.split(",")) {
    const eq = item.indexOf("=");
    const [k, val] = eq < 0 ? [bare, item] : [item.slice(0, eq).trim(), item.slice(eq + 1)];
    if (!k || !known.includes(k)) throw bad(flag, known.map((n) => `${n}=…`).join(","), v);
    if (k in out) throw new UsageError(`--${flag} names ${k} twice`, "run");
    out[k] = val;
  }
  return out;
}

const PRIORITIES = ["low", "normal", "high", "urgent"] as const;
const STRATEGIES = ["queue", "cancel_in_progress", "cancel_newest", "round_robin"] as const;

/** The submit these flags make (all but stdin, which runCommand reads), checked as the edge will. */
export function runBody(v: RunValues, argv: string[], read = (f: string) => readFileSync(f, "utf8")): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (argv.length) body.argv = argv;
  if (v.runner !== undefined) body.runner = oneOf("runner", v.runner, ["claude"] as const);
  if (v.prompt !== undefined) body.prompt = v.prompt === "-" ? readFileSync(0, "utf8") : v.prompt.startsWith("@") ? read(v.prompt.slice(1)) : v.prompt;
  if (v.model !== undefined) body.model = v.model;
  if (v["max-turns"] !== undefined) body.max_turns = int("max-turns", v["max-turns"]);
  if (v["allowed-tool"]?.length) body.allowed_tools = v["allowed-tool"];
  if (v["append-system-prompt"] !== undefined) body.append_system_prompt = v["append-system-prompt"];
  const env = pairs(v.env, "--env", "run");
  if (Object.keys(env).length) body.env = env;
  if (v.secret?.length) body.secrets = v.secret;
  const labels = pairs(v.label, "--label", "run");
  if (Object.keys(labels).length) body.labels = labels;
  const ins = inputs(v.input, read, "run");
  if (Object.keys(ins).length) body.inputs = ins;
  if (v.timeout !== undefined) body.timeout_ms = duration("timeout", v.timeout);
  if (v["queue-timeout"] !== undefined) body.queue_timeout_ms = duration("queue-timeout", v["queue-timeout"]);
  const retry: Record<string, unknown> = {};
  if (v.attempts !== undefined) retry.max_attempts = int("attempts", v.attempts, "the most attempts, 1 to 100");
  if (v["retry-on"]?.length) retry.on = [...new Set(v["retry-on"].flatMap((s) => s.split(",")).filter(Boolean).map((s) => oneOf("retry-on", s, ["lost", "failed", "timed_out"] as const)))];
  if (v["retry-delay"] !== undefined) retry.delay_ms = duration("retry-delay", v["retry-delay"]);
  if (v["retry-backoff"] !== undefined) retry.backoff = oneOf("retry-backoff", v["retry-backoff"], ["fixed", "exponential"] as const);
  if (v["retry-max-delay"] !== undefined) retry.max_delay_ms = duration("retry-max-delay", v["retry-max-delay"]);
  if (Object.keys(retry).length) body.retry = retry;
  if (v.priority !== undefined) {
    if (/^\d$/.test(v.priority)) body.priority = Number(v.priority);
    else if ((PRIORITIES as readonly string[]).includes(v.priority)) body.priority = v.priority;
    else throw bad("priority", "0-9 or low, normal, high, urgent", v.priority);
  }
  if (v.lane !== undefined) body.lane = v.lane;
  if (v.concurrency !== undefined) {
    const p = parts("concurrency", v.concurrency, ["key", "limit", "strategy"], "key");
    if (p.key === undefined) throw bad("concurrency", "key=K[,limit=N][,strategy=S]", v.concurrency);
    body.concurrency = {
      key: p.key,
      ...(p.limit !== undefined && { limit: int("concurrency", p.limit, "limit=N, a whole number") }),
      ...(p.strategy !== undefined && { strategy: oneOf("concurrency", p.strategy, STRATEGIES) }),
    };
  }
  if (v["dedup-key"] !== undefined) body.dedup_key = v["dedup-key"];
  if (v["on-duplicate"] !== undefined) body.on_duplicate = oneOf("on-duplicate", v["on-duplicate"], ["error", "return"] as const);
  if (v["idempotency-key"] !== undefined) body.idempotency_key = v["idempotency-key"];
  if (v["start-rate"] !== undefined) {
    const p = parts("start-rate", v["start-rate"], ["key", "limit", "window", "window_s"]);
    const window = p.window ?? p.window_s;
    if (p.key === undefined || p.limit === undefined || window === undefined) throw bad("start-rate", "key=K,limit=N,window=SECONDS", v["start-rate"]);
    const windowMs = duration("start-rate", window);
    if (windowMs % 1000) throw bad("start-rate", "a window of whole seconds", v["start-rate"]);
    body.start_rate = { key: p.key, limit: int("start-rate", p.limit, "limit=N, a whole number"), window_s: windowMs / 1000 };
  }
  if (v.debounce !== undefined) body.debounce = debounce(v.debounce);
  const requires = pairs(v.require, "--require", "run");
  if (Object.keys(requires).length) body.requires = requires;
  const prefer = pairs(v.prefer, "--prefer", "run");
  if (Object.keys(prefer).length) body.prefer = prefer;
  if (v["detached-child"]) body.detached = true;
  if (!body.argv && !body.runner) throw new UsageError("tether run needs an agent, then the command after --: tether run <agent> -- <argv...>", "run");
  if (body.runner && body.prompt === undefined) throw new UsageError("--runner claude needs --prompt TEXT (or @FILE, or - for stdin)", "run");
  check(body);
  return body;
}

/** `--debounce key=K,ms=500`, or the short `--debounce K=500` (split at the last "="). */
function debounce(v: string): { key: string; ms: number } {
  if (/(^|,)key=/.test(v) && /(^|,)ms=/.test(v)) {
    const p = parts("debounce", v, ["key", "ms"]);
    return { key: p.key!, ms: int("debounce", p.ms!, "ms=N, whole milliseconds") };
  }
  const eq = v.lastIndexOf("=");
  if (eq <= 0) throw bad("debounce", "key=K,ms=MS (or K=MS)", v);
  return { key: v.slice(0, eq), ms: int("debounce", v.slice(eq + 1), "K=MS, whole milliseconds") };
}

const RETRY_FLAGS: Record<string, RunFlag> = { max_attempts: "attempts", on: "retry-on", delay_ms: "retry-delay", backoff: "retry-backoff", max_delay_ms: "retry-max-delay" };

/** The submit schema's own check, each problem said as the flag that set it. */
function check(body: Record<string, unknown>): void {
  const parsed = CreateRunBody.safeParse(body);
  if (parsed.success) return;
  const issue = parsed.error.issues[0]!;
  const field = issue.path[0] as SubmitField;
  const retryFlag = field === "retry" ? RETRY_FLAGS[String(issue.path[1])] : undefined;
  const flags = retryFlag ? [`--${retryFlag}`] : (FIELD_FLAGS[field] ?? []).filter((f) => f !== "--").map((f) => `--${f}`);
  const where = field === "argv" ? "the command after --" : flags.join("/") || String(field);
  const sub = retryFlag ? "" : issue.path.slice(1).filter((p) => typeof p === "string").join(".");
  throw new UsageError(`${where}${sub ? ` (${sub})` : ""}: ${issue.message}`, "run");
}
