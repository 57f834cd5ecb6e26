/**
 * 9. The workspace index (Tether only): 10,000 runs in one workspace, then a filtered page
 * (agent + label + status, 50 runs) read over and over, p50; and, while runs are submitted at
 * 100/s, how long each takes to appear in `GET /v1/runs` after its submit was answered, p99.
 * A lister polls the newest page back to back, so a lag is measured to within one list call.
 */
import type { TetherClient } from "../../src/client/sdk.js";
import { sleep } from "../clock.js";
import type { Ctx } from "../context.js";
import type { Measured } from "../figures.js";
import { summarize } from "../stats.js";
import type { Target } from "../target.js";
import { pool } from "./throughput.js";

const IN_FLIGHT = 32;
const PAGES = 200;
const RATE_PER_S = 100;

export async function index(t: Target, ctx: Ctx): Promise<Measured> {
  const client = t.sdk;
  if (!client) return { figures: {}, notes: [`${t.name} has no workspace index: the index workload is Tether's only`] };
  const n = ctx.sizes.indexRuns;
  const stamp = Date.now().toString(36);
  // Hostless agents: their runs stay queued, so filling the index costs no job runs.
  const fill = `idx-${stamp}`;
  const lag = `lag-${stamp}`;
  await client.createAgent(fill);
  await client.createAgent(lag);
  const t0 = Date.now();
  await pool(n, IN_FLIGHT, (i) => client.submit(fill, { argv: ["echo", String(i)], labels: { pr: String(i % 100), kind: i % 3 ? "test" : "build" } }));
  ctx.progress(`index: ${n} runs submitted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await indexed(client, fill, n);

  const filter = { agent: fill, label: { pr: "42", kind: "build" }, status: ["queued", "failed"], limit: 50 };
  const first = await client.listRuns(filter);
  if (!first.runs.length) throw new Error("the filtered page is empty: the workload's filter finds nothing");
  const page: number[] = [];
  for (let i = 0; i < PAGES; i++) {
    const a = process.hrtime.bigint();
    await client.listRuns(i % 2 ? filter : { ...filter, cursor: first.next_cursor ?? undefined });
    page.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  const p = summarize(page);

  const lags = await lagUnderLoad(client, lag, ctx.sizes.indexLagSeconds);
  const l = summarize(lags);
  ctx.progress(`index: filtered page of ${n} runs p50 ${p.p50.toFixed(2)} ms; index lag at ${RATE_PER_S} runs/s p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms over ${l.n} runs`);
  // The agents stay: deleting one cancels its 10,000 queued runs in one transaction, which is not what is measured here.
  return {
    figures: { index_page_p50_ms: p.p50, index_lag_p99_ms: l.p99 },
    extra: { index: { runs: n, page: p, lag: l, rate_per_s: RATE_PER_S } },
  };
}

/** Waits until the agent's runs are all in the index. */
async function indexed(client: TetherClient, agent: string, n: number): Promise<void> {
  for (;;) {
    const a = (await client.listAgents({ limit: 200 })).agents.find((x) => x.name === agent);
    if (a && a.queued >= n) return;
    await sleep(50);
  }
}

async function lagUnderLoad(client: TetherClient, agent: string, seconds: number): Promise<number[]> {
  const answered = new Map<string, number>();
  const seen = new Map<string, number>();
  let submitting = true;
  let gaveUp = false;
  const lister = (async () => {
    while (!gaveUp && (submitting || seen.size < answered.size)) {
      const { runs } = await client.listRuns({ agent, limit: 200 });
      const now = performance.now();
      for (const r of runs) if (!seen.has(r.id)) seen.set(r.id, now);
    }
  })();
  const start = performance.now();
  const total = seconds * RATE_PER_S;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE_PER_S;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push(client.submit(agent, { argv: ["echo", String(i)] }).then((r) => void answered.set(r.id, performance.now())));
  }
  await Promise.all(inflight);
  submitting = false;
  await Promise.race([lister, sleep(30_000)]);
  gaveUp = true;
  const out: number[] = [];
  for (const [id, at] of answered) {
    const s = seen.get(id);
    if (s === undefined) throw new Error(`run ${id} never appeared in the index`);
    out.push(Math.max(0, s - at));
  }
  return out;
}
