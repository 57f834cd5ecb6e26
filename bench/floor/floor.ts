/**
 * The object floor: how many new Durable Objects per second this machine's workerd can create
 * when each commits one row to its SQLite storage. The minimal Worker in this directory is
 * started the way Tether's control plane is (`src/local/control-plane.ts`: wrangler's
 * unstable_startWorker, state persisted on disk, clients sent to the Worker's own address rather
 * than wrangler's dev proxy), its persist dir in the bench's temp dir beside Tether's state, and
 * driven with the throughput workload's load: the same number of jobs (objects here), the same
 * calls in flight, the same warm-up.
 */
import { join } from "node:path";
import { unstable_DevEnv, unstable_startWorker } from "wrangler";
import { repoRoot } from "../../src/local/paths.js";
import { onCleanup } from "../cleanup.js";
import { cpuOf, descendants, stat } from "../proc.js";
import { IN_FLIGHT, pool, WARMUP } from "../workloads/throughput.js";

export interface ObjectFloor {
  objects: number;
  in_flight: number;
  seconds: number;
  objects_per_s: number;
  /** CPU (user + system) of the floor's workerd processes per object, over the same span. */
  cpu_ms_per_object: number;
}

type ReloadEvent = { type: string; proxyData?: { userWorkerUrl: { protocol: string; hostname: string; port: string } } };

/**
 * The Worker's own address, as control-plane.ts finds it for Tether's plane: wrangler announces
 * it on each reload, possibly after `ready`. Kept per dev env, in a map of the bench's own.
 */
const announced = new WeakMap<object, (url: string) => void>();
const proto = unstable_DevEnv.prototype as unknown as { dispatch(this: object, e: ReloadEvent): void; __tetherBenchFloor?: true };
if (!proto.__tetherBenchFloor) {
  const dispatch = proto.dispatch;
  proto.dispatch = function (this: object, event: ReloadEvent) {
    const u = event.type === "reloadComplete" ? event.proxyData?.userWorkerUrl : undefined;
    if (u) announced.get(this)?.(`${u.protocol}//${u.hostname}:${u.port}`);
    return dispatch.call(this, event);
  };
  proto.__tetherBenchFloor = true;
}

const WORKER_URL_WAIT_MS = 30_000;

function workerdPids(): number[] {
  return descendants(process.pid).filter((p) => p.comm === "workerd").map((p) => p.pid);
}

/** Starts the floor Worker with its state in `persistDir`; returns its address and its stop. */
async function startFloorWorker(persistDir: string): Promise<{ url: string; viaProxy: boolean; pids: () => number[]; stop: () => Promise<void> }> {
  const before = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM"), SIGHUP: process.listeners("SIGHUP") };
  const workerdBefore = new Set(workerdPids());
  const pids = () => workerdPids().filter((p) => !workerdBefore.has(p));
  let resolveUrl!: (url: string) => void;
  const ownUrl = new Promise<string>((r) => (resolveUrl = r));
  const worker = await unstable_startWorker({
    config: join(repoRoot(), "bench", "floor", "wrangler.toml"),
    envFiles: [],
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist: persistDir, watch: false, logLevel: "warn" },
  });
  announced.set(worker.raw, resolveUrl);
  const stop = onCleanup("the object floor's Worker (workerd)", async () => {
    const left = pids();
    await worker.dispose();
    for (const pid of left) if (stat(pid)?.comm === "workerd") kill(pid);
  });
  try {
    await worker.ready;
  } finally {
    // wrangler exits the process on a signal (one handler from when it loads, more from
    // starting); the bench stops everything itself, in order, as control-plane.ts arranges.
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      for (const l of process.listeners(signal)) if (!before[signal].includes(l) || /CLEANUP\(\)/.test(l.toString())) process.off(signal, l);
    }
  }
  const proxyUrl = (await worker.url).toString().replace(/\/$/, "");
  let timer: NodeJS.Timeout | undefined;
  const url = await Promise.race([ownUrl, new Promise<string>((r) => (timer = setTimeout(() => r(proxyUrl), WORKER_URL_WAIT_MS)))]).finally(() => clearTimeout(timer));
  return { url, viaProxy: url === proxyUrl, pids, stop };
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}

async function createObject(url: string): Promise<void> {
  const res = await fetch(`${url}/object`, { method: "POST" });
  const body = await res.text();
  if (!res.ok || body !== "1") throw new Error(`the object floor's Worker answered ${res.status}: ${body.slice(0, 200)}`);
}

/** `dir` is the bench's temp dir: the floor's state goes beside Tether's, on the same filesystem. */
export async function objectFloor(dir: string, objects: number): Promise<ObjectFloor & { via_proxy: boolean }> {
  const w = await startFloorWorker(join(dir, "floor-state"));
  try {
    await pool(WARMUP, IN_FLIGHT, () => createObject(w.url));
    const cpu0 = cpuOf(w.pids());
    const t0 = process.hrtime.bigint();
    await pool(objects, IN_FLIGHT, () => createObject(w.url));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuOf(w.pids()) - cpu0;
    return { objects, in_flight: IN_FLIGHT, seconds, objects_per_s: objects / seconds, cpu_ms_per_object: cpu / objects, via_proxy: w.viaProxy };
  } finally {
    await w.stop();
  }
}
