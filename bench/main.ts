/**
 * npm run bench: Tether and BullMQ on Redis (without persistence, and fsyncing every write),
 * side by side, on this machine, in one run.
 *
 *   npm run bench                       the full run (about 8 minutes on 2 cores)
 *   npm run bench -- --quick            fewer repetitions and smaller outputs
 *   npm run bench -- --only dispatch,cancel
 *   npm run bench -- --systems tether   one system only
 */
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../src/local/paths.js";
import { bullmqSystem } from "./bullmq/system.js";
import { INSTALL_HINT, redisVersion } from "./bullmq/redis.js";
import { floorDrift, floorFigures, objectFloor, type ObjectFloor } from "./floor/floor.js";
import { cleanup, installSignalHandlers, interrupted, leftBehind, onCleanup } from "./cleanup.js";
import { summarizeProfiles } from "./cpuprofile.js";
import { FULL, QUICK, type Ctx } from "./context.js";
import { emptyFigures, type Figures, type Measured } from "./figures.js";
import { nodePipeFloor, pipeFloor, redactorFloor, spawnFloor, spawnRateFloor } from "./floors.js";
import { loadMeter } from "./load.js";
import { makePayload } from "./payload.js";
import { floorsText, goals, machine, table, writeResults, type Results } from "./report.js";
import type { System, SystemName, Target } from "./target.js";
import { tetherSystem } from "./tether/system.js";
import { cancel } from "./workloads/cancel.js";
import { dispatch } from "./workloads/dispatch.js";
import { input } from "./workloads/input.js";
import { keys } from "./workloads/keys.js";
import { index } from "./workloads/index.js";
import { live } from "./workloads/live.js";
import { sandbox } from "./workloads/sandbox.js";
import { memory } from "./workloads/memory.js";
import { output } from "./workloads/output.js";
import { roundtrip } from "./workloads/roundtrip.js";
import { schedule } from "./workloads/schedule.js";
import { batched, throughput } from "./workloads/throughput.js";

/** In the order they run: the light ones first, so the heavy ones cannot disturb them. */
const WORKLOADS: Record<string, (t: Target, ctx: Ctx) => Promise<Measured>> = { dispatch, roundtrip, cancel, schedule, live, input, sandbox, index, keys, throughput, batched, output, memory };
const SLOTS = 8;
/** A workload that takes longer has hung: it is reported as failed and the run goes on. */
const WORKLOAD_TIMEOUT_MS = 5 * 60_000;
/** keys queues 10,000 runs and measures dispatch twice around it. */
const TIMEOUT_MS: Record<string, number> = { keys: 15 * 60_000 };

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const SYSTEMS: SystemName[] = ["tether", "bullmq", "bullmq_durable"];

const USAGE = `usage: npm run bench -- [--quick] [--only ${Object.keys(WORKLOADS).join(",")}] [--systems ${SYSTEMS.join(",")}] [--out FILE] [--profile DIR]

  --quick     fewer repetitions, smaller outputs (about 2 minutes)
  --only      run these workloads only
  --systems   run these systems only (bullmq_durable: BullMQ on a redis-server that
              fsyncs its append-only file on every write)
  --out       where to write the results (default bench/results.json for a full run of
              everything, bench/results.local.json otherwise)
  --profile   write CPU profiles to DIR (workerd per workload, through its inspector;
              tether-agent and the BullMQ worker over their whole life) and print the
              hottest functions; profiling slows everything, so such a run's figures are
              not results`;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      only: { type: "string" },
      systems: { type: "string" },
      out: { type: "string" },
      profile: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const list = (s: string | undefined, all: string[], what: string) => {
    if (!s) return all;
    const picked = s.split(",").map((x) => x.trim()).filter(Boolean);
    const bad = picked.filter((x) => !all.includes(x));
    if (bad.length) {
      console.error(`bench: unknown ${what}: ${bad.join(", ")}\n\n${USAGE}`);
      process.exit(2);
    }
    return all.filter((x) => picked.includes(x));
  };
  const workloads = list(values.only, Object.keys(WORKLOADS), "workload");
  const systems = list(values.systems, SYSTEMS, "system") as SystemName[];
  const partial = Boolean(values.only || values.systems || values.quick || values.profile);
  const out = values.out ?? join(repoRoot(), "bench", partial ? "results.local.json" : "results.json");
  return { quick: Boolean(values.quick), profile: values.profile ? resolve(values.profile) : undefined, workloads, systems, out, only: values.only || values.systems ? [...workloads, ...systems] : null };
}

