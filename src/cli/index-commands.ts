/** tether ls, tether agents ls, tether status: the workspace index and an agent's status, for people. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { RunListFilter, TetherClient } from "../client/sdk.js";
import type { AgentStatus } from "../protocol/agent-status.js";
import type { RunSummary } from "../protocol/run-index.js";
import { flagError } from "./errors.js";
import { pairs, UsageError } from "./flags.js";
import { commandHelp } from "./help.js";
import { paint, statusText } from "./style.js";

const LS_OPTIONS = {
  agent: { type: "string", short: "a" },
  status: { type: "string", short: "s", multiple: true },
  label: { type: "string", short: "l", multiple: true },
  schedule: { type: "string" },
  parent: { type: "string" },
  since: { type: "string" },
  before: { type: "string" },
  q: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  all: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function parse<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: O, command: string) {
  try {
    return parseArgs({ args, allowPositionals: true, strict: true, options });
  } catch (err) {
    throw flagError(err, command, Object.keys(options!));
  }
}

/** `--since 2h`, `--since 3d` or an ISO time. */
function when(v: string | undefined, flag: string): string | undefined {
  if (v === undefined) return undefined;
  const rel = /^(\d+)([smhd])$/.exec(v);
  if (rel) return new Date(Date.now() - Number(rel[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[rel[2] as "s"]).toISOString();
  if (Number.isNaN(Date.parse(v))) throw new UsageError(`${flag} takes an ISO time or an age such as 2h or 3d, not ${v}`, "ls");
  return new Date(v).toISOString();
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));

function table(runs: RunSummary[]): string {
  const rows = runs.map((r) => [r.id, r.status, r.exit_code === null ? "-" : String(r.exit_code), r.created_at.replace(/\.\d+Z$/, "Z"), r.argv.join(" ").slice(0, 60)]);
  const head = ["RUN", "STATUS", "EXIT", "CREATED", "COMMAND"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Colour (TTY only) goes on after padding: escape codes would count as width.
  const cell = (c: string, i: number, r: string[]) => (i === r.length - 1 ? c : r !== head && i === 1 ? statusText(c, widths[i]!) : pad(c, widths[i]!));
  return [head, ...rows].map((r) => r.map((c, i) => cell(c, i, r)).join("  ")).join("\n");
}

export async function lsCommand(args: string[], connect: () => TetherClient): Promise<number> {
  const { values: v, positionals } = parse(args, LS_OPTIONS, "ls");
  if (v.help) return void console.log(commandHelp("ls")), 0;
  if (positionals.length) throw new UsageError(`tether ls takes flags only, not ${positionals[0]}`, "ls");
  const limit = v.limit === undefined ? undefined : Number(v.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 200)) throw new UsageError("--limit takes a number from 1 to 200", "ls");
  const labels = pairs(v.label, "--label", "ls");
  const filter: RunListFilter = {
    ...(v.agent !== undefined && { agent: v.agent }),
    ...(v.status && { status: v.status.flatMap((s) => s.split(",")) }),
    ...(Object.keys(labels).length && { label: labels }),
    ...(v.schedule !== undefined && { schedule: v.schedule }),
    ...(v.parent !== undefined && { parent: v.parent }),
    ...(v.since !== undefined && { created_after: when(v.since, "--since") }),
    ...(v.before !== undefined && { created_before: when(v.before, "--before") }),
    ...(v.q !== undefined && { q: v.q }),
    ...(limit !== undefined && { limit }),
    ...(v.cursor !== undefined && { cursor: v.cursor }),
  };
  const client = connect();
  const runs: RunSummary[] = [];
  let next: string | null = null;
  do {
    const page = await client.listRuns(next ? { ...filter, cursor: next } : filter);
    runs.push(...page.runs);
    next = page.next_cursor;
  } while (v.all && next);
  if (v.json) console.log(JSON.stringify({ runs, next_cursor: next }, null, 2));
  else {
    if (runs.length) console.log(table(runs));
    if (next) console.error(`more: tether ls ... --cursor ${next} (or --all)`);
  }
  return 0;
}

export async function agentsLsCommand(args: string[], connect: () => TetherClient): Promise<number> {
  const { values: v, positionals } = parse(args, { json: { type: "boolean" }, cursor: { type: "string" }, limit: { type: "string" }, help: { type: "boolean", short: "h" } } as const, "agents");
  if (v.help) return void console.log(commandHelp("agents")), 0;
  if (positionals.length) throw new UsageError(`tether agents ls takes flags only, not ${positionals[0]}`, "agents");
  const limit = v.limit === undefined ? undefined : Number(v.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 200)) throw new UsageError("--limit takes a number from 1 to 200", "agents");
  const page = await connect().listAgents({ ...(v.cursor !== undefined && { cursor: v.cursor }), ...(limit !== undefined && { limit }) });
  if (v.json) return console.log(JSON.stringify(page, null, 2)), 0;
  const w = Math.max(12, ...page.agents.map((a) => a.name.length));
  // Colour after padding (escape codes would count as width): running blue, queued yellow, no host red.
  const n = (count: number, width: number, colour: string) => (count > 0 ? paint(colour, pad(String(count), width)) : pad(String(count), width));
  const rows = page.agents.map((a) => `${pad(a.name, w)} ${n(a.queued, 7, "yellow")} ${n(a.running, 8, "blue")} ${a.hosts === 0 ? paint("red", "0") : a.hosts}`);
  console.log([paint("bold", `${pad("AGENT", w)} QUEUED  RUNNING  HOSTS`), ...rows].join("\n"));
  if (page.next_cursor) console.error(`more: tether agents ls --cursor ${page.next_cursor}`);
  return 0;
}

