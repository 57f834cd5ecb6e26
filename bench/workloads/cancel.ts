/**
 * 6. Cancel latency: a running job that obeys SIGTERM (a shell and its child, one process
 * group); from the cancel call until no live process of the group remains. Zombies count as
 * dead: this container's init reaps orphans a second or two late.
 */
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { jobs } from "../jobs.js";
import { groupDead, liveMembers } from "../proc.js";
import { summarize } from "../stats.js";
import type { Target } from "../target.js";

const WARMUP = 3;

export async function cancel(t: Target, ctx: Ctx): Promise<Measured> {
  if (!t.cancel) return { figures: { cancel_p50_ms: null }, notes: [`${t.name}: cannot cancel a running job`] };
  const n = ctx.sizes.cancelJobs;
  const dead: number[] = [];
  const answered: number[] = [];
  for (let i = 0; i < WARMUP + n; i++) {
    const id = await t.submit(jobs.sleeper());
    const pgid = Number(await t.firstLine(id));
    // The shell has said its pid; wait for its child too, so the group is whole when cancelled.
    let members = liveMembers(pgid);
    for (let k = 0; members.length < 2 && k < 200; k++) {
      await new Promise((r) => setTimeout(r, 5));
      members = liveMembers(pgid);
    }
    const t0 = process.hrtime.bigint();
    await t.cancel(id);
    const tAnswer = process.hrtime.bigint();
    const tDead = await groupDead(pgid, members);
    const end = await t.finished(id);
    if (end.ok) throw new Error(`cancelled job ${id} ended ${end.status}`);
    if (i >= WARMUP) {
      dead.push(Number(tDead - t0) / 1e6);
      answered.push(Number(tAnswer - t0) / 1e6);
    }
  }
  const s = summarize(dead);
  ctx.progress(`cancel: group dead p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms over ${n} jobs`);
  return { figures: { cancel_p50_ms: s.p50 }, extra: { cancel: s, cancel_call: summarize(answered) } };
}