async function main(): Promise<number> {
  const opts = options();
  const started = Date.now();
  const progress = (msg: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
  const sizes = opts.quick ? QUICK : FULL;
  const dir = mkdtempSync(join(tmpdir(), "tether-bench-"));
  onCleanup("the temp dir", () => rmSync(dir, { recursive: true, force: true }));

  const results: Results = {
    date: new Date().toISOString(),
    mode: opts.quick ? "quick" : "full",
    only: opts.only,
    machine: machine(),
    versions: { node: process.version },
    setup: {
      tether: `the Worker and Durable Objects in workerd, started by Miniflare on a socket of their own (as npm start runs them), state on disk; one tether-agent process with ${SLOTS} slots`,
      bullmq: `redis-server on loopback, no persistence; one BullMQ worker process with concurrency ${SLOTS}, running each job as a child process as tether-agent does`,
      bullmq_durable: `the same as bullmq, on a redis-server of its own with --appendonly yes --appendfsync always (every write fsynced before it is answered), its data dir in the temp dir beside Tether's state`,
      object_floor: "a minimal Worker in the same workerd, started the same way, state on the same disk: each call creates a new SQLite-backed Durable Object that commits one row; as many objects as throughput jobs, with the same calls in flight",
      clients: "the bench process: the Tether SDK over HTTP and SSE; BullMQ Queue, QueueEvents and Relay over ioredis",
    },
    floors: {},
    tether: emptyFigures(),
    bullmq: emptyFigures(),
    bullmq_durable: emptyFigures(),
    goals: [],
    notes: [],
    extra: {},
  };
  let failed = false;

  const wants = (w: string) => opts.workloads.includes(w);
  progress(`${opts.quick ? "quick" : "full"} run: ${opts.workloads.join(", ")} on ${opts.systems.join(" and ")}; temp dir ${dir}`);
  const payload = wants("output") ? makePayload(dir, sizes.outputBytes) : { file: "", bytes: 0, sha256: "" };
  if (wants("dispatch")) {
    const f = await spawnFloor(100);
    Object.assign(results.floors, { spawn_p50_ms: f.p50, spawn_p90_ms: f.p90, spawn_p99_ms: f.p99, spawn_parent_rss_mb: f.parent_rss_mb });
    progress(`floor: a fresh Node process (${f.parent_rss_mb.toFixed(0)} MB) spawns the stamp job in p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms to its first act`);
  }
  if (wants("output")) {
    results.floors.pipe_mb_per_s = await pipeFloor(payload.file, payload.bytes);
    results.floors.node_pipe_mb_per_s = await nodePipeFloor(payload.file, payload.bytes);
    progress(`floor: the payload through a pipe at ${results.floors.pipe_mb_per_s.toFixed(0)} MB/s; into a Node process at ${results.floors.node_pipe_mb_per_s.toFixed(0)} MB/s`);
    results.floors.redactor_mb_per_s = await redactorFloor(payload.file, payload.bytes);
    progress(`floor: tether-agent's redactor alone passes the payload at ${results.floors.redactor_mb_per_s.toFixed(0)} MB/s`);
  }
  const floors: ObjectFloor[] = [];
  // Measured on both sides of Tether: the machine's speed drifts, and a ratio to one floor read
  // minutes away from the throughput it divides can be off by half.
  const measureFloor = async (when: "before" | "after") => {
    if (!(wants("throughput") || wants("batched")) || !opts.systems.includes("tether") || interrupted()) return;
    try {
      const f = await objectFloor(dir, sizes.throughputJobs);
      floors.push(f);
      results.extra[`object_floor_${when}`] = { ...f };
      progress(`floor (${when} Tether): ${f.objects} new Durable Objects, one row committed each, ${f.in_flight} calls in flight: ${f.objects_per_s.toFixed(0)} objects/s (workerd ${f.cpu_ms_per_object.toFixed(2)} CPU ms/object, machine ${f.machine_cpu_ms_per_object.toFixed(2)})`);
    } catch (err) {
      if (!interrupted()) {
        failed = true;
        progress(`floor: the object floor FAILED: ${(err as Error).stack ?? err}`);
        results.notes.push(`the object floor failed: ${(err as Error).message}`);
      }
    }
  };
  if (wants("throughput") || wants("batched")) {
    const f = await spawnRateFloor(sizes.throughputJobs, SLOTS);
    Object.assign(results.floors, { spawn_per_s: f.per_s, spawn_machine_cpu_ms_per_job: f.machine_cpu_ms_per_job });
    progress(`floor: a fresh Node process starts and ends the throughput job ${sizes.throughputJobs} times, ${SLOTS} at a time: ${f.per_s.toFixed(0)} jobs/s (machine ${f.machine_cpu_ms_per_job.toFixed(2)} CPU ms/job)`);
  }
  await measureFloor("before");
  const ctx: Ctx = { sizes, dir, payload, slots: SLOTS, progress };

  const systems: Record<SystemName, System> = {
    tether: tetherSystem({ slots: SLOTS }),
    bullmq: bullmqSystem({ slots: SLOTS }),
    bullmq_durable: bullmqSystem({ slots: SLOTS, durable: true }),
  };
  for (const name of opts.systems) {
    if (interrupted()) break;
    if (name !== "tether" && !redisVersion()) {
      progress(`${name}: skipped. ${INSTALL_HINT}`);
      results.notes.push(`${name} was not measured: ${INSTALL_HINT}`);
      continue;
    }
    progress(`${name}: starting`);
    const load = loadMeter();
    const sys = await systems[name].start(dir, opts.profile);
    Object.assign(results.versions, sys.versions);
    const figures: Figures = results[name];
    const extra: Record<string, unknown> = (results.extra[name] = {});
    try {
      for (const w of opts.workloads) {
        if (interrupted()) break;
        try {
          await sys.profile?.start();
          const m = await withTimeout(WORKLOADS[w]!(sys.target, ctx), TIMEOUT_MS[w] ?? WORKLOAD_TIMEOUT_MS, `${name} ${w}`);
          if (sys.profile) console.log(await sys.profile.stop(w));
          Object.assign(figures, m.figures);
          Object.assign(extra, m.extra);
          results.notes.push(...(m.notes ?? []));
        } catch (err) {
          if (interrupted()) break;
          failed = true;
          progress(`${name} ${w}: FAILED: ${(err as Error).stack ?? err}`);
          results.notes.push(`${name} ${w} failed: ${(err as Error).message}`);
        }
      }
    } finally {
      if (interrupted()) return new Promise<number>(() => {});
      const l = load();
      extra.load = l;
      const note = `while ${name} was measured, the bench used ${l.bench_cores.toFixed(2)} and other processes ${l.other_cores.toFixed(2)} of the ${l.cores} cores`;
      progress(`${name}: ${note}; stopping`);
      if (l.other_cores > 0.1) results.notes.push(`${note}: the machine was not quiet, figures may be pessimistic`);
      await sys.stop();
    }
    if (name === "tether") await measureFloor("after");
    if (wants("output")) figures.pipe_mb_per_s = results.floors.pipe_mb_per_s ?? null;
  }
  if (interrupted()) return new Promise<number>(() => {}); // the signal handler stops everything and exits
  const { throughput_jobs_per_s: rate } = results.tether;
  Object.assign(results.floors, floorFigures(floors));
  const floor = results.floors.floor_objects_per_s;
  if (rate !== null && floor) results.floors.throughput_over_floor = rate / floor;
  const { batched_jobs_per_s: batchedRate } = results.tether;
  if (batchedRate !== null && floor) results.floors.batched_over_floor = batchedRate / floor;
  const spawns = results.floors.spawn_per_s;
  if (rate !== null && spawns) results.floors.throughput_over_spawn = rate / spawns;
  if (batchedRate !== null && spawns) results.floors.batched_over_spawn = batchedRate / spawns;
  const drift = floorDrift(floors);
  if (drift) results.notes.push(drift);
  // Redaction runs on the host's thread for every byte: the share of output time it takes is the stored rate over its own.
  const { output_mb_per_s: stored } = results.tether;
  if (stored !== null && results.floors.redactor_mb_per_s) results.tether.redaction_share_pct = (100 * stored) / results.floors.redactor_mb_per_s;
  results.goals = goals(results.tether, results.bullmq);
  if (opts.profile) {
    console.log(`\nHost processes, over their whole life (profiles in ${opts.profile}):`);
    for (const sub of ["tether-agent", "bullmq-worker", "bullmq_durable-worker"]) console.log(summarizeProfiles(join(opts.profile, sub), sub));
    results.notes.push("profiled run: the figures are slowed by the profilers and are not results");
  }

  console.log(`\n${table(results)}\n\nFloors, the same work with no queue:\n${floorsText(results)}`);
  if (results.notes.length) console.log(`\nNotes:\n${[...new Set(results.notes)].map((n) => `  - ${n}`).join("\n")}`);
  results.notes = [...new Set(results.notes)];
  writeResults(opts.out, results);
  console.log(`\nresults: ${opts.out}   (${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
  return failed ? 1 : 0;
}

/** Stops everything the bench started, checks nothing is left, and exits. */
async function shutdown(code: number): Promise<never> {
  await cleanup();
  let left = leftBehind();
  for (let i = 0; left.length && i < 40; i++) {
    await new Promise((r) => setTimeout(r, 50)); // a SIGKILLed process takes a moment to go
    left = leftBehind();
  }
  if (left.length) {
    console.error(`bench: processes left behind: ${left.join(", ")}`);
    code = code || 1;
  } else {
    console.log("bench: every process it started has ended");
  }
  process.exit(code);
}

installSignalHandlers(shutdown);
let code = 1;
try {
  code = await main();
} catch (err) {
  if (!interrupted()) console.error(`bench: ${(err as Error).stack ?? err}`);
}
if (!interrupted()) await shutdown(code);
