/**
 * 1. Dispatch latency: from the moment before the submit call to the job's first act (it reads
 * the wall clock), sequentially, one job at a time.
 */
import { calibrate, msBetween, wallNs } from "../clock.js";
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { jobs, parseStamp } from "../jobs.js";
import { summarize } from "../stats.js";
import { cpuOf } from "../proc.js";
import type { Target } from "../target.js";

const WARMUP = 20;

export async function dispatch(t: Target, ctx: Ctx): Promise<Measured> {
  const n = ctx.sizes.dispatchJobs;
  const lat: number[] = [];
  let cpu0 = 0;
  for (let i = 0; i < WARMUP + n; i++) {
    if (i === WARMUP) cpu0 = cpuOf(t.controlPlanePids());
    if (i % 100 === 0) calibrate();
    const t0 = wallNs();
    const id = await t.submit(jobs.stamp());
    const end = await t.finished(id);
    if (!end.ok) throw new Error(`dispatch job ${id} ended ${end.status}`);
    const started = parseStamp(await t.stdout(id));
    if (i >= WARMUP) lat.push(msBetween(t0, started));
  }
  const cpuPerJob = (cpuOf(t.controlPlanePids()) - cpu0) / n;
  const s = summarize(lat);
  ctx.progress(`dispatch: p50 ${s.p50.toFixed(2)} ms, p90 ${s.p90.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms over ${n} jobs (control plane ${cpuPerJob.toFixed(2)} CPU ms/job)`);
  return { figures: { dispatch_p50_ms: s.p50, dispatch_p90_ms: s.p90, dispatch_p99_ms: s.p99 }, extra: { dispatch: { ...s, control_plane_cpu_ms_per_job: cpuPerJob } } };
}
