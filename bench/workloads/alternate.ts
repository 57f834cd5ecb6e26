/**
 * Dispatch (as in workload 1) on two targets in turn, so both see the same machine: how the
 * sandbox and keys workloads tell what one difference between them costs.
 */
import { calibrate, msBetween, wallNs } from "../clock.js";
import { jobs, parseStamp } from "../jobs.js";
import { summarize, type Summary } from "../stats.js";
import type { Target } from "../target.js";

const WARMUP = 10;

/** From just before the submit to the stamp job's first act, in ms. */
async function stampDispatch(t: Target): Promise<number> {
  const t0 = wallNs();
  const id = await t.submit(jobs.stamp());
  const end = await t.finished(id);
  if (!end.ok) throw new Error(`dispatch job ${id} ended ${end.status}`);
  return msBetween(t0, parseStamp(await t.stdout(id)));
}

/** `n` stamp jobs on each, after a few of warm-up, alternating. */
export async function alternate(off: Target, on: Target, n: number): Promise<{ off: Summary; on: Summary }> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < WARMUP + n; i++) {
    if (i % 50 === 0) calibrate();
    const x = await stampDispatch(off);
    const y = await stampDispatch(on);
    if (i >= WARMUP) (a.push(x), b.push(y));
  }
  return { off: summarize(a), on: summarize(b) };
}
