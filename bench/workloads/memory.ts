/**
 * 7. Host memory: the peak resident memory of a fresh host process (the kernel's high-water
 * mark, VmHWM) while one job writes 1 GB as fast as it can, and while 8 jobs write an eighth of
 * that each, at once.
 */
import { MB, type Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { jobs } from "../jobs.js";
import { peakRssMb, rssMb } from "../proc.js";
import type { Target } from "../target.js";

async function peakWhile(t: Target, slots: number, work: Array<ReturnType<typeof jobs.zeros>>): Promise<{ peak: number; idle: number; secs: number }> {
  const iso = await t.isolated(slots);
  try {
    const idle = rssMb(iso.hostPid) ?? NaN;
    const t0 = process.hrtime.bigint();
    const ids = await Promise.all(work.map((j) => iso.target.submit(j)));
    const ends = await Promise.all(ids.map((id) => iso.target.finished(id)));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const bad = ends.find((e) => !e.ok);
    if (bad) throw new Error(`a memory job ended ${bad.status}`);
    const peak = peakRssMb(iso.hostPid);
    if (peak === null) throw new Error("cannot read the host's VmHWM");
    return { peak, idle, secs };
  } finally {
    await iso.stop();
  }
}

export async function memory(t: Target, ctx: Ctx): Promise<Measured> {
  const big = ctx.sizes.bigJobBytes;
  const one = await peakWhile(t, 8, [jobs.zeros(big)]);
  const eight = await peakWhile(t, 8, Array.from({ length: 8 }, () => jobs.zeros(Math.floor(big / 8))));
  ctx.progress(
    `memory: host peak ${one.peak.toFixed(0)} MB with one ${big / MB} MB job (${(big / MB / one.secs).toFixed(0)} MB/s), ${eight.peak.toFixed(0)} MB with 8 jobs (idle ${one.idle.toFixed(0)} MB)`,
  );
  return {
    figures: { agent_rss_peak_mb: one.peak, agent_rss_peak_8jobs_mb: eight.peak },
    extra: { memory: { big_job_bytes: big, idle_rss_mb: one.idle, one_job: one, eight_jobs: eight } },
  };
}
