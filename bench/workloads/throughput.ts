/**
 * 3. Throughput: `true` jobs submitted as fast as the API accepts them (a fixed number of calls
 * in flight), run on 8 slots in all; jobs completed per second from the first submit to the
 * last end, and the CPU the control plane spent per job over the same span. Batched: the same
 * jobs submitted 100 a call.
 */
import { cpus } from "node:os";
import type { Ctx } from "../context.js";
import type { FigureKey, Measured } from "../figures.js";
import { jobs } from "../jobs.js";
import { cpuOf, machineBusyMs } from "../proc.js";
import { settleDisk } from "../settle.js";
import type { Target } from "../target.js";

/** Submit calls in flight; the object floor (floor/floor.ts) is driven with the same. */
export const IN_FLIGHT = 32;
export const WARMUP = 100;

export async function pool<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** Submits in one call each, BATCH a call (Tether's batch submit, BullMQ's addBulk), this many calls in flight. */
export const BATCH = 100;
export const BATCH_IN_FLIGHT = 4;

export const throughput = (t: Target, ctx: Ctx): Promise<Measured> =>
  measure(t, ctx, "throughput", (n) => pool(n, IN_FLIGHT, () => t.submit(jobs.nothing())), { rate: "throughput_jobs_per_s", cpu: "cpu_ms_per_job" });

/** The same jobs submitted BATCH at a time: what is left when the submits cost the plane little. */
export const batched = (t: Target, ctx: Ctx): Promise<Measured> =>
  measure(t, ctx, "batched", async (n) => (await pool(Math.ceil(n / BATCH), BATCH_IN_FLIGHT, (i) => t.submitMany(Array.from({ length: Math.min(BATCH, n - i * BATCH) }, () => jobs.nothing())))).flat(), {
    rate: "batched_jobs_per_s",
    cpu: "batched_cpu_ms_per_job",
  });

async function measure(t: Target, ctx: Ctx, name: "throughput" | "batched", submitAll: (n: number) => Promise<string[]>, keys: { rate: FigureKey; cpu: FigureKey }): Promise<Measured> {
  const n = ctx.sizes.throughputJobs;
  await submitAll(WARMUP);
  await t.drained();
  await settleDisk();

  const plane0 = cpuOf(t.controlPlanePids());
  const host0 = cpuOf(t.hostPids());
  const machine0 = machineBusyMs();
  const t0 = process.hrtime.bigint();
  const wall0 = Date.now();
  const ids = await submitAll(n);
  const tSubmitted = process.hrtime.bigint();
  await t.drained();
  const t1 = process.hrtime.bigint();
  const plane = cpuOf(t.controlPlanePids()) - plane0;
  const host = cpuOf(t.hostPids()) - host0;
  // Everything the machine did meanwhile, the jobs themselves and the bench included: on a small
  // machine the sum, not any one process, is what runs out.
  const machine = machineBusyMs() - machine0;

  // Every job must have succeeded, or the rate means nothing.
  const ends = await pool(ids.length, 16, (i) => t.finished(ids[i]!));
  const bad = ends.filter((e) => !e.ok);
  if (bad.length) throw new Error(`${bad.length} of ${n} ${name} jobs did not succeed (${bad[0]!.status})`);

  const secs = Number(t1 - t0) / 1e9;
  const rate = n / secs;
  const submitSecs = Number(tSubmitted - t0) / 1e9;
  const submitRate = n / submitSecs;
  // How the jobs were taken while the submits still arrived, and after: what a burst of API calls leaves the hosts.
  const submitsDoneAt = wall0 + submitSecs * 1000;
  const taken = await pool(ids.length, 16, (i) => t.takenAt(ids[i]!));
  const takenDuring = taken.filter((at) => at <= submitsDoneAt).length;
  const takenPerSDuring = takenDuring / submitSecs;
  const takenPerSAfter = secs > submitSecs ? (n - takenDuring) / (secs - submitSecs) : 0;
  const busy = machine / (secs * 1000) / cpus().length;
  ctx.progress(`${name}: ${rate.toFixed(0)} jobs/s (submits accepted at ${submitRate.toFixed(0)}/s; jobs taken at ${takenPerSDuring.toFixed(0)}/s meanwhile, ${takenPerSAfter.toFixed(0)}/s after), control plane ${(plane / n).toFixed(2)} CPU ms/job, host ${(host / n).toFixed(2)} CPU ms/job, machine ${(machine / n).toFixed(2)} CPU ms/job (${(busy * 100).toFixed(0)} % of its ${cpus().length} cores busy)`);
  return {
    figures: { [keys.rate]: rate, [keys.cpu]: plane / n },
    extra: {
      [name]: {
        jobs: n,
        seconds: secs,
        submit_per_s: submitRate,
        taken_per_s_while_submitting: takenPerSDuring,
        taken_per_s_after: takenPerSAfter,
        ...(name === "batched" ? { per_call: BATCH, calls_in_flight: BATCH_IN_FLIGHT } : { in_flight: IN_FLIGHT }),
        host_cpu_ms_per_job: host / n,
        control_plane_cpu_ms: plane,
        machine_cpu_ms_per_job: machine / n,
        machine_busy: busy,
      },
    },
  };
}