const ms = (n: number | null) => (n === null ? "-" : n < 1000 ? `${n} ms` : n < 120_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n / 60_000)} min`);

export function formatStatus(s: AgentStatus): string {
  const head = (t: string) => paint("bold", t);
  const lines = [`agent ${paint("bold", s.agent)} at ${s.at}`, head(`hosts (${s.hosts.length}):`)];
  if (!s.hosts.length) lines.push(`  ${paint("red", "none connected")}: runs wait until a host connects`);
  for (const h of s.hosts) {
    const labels = h.labels && Object.keys(h.labels).length ? `  ${Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(",")}` : "";
    lines.push(`  ${h.host_id} ${h.hostname} v${h.version}  ${h.busy}/${h.slots} busy${h.draining ? `, ${paint("yellow", "draining")}` : ""}${labels}  connected ${h.connected_at}, last heard ${h.last_heard_at}`);
  }
  lines.push(head(`queue: ${s.queue.depth} waiting${s.queue.oldest_age_ms !== null ? `, oldest ${ms(s.queue.oldest_age_ms)}` : ""}`));
  for (const w of s.queue.waiting) lines.push(`  ${w.runs} ${paint("yellow", w.reason)}`);
  lines.push(head(`running (${s.running.length}):`), ...s.running.map((r) => `  ${r.id}  ${statusText(r.status)}  ${r.argv.join(" ").slice(0, 60)}`));
  const width = Math.max(0, ...s.recent.map((r) => r.status.length));
  lines.push(head("recent:"), ...s.recent.map((r) => `  ${r.id}  ${statusText(r.status, width)}  ${r.exit_code !== null ? `exit ${r.exit_code}` : "-"}  ${r.ended_at}`));
  const colourTally = (c: Record<string, number | undefined>) => Object.entries(c).map(([k, n]) => `${statusText(k)} ${n}`).join(", ") || "none";
  lines.push(`ended last hour: ${colourTally(s.ended.last_hour)}`, `ended last day: ${colourTally(s.ended.last_day)}`, `p50 wait ${ms(s.p50_wait_ms)}, p50 run ${ms(s.p50_run_ms)}`);
  return lines.join("\n");
}

export async function statusCommand(args: string[], connect: () => TetherClient): Promise<number> {
  const { values: v, positionals } = parse(args, { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const, "status");
  if (v.help) return void console.log(commandHelp("status")), 0;
  const [agent] = positionals;
  if (!agent) throw new UsageError("tether status needs an agent: tether status <agent>", "status");
  const s = await connect().agentStatus(agent);
  console.log(v.json ? JSON.stringify(s, null, 2) : formatStatus(s));
  return 0;
}
