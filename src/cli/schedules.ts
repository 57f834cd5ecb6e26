/** tether schedules: create, list, show, change, delete, trigger and preview schedules. */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { JobSpec, Schedule, ScheduleChange, TetherClient } from "../client/sdk.js";
import type { Misfire, Overlap } from "../protocol/schedule.js";
import { flagError } from "./errors.js";
import { pairs, UsageError } from "./flags.js";
import { closest } from "./help.js";

const SUBCOMMANDS = ["create", "ls", "get", "update", "delete", "trigger", "preview", "events"];

export const SCHEDULES_USAGE = `usage:
  tether schedules create <agent> --cron EXPR [--tz ZONE] [--overlap skip|allow|queue] [--misfire run_once|skip|catch_up]
                          [--paused] [--env K=V]... [--label K=V]... [--timeout SECONDS] [--stdin FILE|-] -- <argv...>
  tether schedules ls [--agent NAME] [--limit N] [--cursor ID] [--json]
  tether schedules get <id>
  tether schedules update <id> [--cron EXPR] [--tz ZONE] [--overlap ...] [--misfire ...] [--pause|--resume]
                          [[--env K=V]... [--label K=V]... [--timeout SECONDS] [--stdin FILE|-] -- <argv...>]
  tether schedules delete <id>
  tether schedules trigger <id> [--json]
  tether schedules preview <id> [--count N] [--from ISO-TIME] [--json]
  tether schedules events <id> [--json]

EXPR is a cron expression of 5 fields (or 6, seconds first) or a macro such as @daily, in ZONE
(an IANA time zone, default UTC). Quote it: --cron '*/5 * * * *'. Given \`-- <argv...>\`, update
replaces the whole job, with the --env, --label, --timeout and --stdin given alongside.
--json prints what ls, trigger, preview and events print as one JSON document (get, create and
update print JSON always).

example:
  tether schedules create local --cron '*/5 * * * *' -- sh -c 'date'   # every five minutes, UTC
  tether schedules preview <id> --count 3                             # when it will fire next`;

const OPTIONS = {
  cron: { type: "string" },
  tz: { type: "string" },
  overlap: { type: "string" },
  misfire: { type: "string" },
  paused: { type: "boolean" },
  pause: { type: "boolean" },
  resume: { type: "boolean" },
  env: { type: "string", short: "e", multiple: true },
  label: { type: "string", short: "l", multiple: true },
  timeout: { type: "string" },
  stdin: { type: "string" },
  agent: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  count: { type: "string" },
  from: { type: "string" },
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
} as const;


