/**
 * Cron expressions in a time zone, by croner, with daylight saving as Vixie cron handles it.
 * Vixie calls a job wild when its minute or hour field starts with `*`; we count the second field
 * too. Any other job is a fixed-time job, lists, ranges and ranged steps (`0 0-23/2 * * *`)
 * included: each of its times that a spring-forward gap swallows fires once right after the gap,
 * and a time that occurs twice fires once, at the first. A wild job keeps its rhythm in real time,
 * so it runs through the repeated hour and skips what the gap swallowed.
 *
 * A slot is an instant and names its run (the idempotency key is `<schedule id>:<slot>`), so the
 * slots that meet at a gap's end, the swallowed ones and one due then anyway, each take the next
 * millisecond of that second, in the order of their times of day. They are due together, at the
 * start of the second (dueAt), as Vixie runs them together.
 */
import { Cron, CronPattern } from "croner";

const OPTIONS = { paused: true, mode: "5-or-6-parts", fixedTimeRule: "no-wildcard" } as const;
/** The most slots one gap's end takes: they must fit in its second to stay apart from the next slots. */
const GAP_SLOTS_MAX = 1000;
const DAY_MS = 86_400_000;

/** Expressions compile once per object; the cache is bounded because patterns come from clients. */
const cache = new Map<string, Cron>();
const CACHE_MAX = 512;

/** What a fixed-time job needs to count the slots that meet at a gap's end; interval jobs have none. */
interface FixedTime {
  zone: string;
  source: string;
  /** The same expression on the wall clock (no zone), to list the swallowed times of day. */
  wall?: Cron;
  /** The last gap end looked at: slots are stepped one by one through it. */
  seen?: { at: number; slots: number };
}
const fixedTime = new WeakMap<Cron, FixedTime>();

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
    const source = fixedTimeSource(cron);
    if (source !== null) {
      if (source !== cron) compiled = new Cron(source, { ...OPTIONS, timezone });
      fixedTime.set(compiled, { zone: timezone, source });
    }
  } catch (e) {
    throw new CronError(`the cron expression is invalid: ${((e as Error).message ?? "").replace(/^Cron\w*:\s*/, "")}`);
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, compiled);
  return compiled;
}

/**
 * For a fixed-time job, the expression croner must see to treat it as one: croner's "no-wildcard"
 * rule takes any step for an interval, so stepped time fields are spelled out as lists. Null for
 * a wild job, which croner already treats as an interval.
 */
function fixedTimeSource(cron: string): string | null {
  const t = cron.trim();
  if (t.startsWith("@")) return t.toLowerCase() === "@hourly" ? null : t;
  const fields = t.split(/\s+/);
  if (fields.length === 5) fields.unshift("0");
  const time = fields.slice(0, 3);
  if (time.some((f) => /^[*?]/.test(f))) return null;
  if (!time.some((f) => /[*?/]/.test(f))) return t;
  const p = new CronPattern(fields.join(" "), undefined, { mode: OPTIONS.mode });
  const list = (bits: number[]) => bits.flatMap((b, i) => (b ? [i] : [])).join(",");
  return [list(p.second), list(p.minute), list(p.hour), ...fields.slice(3)].join(" ");
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

const second = (ms: number) => ms - (((ms % 1000) + 1000) % 1000);

/** When a slot is due: at the start of its second, so the slots of one gap's end are decided together. */
export const dueAt = second;

/** The newest slot that is due at `now`. */
export const dueBy = (now: number) => second(now) + 999;

const wallFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's wall clock at `ms` (a whole second), as the UTC instant that reads the same. */
function wallClock(zone: string, ms: number): number {
  let f = wallFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    wallFormats.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const { type, value } of f.formatToParts(ms)) p[type] = Number(value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

/**
 * How many slots of a fixed-time job meet at `at`, a whole second: the times of day a gap ending
 * there swallowed and the one it reads then, up to GAP_SLOTS_MAX. Croner puts them all at `at`
 * as one; 0 when `at` ends no gap or none of them matches. As in croner, a swallowed time of a
 * day before the gap's end counts for nothing.
 */
function slotsMeetingAt(f: FixedTime, at: number): number {
  if (f.seen?.at === at) return f.seen.slots;
  const wall = wallClock(f.zone, at);
  const gapStart = wallClock(f.zone, at - 1000) + 1000;
  let slots = 0;
  if (wall > gapStart) {
    f.wall ??= new Cron(f.source, { ...OPTIONS, timezone: "Etc/UTC" });
    const day = Math.floor(wall / DAY_MS);
    for (let t = f.wall.nextRun(new Date(gapStart - 1)); t && t.getTime() <= wall; t = f.wall.nextRun(t)) {
      if (Math.floor(t.getTime() / DAY_MS) === day) slots++;
    }
    slots = Math.min(slots, GAP_SLOTS_MAX);
  }
  f.seen = { at, slots };
  return slots;
}

/** The first slot strictly after `ms`, or null when there is none. */
export function nextAfter(cron: Cron, ms: number): number | null {
  const f = fixedTime.get(cron);
  if (f && ms + 1 - second(ms) < slotsMeetingAt(f, second(ms))) return ms + 1;
  return cron.nextRun(new Date(ms))?.getTime() ?? null;
}

/** Up to `n` slots at or before `ms`, newest first. */
export function latestUpTo(cron: Cron, ms: number, n: number): number[] {
  const found = cron.previousRuns(n, new Date(ms + 1)).map((d) => d.getTime());
  const f = fixedTime.get(cron);
  if (!f) return found;
  const slots = found.flatMap((at) => {
    const k = Math.max(1, slotsMeetingAt(f, at));
    return Array.from({ length: k }, (_, i) => at + k - 1 - i).filter((s) => s <= ms);
  });
  return slots.slice(0, n);
}

/** The next `n` slots strictly after `ms`. */
export function upcoming(cron: Cron, ms: number, n: number): number[] {
  if (!fixedTime.has(cron)) return cron.nextRuns(n, new Date(ms)).map((d) => d.getTime());
  const slots: number[] = [];
  while (slots.length < n) {
    const next = nextAfter(cron, slots[slots.length - 1] ?? ms);
    if (next === null) break;
    slots.push(next);
  }
  return slots;
}
