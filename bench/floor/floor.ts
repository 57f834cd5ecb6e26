/**
 * The object floor: how many new Durable Objects per second this machine's workerd can create
 * when each commits one row to its SQLite storage. The minimal Worker in this directory is
 * started the way Tether's control plane is (`src/local/local-worker.ts`: Miniflare, state
 * persisted on disk, clients sent to the Worker's own socket), its persist dir in the bench's
 * temp dir beside Tether's state, and driven with the throughput workload's load: the same
 * number of jobs (objects here), the same calls in flight, the same warm-up.
 */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { nodeFetch } from "../../src/client/node-fetch.js";
import { startLocalWorker } from "../../src/local/local-worker.js";
import { repoRoot } from "../../src/local/paths.js";
import { onCleanup } from "../cleanup.js";
import { settleDisk } from "../settle.js";
import { cpuOf, descendants, machineBusyMs, stat } from "../proc.js";
import { IN_FLIGHT, pool, WARMUP } from "../workloads/throughput.js";

export interface ObjectFloor {
  objects: number;
  in_flight: number;
  seconds: number;
  objects_per_s: number;
  /** CPU (user + system) of the floor's workerd processes per object, over the same span. */
  cpu_ms_per_object: number;
  /** Everything the machine did per object over the same span, the bench's own calls included. */
  machine_cpu_ms_per_object: number;
}

function workerdPids(): number[] {
  return descendants(process.pid).filter((p) => p.comm === "workerd").map((p) => p.pid);
}

/** Starts the floor Worker with its state in `persistDir`; returns its address and its stop. */
async function startFloorWorker(persistDir: string): Promise<{ url: string; pids: () => number[]; stop: () => Promise<void> }> {
  const workerdBefore = new Set(workerdPids());
  const pids = () => workerdPids().filter((p) => !workerdBefore.has(p));
  const worker = await startLocalWorker({ config: join(repoRoot(), "bench", "floor", "wrangler.toml"), persistDir });
  const stop = onCleanup("the object floor's Worker (workerd)", async () => {
    const left = pids();
    await worker.stop();
    for (const pid of left) if (stat(pid)?.comm === "workerd") kill(pid);
  });
  return { url: worker.url, pids, stop };
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}

/** Through the transport Tether's SDK uses in Node: the same client cost on both sides of the ratio. */
async function createObject(url: string): Promise<void> {
  const res = await nodeFetch(`${url}/object`, { method: "POST" });
  const body = Buffer.from(await res.arrayBuffer()).toString("utf8");
  if (!res.ok || body !== "1") throw new Error(`the object floor's Worker answered ${res.status}: ${body.slice(0, 200)}`);
}

/** `dir` is the bench's temp dir: the floor's state goes beside Tether's, on the same filesystem. */
export async function objectFloor(dir: string, objects: number): Promise<ObjectFloor> {
  const w = await startFloorWorker(mkdtempSync(join(dir, "floor-state-")));
  try {
    await pool(WARMUP, IN_FLIGHT, () => createObject(w.url));
    await settleDisk();
    const cpu0 = cpuOf(w.pids());
    const machine0 = machineBusyMs();
    const t0 = process.hrtime.bigint();
    await pool(objects, IN_FLIGHT, () => createObject(w.url));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuOf(w.pids()) - cpu0;
    const machine = machineBusyMs() - machine0;
    return { objects, in_flight: IN_FLIGHT, seconds, objects_per_s: objects / seconds, cpu_ms_per_object: cpu / objects, machine_cpu_ms_per_object: machine / objects };
  } finally {
    await w.stop();
  }
}

/** Floors that differ by more than this part of the larger were read on a machine that changed speed. */
const DRIFT = 0.25;

/** The floor figures of a run: the mean of the floors read around Tether, and each of them. */
export function floorFigures(floors: ObjectFloor[]): Record<string, number> {
  if (!floors.length) return {};
  const mean = (f: (x: ObjectFloor) => number) => floors.reduce((s, x) => s + f(x), 0) / floors.length;
  return {
    floor_objects_per_s: mean((x) => x.objects_per_s),
    floor_cpu_ms_per_object: mean((x) => x.cpu_ms_per_object),
    floor_objects_per_s_before: floors[0]!.objects_per_s,
    ...(floors[1] && { floor_objects_per_s_after: floors[1].objects_per_s }),
  };
}

/** A note for the results when the two floors disagree: the ratio to their mean is then a guess. */
export function floorDrift(floors: ObjectFloor[]): string | null {
  if (floors.length < 2) return null;
  const [a, b] = floors.map((f) => f.objects_per_s) as [number, number];
  if (Math.abs(a - b) <= DRIFT * Math.max(a, b)) return null;
  return `the object floor moved from ${a.toFixed(0)} objects/s before Tether to ${b.toFixed(0)} after: the machine changed speed, and throughput_over_floor is not reliable in this run`;
}
