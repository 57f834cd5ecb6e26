/**
 * 12. A queue behind concurrency keys (Tether only): dispatch, as in workload 1, on a host whose
 * agent has 10,000 runs queued behind 100 full concurrency keys, beside a host whose agent's
 * queue is empty, in alternation so both see the same machine. The next run must be found
 * without reading the runs that cannot start.
 */
import { calibrate, msBetween, sleep, wallNs } from "../clock.js";
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { jobs, parseStamp } from "../jobs.js";
import { summarize } from "../stats.js";
import type { Target } from "../target.js";
import { pool } from "./throughput.js";

const KEYS = 100;
const WARMUP = 10;
const IN_FLIGHT = 32;

async function once(t: Target): Promise<number> {
  const t0 = wallNs();
  const id = await t.submit(jobs.stamp());
  const end = await t.finished(id);
  if (!end.ok) throw new Error(`keys dispatch job ${id} ended ${end.status}`);
  return msBetween(t0, parseStamp(await t.stdout(id)));
}

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
    const t0 = Date.now();
    await pool(queued, IN_FLIGHT, (i) => client.submit(agent, { argv: ["true"], concurrency: { key: `k${i % KEYS}`, limit: 1, strategy: "queue" } }));
    ctx.progress(`keys: ${queued} runs queued behind ${KEYS} full keys in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < WARMUP + ctx.sizes.sandboxJobs; i++) {
      if (i % 50 === 0) calibrate();
      const a = await once(empty.target);
      const b = await once(loaded.target);
      if (i >= WARMUP) (off.push(a), on.push(b));
    }
    const s0 = summarize(off);
    const s1 = summarize(on);
    ctx.progress(`keys: dispatch p50 ${s1.p50.toFixed(2)} ms behind ${queued} keyed runs, ${s0.p50.toFixed(2)} ms on an empty queue (${s1.p50 - s0.p50 >= 0 ? "+" : ""}${(s1.p50 - s0.p50).toFixed(2)} ms) over ${s1.n} jobs each`);
    return {
      figures: { keys_dispatch_p50_ms: s1.p50, keys_added_p50_ms: s1.p50 - s0.p50 },
      extra: { keys: { queued, keys: KEYS, loaded: s1, empty: s0 } },
    };
  } finally {
    // The host's SIGTERM cancels the runs holding the keys; the queued ones stay, with no host to take them.
    await loaded.stop();
    await empty.stop();
  }
}
