/**
 * 9. Live input: `cat` runs with its stdin open; each API call that hands it a line is timed
 * until the system says the process was given the bytes.
 */
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { summarize } from "../stats.js";
import type { Target } from "../target.js";

const WARMUP = 5;

export async function input(t: Target, ctx: Ctx): Promise<Measured> {
  if (!t.input) {
    return { figures: { input_p50_ms: null, input_p99_ms: null }, notes: [`${t.name}: a running job cannot be given input, so live input cannot be measured`] };
  }
  const ms = await t.input(ctx.sizes.inputs + WARMUP);
  const s = summarize(ms.slice(WARMUP));
  ctx.progress(`input: p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms over ${s.n} deliveries`);
  return { figures: { input_p50_ms: s.p50, input_p99_ms: s.p99 }, extra: { input: s } };
}
