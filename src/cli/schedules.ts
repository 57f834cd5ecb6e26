/** tether schedules: create, list, show, change, delete, trigger and preview schedules. */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { JobSpec, Schedule, ScheduleChange, TetherClient } from "../client/sdk.js";
import type { Misfire, Overlap } from "../protocol/schedule.js";
import { flagError } from "./errors.js";
import { UsageError } from "./flags.js";
import { closest } from "./help.js";
import { RUN_OPTIONS, runBody, type RunValues } from "./run-flags.js";

const SUBCOMMANDS = ["create", "ls", "get", "update", "delete", "trigger", "preview", "events"];

export const SCHEDULES_USAGE = `usage:
  tether schedules create <agent> --cron EXPR [--tz ZONE] [--overlap skip|allow|queue] [--misfire run_once|skip|catch_up]
                          [--paused] [job flags] [--stdin FILE|-] -- <argv...>
  tether schedules ls [--agent NAME] [--limit N] [--cursor ID] [--json]
  tether schedules get <id>
  tether schedules update <id> [--cron EXPR] [--tz ZONE] [--overlap ...] [--misfire ...] [--pause|--resume]
                          [[job flags] [--stdin FILE|-] -- <argv...>]
  tether schedules delete <id>
  tether schedules trigger <id> [--json]
  tether schedules preview <id> [--count N] [--from ISO-TIME] [--json]
  tether schedules events <id> [--json]

EXPR is a cron expression of 5 fields (or 6, seconds first) or a macro such as @daily, in ZONE
(an IANA time zone, default UTC). Quote it: --cron '*/5 * * * *'. Given \`-- <argv...>\`, update
replaces the whole job, with the job flags given alongside. The job flags are tether run's
(tether run --help), but for --detach, --result, --interactive, --idempotency-key and
--detached-child, which are about one submit: --env, --label, --timeout, --priority, --lane,
--concurrency, --require, --prefer, --attempts, --secret, --input and the rest.
--json prints what ls, trigger, preview and events print as one JSON document (get, create and
update print JSON always).

example:
  tether schedules create local --cron '*/5 * * * *' -- sh -c 'date'   # every five minutes, UTC
  tether schedules preview <id> --count 3                             # when it will fire next`;

/** A schedule's job takes every flag tether run has for the job itself; not those about a single submit or the terminal. */
const NOT_FOR_A_SCHEDULE = new Set(["help", "detach", "result", "interactive", "stdin", "idempotency-key", "detached-child"]);
const JOB_OPTIONS = Object.fromEntries(Object.entries(RUN_OPTIONS).filter(([k]) => !NOT_FOR_A_SCHEDULE.has(k))) as Omit<
  typeof RUN_OPTIONS,
  "help" | "detach" | "result" | "interactive" | "stdin" | "idempotency-key" | "detached-child"
>;

const OPTIONS = {
  ...JOB_OPTIONS,
  cron: { type: "string" },
  tz: { type: "string" },
  overlap: { type: "string" },
  misfire: { type: "string" },
  paused: { type: "boolean" },
  pause: { type: "boolean" },
  resume: { type: "boolean" },
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

/** The job: what tether run's flags make of the same flags (checked the same way), and the stdin file read whole. */
function job(argv: string[], v: RunValues & { stdin?: string }): JobSpec {
  const body = runBody(v, argv) as JobSpec;
  return { ...body, ...(v.stdin !== undefined && { stdin: readFileSync(v.stdin === "-" ? 0 : v.stdin, "utf8") }) };
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
