/**
 * Cron expressions in a time zone, by croner. Daylight saving follows Vixie cron: a fixed time
 * of day (no wildcard or step in the second, minute and hour fields, lists included) that does
 * not exist that day fires once at the first instant after the gap, and one that occurs twice
 * fires once, at the first; an interval (`*` or a step in those fields) keeps its rhythm in
 * real time, so it runs through the repeated hour and skips what the gap swallowed.
 */
import { Cron } from "croner";

const OPTIONS = { paused: true, mode: "5-or-6-parts", fixedTimeRule: "no-wildcard" } as const;

/** Expressions compile once per object; the cache is bounded because patterns come from clients. */
const cache = new Map<string, Cron>();
const CACHE_MAX = 512;

export class CronError extends Error {}

/** The compiled expression; throws CronError saying what is wrong with it or with the zone. */
export function compileCron(cron: string, timezone: string): Cron {
  const key = `${timezone}\n${cron}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const zoneProblem = checkZone(timezone);
  if (zoneProblem) throw new CronError(zoneProblem);
  const shapeProblem = checkShape(cron);
  if (shapeProblem) throw new CronError(`the cron expression is invalid: ${shapeProblem}`);
  let compiled: Cron;
  try {
    compiled = new Cron(cron, { ...OPTIONS, timezone });
  } catch (e) {
    throw new CronError(`the cron expression is invalid: ${((e as Error).message ?? "").replace(/^Cron\w*:\s*/, "")}`);
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, compiled);
  return compiled;
}

/** Null when the expression and zone are usable from `now` on, else what is wrong. */
export function cronProblem(cron: string, timezone: string, now = Date.now()): string | null {
  try {
    if (nextAfter(compileCron(cron, timezone), now) === null) return "the cron expression matches no date from now on";
    return null;
  } catch (e) {
    if (e instanceof CronError) return e.message;
    throw e;
  }
}

const MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/** croner's own words for these cases speak of forms we do not accept, so ours come first. */
function checkShape(cron: string): string | null {
  const t = cron.trim();
  if (t.startsWith("@")) return MACROS.includes(t.toLowerCase()) ? null : `unknown macro ${t} (use one of ${MACROS.join(", ")})`;
  const fields = t.split(/\s+/).length;
  if (fields === 5 || fields === 6) return null;
  return `it has ${fields} field${fields === 1 ? "" : "s"}; use 5 (minute hour day-of-month month day-of-week) or 6 (seconds first), or a macro such as @daily`;
}

function checkZone(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return null;
  } catch {
    return `${JSON.stringify(timezone)} is not a time zone this runtime knows (use an IANA name such as Europe/Berlin)`;
  }
}

/** The first slot strictly after `ms`, or null when there is none. */
export function nextAfter(cron: Cron, ms: number): number | null {
  return cron.nextRun(new Date(ms))?.getTime() ?? null;
}

/** Up to `n` slots at or before `ms`, newest first. */
export function latestUpTo(cron: Cron, ms: number, n: number): number[] {
  return cron.previousRuns(n, new Date(ms + 1)).map((d) => d.getTime());
}

/** The next `n` slots strictly after `ms`. */
export function upcoming(cron: Cron, ms: number, n: number): number[] {
  return cron.nextRuns(n, new Date(ms)).map((d) => d.getTime());
}
