/**
 * 10. The sandbox's start: dispatch (as in workload 1) on two fresh hosts of the same system, one
 * running every job in bubblewrap and one not, in alternation so both see the same machine.
 */
import { calibrate, msBetween, wallNs } from "../clock.js";
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { jobs, parseStamp } from "../jobs.js";
import { summarize } from "../stats.js";
import type { Target } from "../target.js";

const WARMUP = 10;

async function once(t: Target): Promise<number> {
  const t0 = wallNs();
  const id = await t.submit(jobs.stamp());
  const end = await t.finished(id);
  if (!end.ok) throw new Error(`sandbox dispatch job ${id} ended ${end.status}`);
  return msBetween(t0, parseStamp(await t.stdout(id)));
}

export async function sandbox(t: Target, ctx: Ctx): Promise<Measured> {
  if (!t.sandboxed) {
    return { figures: { sandbox_dispatch_p50_ms: null, sandbox_added_p50_ms: null }, notes: [`${t.name}: no sandbox to run jobs in here, so its start cannot be measured`] };
  }
  const plain = await t.isolated(1);
  const boxed = await t.sandboxed(1);
  try {
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < WARMUP + ctx.sizes.sandboxJobs; i++) {
      if (i % 50 === 0) calibrate();
      const a = await once(plain.target);
      const b = await once(boxed.target);
      if (i >= WARMUP) (off.push(a), on.push(b));
    }
    const s0 = summarize(off);
    const s1 = summarize(on);
    ctx.progress(`sandbox: dispatch p50 ${s1.p50.toFixed(2)} ms in bubblewrap, ${s0.p50.toFixed(2)} ms without (+${(s1.p50 - s0.p50).toFixed(2)} ms) over ${s1.n} jobs each`);
    return { figures: { sandbox_dispatch_p50_ms: s1.p50, sandbox_added_p50_ms: s1.p50 - s0.p50 }, extra: { sandbox: { on: s1, off: s0 } } };
  } finally {
    await plain.stop();
    await boxed.stop();
  }
}
