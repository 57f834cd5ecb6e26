/**
 * Which slots of a schedule to fire now. A pure function of the schedule's cursor (every slot
 * at or before it is decided) and the time, so an alarm that comes early, twice, late or after
 * a restart decides each slot once: the caller persists the new cursor with the decision.
 */
import type { Cron } from "croner";
import type { Misfire } from "../protocol/schedule.js";
import { dueAt, dueBy, latestUpTo, nextAfter, upcoming } from "./cron.js";

/** `catch_up` runs at most this many missed slots, the latest ones. */
export const CATCH_UP_MAX = 100;
/** A lone slot this late still counts as on time: alarms are not punctual to the millisecond. */
export const ON_TIME_MS = 60_000;
/** Missed slots are counted one by one up to this many per outage; an every-second schedule down for a day would cost too much. */
export const MISSED_COUNT_MAX = 10_000;

export interface PlanInput {
  cron: Cron;
  /** Every slot at or before this (ms) is decided. */
  cursor: number;
  now: number;
  misfire: Misfire;
}

export interface Plan {
  /** Slots to run, oldest first. */
  fire: number[];
  /** Due slots that get no run of their own because they were missed. */
  missed: number;
  /** The oldest and newest missed slot, when any was. */
  missedRange: [number, number] | null;
  cursor: number;
  /** The first slot after the new cursor, or null when the expression has no more. */
  next: number | null;
}

export function planFires({ cron, cursor, now, misfire }: PlanInput): Plan {
  // Slots that meet at a daylight-saving gap's end share a second and are due at its start.
  const horizon = dueBy(now);
  const first = nextAfter(cron, cursor);
  if (first === null || first > horizon) return { fire: [], missed: 0, missedRange: null, cursor, next: first };
  // Forward from the cursor is cheap when one or a few slots are due, as almost always.
  const forward = [first];
  while (forward.length <= CATCH_UP_MAX) {
    const n = nextAfter(cron, forward[forward.length - 1]!);
    if (n === null || n > horizon) break;
    forward.push(n);
  }
  let recent: number[]; // newest first
  let due: number;
  if (forward.length <= CATCH_UP_MAX) {
    recent = forward.reverse();
    due = recent.length;
  } else {
    recent = latestUpTo(cron, horizon, CATCH_UP_MAX);
    due = Math.min(MISSED_COUNT_MAX, CATCH_UP_MAX + countBetween(cron, cursor, recent[recent.length - 1]!));
  }
  const latest = recent[0]!;
  const onTime = now - dueAt(latest) <= ON_TIME_MS;
  // The latest slots due together (more than one only at a gap's end) are on time or late together.
  const together = recent.filter((s) => dueAt(s) === dueAt(latest)).reverse();
  let fire: number[];
  if (misfire === "catch_up") fire = recent.slice(0, CATCH_UP_MAX).reverse();
  else if (onTime) fire = together;
  else if (misfire === "run_once") fire = [latest];
  else fire = [];
  const missed = due - fire.length;
  const fired = new Set(fire);
  // The newest missed slot is among those looked at, or just before them when catch-up runs them all.
  const newestMissed = () => recent.find((s) => !fired.has(s)) ?? latestUpTo(cron, recent[recent.length - 1]! - 1, 1)[0] ?? first;
  const missedRange: [number, number] | null = missed > 0 ? [first, newestMissed()] : null;
  // Slots of a gap's end may lie a few milliseconds after now; the cursor covers all it decided.
  const decided = Math.max(now, latest);
  return { fire, missed, missedRange, cursor: decided, next: nextAfter(cron, decided) };
}

/** How many slots lie strictly between `after` and `before`, counted up to MISSED_COUNT_MAX. */
function countBetween(cron: Cron, after: number, before: number): number {
  let n = 0;
  let at = after;
  while (n < MISSED_COUNT_MAX) {
    const batch = upcoming(cron, at, 500).filter((s) => s < before);
    n += batch.length;
    if (batch.length < 500) break;
    at = batch[batch.length - 1]!;
  }
  return Math.min(n, MISSED_COUNT_MAX);
}
