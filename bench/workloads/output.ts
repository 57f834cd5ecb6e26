/**
 * 4. Output throughput: one job writes the payload file (random bytes) to stdout. MB/s from the
 * submit until the system has stored every byte (a watcher sees the job end: both systems end a
 * job only after its output is in), and, where the system can, until a live watcher has
 * received every byte. Every byte is checked by hash, stored and watched.
 */
import { createHash } from "node:crypto";
import { MB, type Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { jobs } from "../jobs.js";
import { sha256 } from "../payload.js";
import { median } from "../stats.js";
import { cpuOf } from "../proc.js";
import type { Target } from "../target.js";

const secsSince = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

export async function output(t: Target, ctx: Ctx): Promise<Measured> {
  const { file, bytes, sha256: want } = ctx.payload;
  const reps = ctx.sizes.outputReps;

  // Warm-up: a smaller job through the same path.
  const w = await t.submit(jobs.zeros(10 * MB));
  if (!(await t.finished(w)).ok) throw new Error("the output warm-up job failed");

  const stored: number[] = [];
  let planeCpu = 0;
  for (let r = 0; r < reps; r++) {
    const cpu0 = cpuOf(t.controlPlanePids());
    const t0 = process.hrtime.bigint();
    const id = await t.submit(jobs.cat(file));
    const end = await t.finished(id);
    const secs = secsSince(t0);
    planeCpu += cpuOf(t.controlPlanePids()) - cpu0;
    if (!end.ok) throw new Error(`output job ${id} ended ${end.status}`);
    const out = await t.stdout(id);
    if (out.byteLength !== bytes || sha256(out) !== want) throw new Error(`${t.name} stored ${out.byteLength} bytes of ${bytes}, or not the same bytes`);
    stored.push(bytes / MB / secs);
  }

  const watched: number[] = [];
  if (t.watch) {
    for (let r = 0; r < reps; r++) {
      const hash = createHash("sha256");
      let got = 0;
      const t0 = process.hrtime.bigint();
      const id = await t.submit(jobs.cat(file));
      const end = await t.watch(id, (b) => {
        hash.update(b);
        got += b.byteLength;
      });
      const secs = secsSince(t0);
      if (!end.ok) throw new Error(`output job ${id} ended ${end.status}`);
      if (got !== bytes || hash.digest("hex") !== want) throw new Error(`a live watcher of ${t.name} got ${got} bytes of ${bytes}, or not the same bytes`);
      watched.push(bytes / MB / secs);
    }
  }

  const cpuPerMb = planeCpu / ((bytes / MB) * reps);
  const figures = { output_mb_per_s: median(stored), output_watch_mb_per_s: watched.length ? median(watched) : null };
  ctx.progress(`output: ${figures.output_mb_per_s.toFixed(0)} MB/s stored${figures.output_watch_mb_per_s === null ? "" : `, ${figures.output_watch_mb_per_s.toFixed(0)} MB/s to a live watcher`} (${bytes / MB} MB, hash checked, median of ${reps}; control plane ${cpuPerMb.toFixed(1)} CPU ms/MB stored)`);
  return {
    figures,
    extra: { output: { bytes, reps, stored_mb_per_s: stored, watched_mb_per_s: watched, control_plane_cpu_ms_per_mb: cpuPerMb } },
    notes: t.watch ? [] : [`${t.name}: no live watcher of a job's output exists (job logs can only be polled), so output_watch_mb_per_s is null`],
  };
}
