/**
 * 5. Live latency: a job writes a line holding the wall clock every 10 ms; a live watcher
 * notes when each line reaches it.
 */
import { calibrate, msBetween, wallNs } from "../clock.js";
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { jobs } from "../jobs.js";
import { summarize } from "../stats.js";
import type { Target } from "../target.js";

const EVERY_MS = 10;
const SKIP = 5;

export async function live(t: Target, ctx: Ctx): Promise<Measured> {
  if (!t.watch) {
    return { figures: { live_p50_ms: null, live_p99_ms: null }, notes: [`${t.name}: no live watcher of a job's output exists, so live latency cannot be measured`] };
  }
  calibrate();
  const lat: number[] = [];
  let pending = "";
  const id = await t.submit(jobs.ticker(EVERY_MS, ctx.sizes.liveMs));
  const end = await t.watch(id, (b) => {
    const seen = wallNs();
    pending += Buffer.from(b).toString("latin1");
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      lat.push(msBetween(BigInt(line), seen));
    }
  });
  if (!end.ok) throw new Error(`the live job ${id} ended ${end.status}`);
  const s = summarize(lat.slice(SKIP));
  ctx.progress(`live: p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms over ${s.n} lines`);
  return { figures: { live_p50_ms: s.p50, live_p99_ms: s.p99 }, extra: { live: s } };
}