/** Runs a `tether schedules ...` command; resolves to the exit code. */
export async function schedulesCommand(args: string[], client: () => TetherClient): Promise<number> {
  const dash = args.indexOf("--");
  const argv = dash < 0 ? [] : args.slice(dash + 1);
  let parsed;
  try {
    parsed = parseArgs({ args: dash < 0 ? args : args.slice(0, dash), allowPositionals: true, options: OPTIONS });
  } catch (err) {
    return usage(flagError(err, "schedules", Object.keys(OPTIONS)).message);
  }
  const { values: v, positionals } = parsed;
  const [sub, target] = positionals;
  if (v.help || !sub) {
    console.log(SCHEDULES_USAGE);
    return v.help ? 0 : 2;
  }
  const print = (x: unknown) => console.log(JSON.stringify(x, null, 2));
  try {
    switch (sub) {
      case "create": {
        if (!target || !v.cron || !argv.length) return usage("tether schedules create <agent> --cron EXPR -- <argv...>");
        print(
          await client().createSchedule(target, {
            cron: v.cron,
            run: job(argv, v),
            ...(v.tz !== undefined && { timezone: v.tz }),
            ...(v.overlap !== undefined && { overlap: v.overlap as Overlap }),
            ...(v.misfire !== undefined && { misfire: v.misfire as Misfire }),
            ...(v.paused && { enabled: false }),
          }),
        );
        return 0;
      }
      case "ls":
      case "list": {
        const limit = v.limit === undefined ? undefined : positiveInt(v.limit, "--limit");
        const page = await client().listSchedules({ ...(v.agent && { agent: v.agent }), ...(v.cursor && { cursor: v.cursor }), ...(limit && { limit }) });
        if (v.json) return print(page), 0;
        for (const s of page.schedules) console.log(line(s));
        if (page.next_cursor) console.error(`more: tether schedules ls --cursor ${page.next_cursor}`);
        return 0;
      }
      case "get":
        if (!target) return usage("tether schedules get <id>");
        print(await client().getSchedule(target));
        return 0;
      case "update": {
        if (!target) return usage("tether schedules update <id> [changes]");
        if (v.pause && v.resume) return usage("--pause and --resume contradict each other");
        const change: ScheduleChange = {
          ...(v.cron !== undefined && { cron: v.cron }),
          ...(v.tz !== undefined && { timezone: v.tz }),
          ...(v.overlap !== undefined && { overlap: v.overlap as Overlap }),
          ...(v.misfire !== undefined && { misfire: v.misfire as Misfire }),
          ...(v.pause && { enabled: false }),
          ...(v.resume && { enabled: true }),
          ...(argv.length && { run: job(argv, v) }),
        };
        if (!Object.keys(change).length) return usage("say what to change");
        print(await client().updateSchedule(target, change));
        return 0;
      }
      case "delete":
        if (!target) return usage("tether schedules delete <id>");
        await client().deleteSchedule(target);
        return 0;
      case "trigger":
        if (!target) return usage("tether schedules trigger <id>");
        const run = await client().triggerSchedule(target);
        console.log(v.json ? JSON.stringify(run, null, 2) : run.id);
        return 0;
      case "preview": {
        if (!target) return usage("tether schedules preview <id> [--count N] [--from ISO-TIME]");
        const count = v.count === undefined ? undefined : positiveInt(v.count, "--count");
        const p = await client().previewSchedule(target, { ...(count && { count }), ...(v.from && { from: v.from }) });
        if (v.json) return print(p), 0;
        for (const t of p.times) console.log(t);
        return 0;
      }
      case "events":
        if (!target) return usage("tether schedules events <id>");
        const events = await client().scheduleEvents(target);
        if (v.json) return print({ events }), 0;
        for (const e of events) console.log(JSON.stringify(e));
        return 0;
      default:
        return usage(`unknown schedules command ${sub}${hint(sub)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    throw err;
  }
}

type Values = { env?: string[]; label?: string[]; timeout?: string; stdin?: string };

function job(argv: string[], v: Values): JobSpec {
  const env = pairs(v.env, "--env", "schedules");
  const labels = pairs(v.label, "--label", "schedules");
  let timeout_ms: number | undefined;
  if (v.timeout !== undefined) {
    const s = Number(v.timeout);
    if (!(s > 0)) throw new UsageError("--timeout takes seconds, more than 0");
    timeout_ms = Math.round(s * 1000);
  }
  return {
    argv,
    ...(v.stdin !== undefined && { stdin: readFileSync(v.stdin === "-" ? 0 : v.stdin, "utf8") }),
    ...(Object.keys(env).length && { env }),
    ...(Object.keys(labels).length && { labels }),
    ...(timeout_ms !== undefined && { timeout_ms }),
  };
}

function positiveInt(s: string, flag: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} takes a whole number, 1 or more`);
  return n;
}

/** One schedule per line, tab-separated, for people and for cut(1). */
function line(s: Schedule): string {
  const state = s.enabled ? `next ${s.next_run_at ?? "-"}` : "paused";
  return [s.id, s.agent, JSON.stringify(s.cron), s.timezone, state, `last ${s.last_status ?? "-"}`, `fires ${s.fires} skips ${s.skips} misfires ${s.misfires}`].join("\t");
}

function hint(sub: string): string {
  const near = closest(sub, SUBCOMMANDS);
  return near ? ` (did you mean ${near}?)` : "";
}

function usage(msg: string): number {
  console.error(`tether: ${msg}\nSee \`tether schedules --help\` for usage and an example.`);
  return 2;
}
