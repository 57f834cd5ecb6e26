/** 2. Round trip: submit `true` and wait until the client hears the job end, each system its quickest way. Sequential. */
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { jobs } from "../jobs.js";
import { summarize } from "../stats.js";
import { cpuOf } from "../proc.js";
import type { Target } from "../target.js";

const WARMUP = 20;

export async function roundtrip(t: Target, ctx: Ctx): Promise<Measured> {
  const n = ctx.sizes.roundtripJobs;
  const lat: number[] = [];
  let cpu0 = 0;
  for (let i = 0; i < WARMUP + n; i++) {
    if (i === WARMUP) cpu0 = cpuOf(t.controlPlanePids());
    const t0 = process.hrtime.bigint();
    const end = await t.run(jobs.nothing());
    const t1 = process.hrtime.bigint();
    if (!end.ok) throw new Error(`a round-trip job ended ${end.status}`);
    if (i >= WARMUP) lat.push(Number(t1 - t0) / 1e6);
  }
  const cpuPerJob = (cpuOf(t.controlPlanePids()) - cpu0) / n;
  const s = summarize(lat);
  ctx.progress(`round trip: p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms over ${n} jobs (control plane ${cpuPerJob.toFixed(2)} CPU ms/job)`);
  return { figures: { roundtrip_p50_ms: s.p50, roundtrip_p99_ms: s.p99 }, extra: { roundtrip: { ...s, control_plane_cpu_ms_per_job: cpuPerJob } } };
}
