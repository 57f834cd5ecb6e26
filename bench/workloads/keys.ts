/**
 * 12. A queue behind concurrency keys (Tether only): dispatch, as in workload 1, on an agent
 * whose 100 concurrency keys are each held by a running job, before and after 10,000 more runs
 * of those keys are queued behind them, each time alternating with an agent of its own with
 * nothing queued. What the queue adds is the loaded agent's excess over the other after the
 * fill, less its excess before: the next run must be found without reading the runs that
 * cannot start.
 */
import { sleep } from "../clock.js";
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import type { Target } from "../target.js";
import { alternate } from "./alternate.js";
import { pool } from "./throughput.js";

const KEYS = 100;
const IN_FLIGHT = 32;

export async function keys(t: Target, ctx: Ctx): Promise<Measured> {
  const client = t.sdk;
  if (!client) return { figures: {}, notes: [`${t.name} has no concurrency keys with a limit of their own: the keys workload is Tether's only`] };
  const empty = await t.isolated(1);
  // One slot per key for the run that holds it, and one for the runs measured.
  const loaded = await t.isolated(KEYS + 1);
  const agent = loaded.target.agent!;
  try {
    const queued = ctx.sizes.keyedRuns;
    await client.configureAgent(agent, { max_queued: queued + 1000 });
    // Each key's one slot is held by a run that does not end while the figure is taken.
    await pool(KEYS, IN_FLIGHT, (i) => client.submit(agent, { argv: ["sleep", "3600"], concurrency: { key: `k${i}`, limit: 1, strategy: "queue" } }));
    while ((await client.agentStatus(agent)).hosts.reduce((n, h) => n + h.busy, 0) < KEYS) await sleep(50);
    // Before the queue fills: what the held keys and their 100 running jobs cost by themselves.
    const before = await alternate(empty.target, loaded.target, ctx.sizes.sandboxJobs);
    const t0 = Date.now();
    await pool(queued, IN_FLIGHT, (i) => client.submit(agent, { argv: ["true"], concurrency: { key: `k${i % KEYS}`, limit: 1, strategy: "queue" } }));
    ctx.progress(`keys: ${queued} runs queued behind ${KEYS} full keys in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const after = await alternate(empty.target, loaded.target, ctx.sizes.sandboxJobs);
    // What the queue adds: the loaded agent's excess over the empty one, after the fill less before it.
    const added = after.on.p50 - after.off.p50 - (before.on.p50 - before.off.p50);
    ctx.progress(
      `keys: dispatch p50 ${after.on.p50.toFixed(2)} ms behind ${queued} keyed runs (${before.on.p50.toFixed(2)} ms before they were queued), ` +
        `${after.off.p50.toFixed(2)} ms (${before.off.p50.toFixed(2)} ms) on an empty agent alongside: the queue adds ${added >= 0 ? "+" : ""}${added.toFixed(2)} ms`,
    );
    return {
      figures: { keys_dispatch_p50_ms: after.on.p50, keys_added_p50_ms: added },
      extra: { keys: { queued, keys: KEYS, before, after } },
    };
  } finally {
    // The host's SIGTERM cancels the runs holding the keys; the queued ones stay, with no host to take them.
    await loaded.stop();
    await empty.stop();
  }
}
