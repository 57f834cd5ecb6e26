/**
 * 8. Schedule lateness: the system's own scheduler fires the stamp job every second; for each
 * slot, from the slot's time to the job's first act (it reads the wall clock). The slot is wall
 * clock time too, so no reading of the bench's is needed: both ends are CLOCK_REALTIME.
 */
import { msBetween } from "../clock.js";
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { jobs, parseStamp } from "../jobs.js";
import { summarize } from "../stats.js";
import type { Target } from "../target.js";

/** The first slots come right after the schedule is made, while its first timer is still being set. */
const WARMUP = 2;

export async function schedule(t: Target, ctx: Ctx): Promise<Measured> {
  if (!t.schedule) return { figures: { schedule_late_p50_ms: null, schedule_late_p99_ms: null }, notes: [`${t.name}: has no scheduler`] };
  const n = ctx.sizes.scheduleSlots;
  const fired = (await t.schedule(jobs.stamp(), WARMUP + n)).sort((a, b) => a.slotMs - b.slotMs);
  if (fired.length <= WARMUP) throw new Error(`the schedule made ${fired.length} runs for ${WARMUP + n} slots`);
  const late: number[] = [];
  for (const [i, f] of fired.entries()) {
    const end = await t.finished(f.id);
    if (!end.ok) throw new Error(`scheduled job ${f.id} ended ${end.status}`);
    const started = parseStamp(await t.stdout(f.id));
    if (i >= WARMUP) late.push(msBetween(BigInt(f.slotMs) * 1_000_000n, started));
  }
  // Slots between the first and the last run that got none: a scheduler that fell behind.
  const skipped = (fired[fired.length - 1]!.slotMs - fired[0]!.slotMs) / 1000 + 1 - fired.length;
  const s = summarize(late);
  ctx.progress(`schedule: fire → start p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms over ${s.n} slots${skipped ? `, ${skipped} slots skipped` : ""}`);
  return {
    figures: { schedule_late_p50_ms: s.p50, schedule_late_p99_ms: s.p99 },
    extra: { schedule: { ...s, slots_skipped: skipped } },
    notes: skipped ? [`${t.name}: ${skipped} of the schedule's slots got no run`] : [],
  };
}
