/**
 * 10. The sandbox's start: dispatch (as in workload 1) on two fresh hosts of the same system, one
 * running every job in bubblewrap and one not, in alternation so both see the same machine.
 */
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import type { Target } from "../target.js";
import { alternate } from "./alternate.js";

export async function sandbox(t: Target, ctx: Ctx): Promise<Measured> {
  if (!t.sandboxed) {
    return { figures: { sandbox_dispatch_p50_ms: null, sandbox_added_p50_ms: null }, notes: [`${t.name}: no sandbox to run jobs in here, so its start cannot be measured`] };
  }
  const plain = await t.isolated(1);
  const boxed = await t.sandboxed(1);
  try {
    const { off: s0, on: s1 } = await alternate(plain.target, boxed.target, ctx.sizes.sandboxJobs);
    ctx.progress(`sandbox: dispatch p50 ${s1.p50.toFixed(2)} ms in bubblewrap, ${s0.p50.toFixed(2)} ms without (+${(s1.p50 - s0.p50).toFixed(2)} ms) over ${s1.n} jobs each`);
    return { figures: { sandbox_dispatch_p50_ms: s1.p50, sandbox_added_p50_ms: s1.p50 - s0.p50 }, extra: { sandbox: { on: s1, off: s0 } } };
  } finally {
    await plain.stop();
    await boxed.stop();
  }
}
