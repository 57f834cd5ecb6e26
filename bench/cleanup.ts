/**
 * Everything the bench starts is stopped when it ends, fails or is interrupted. Stops run last
 * started first; then a sweep kills whatever is left: every process started under the bench
 * carries a marker in its environment, so even a job orphaned by a killed host is found.
 */
import { randomBytes } from "node:crypto";
import { markedProcesses, stat, ticksToMs, type ProcStat } from "./proc.js";

type Stop = () => Promise<unknown> | unknown;

const MARKER_NAME = "TETHER_BENCH_RUN";
const marker = `${MARKER_NAME}=${randomBytes(6).toString("hex")}`;
// Children inherit it: hosts, their jobs, the BullMQ worker and its jobs, workerd, redis-server.
process.env[MARKER_NAME] = marker.slice(MARKER_NAME.length + 1);

const stops: { what: string; stop: Stop }[] = [];
/** Processes that may hide the marker (redis-server rewrites its environment block to set its title). */
const tracked = new Map<number, string>();

/** Counts a process as the bench's, and kills it in the final sweep, even without the marker. */
export function track(pid: number): void {
  const s = stat(pid);
  if (s) tracked.set(pid, s.comm);
}

/** Live processes the bench started: marked ones and tracked ones (checked by name, against pid reuse). */
function ours(): ProcStat[] {
  const out = markedProcesses(marker);
  for (const [pid, comm] of tracked) {
    const s = stat(pid);
    if (s && s.comm === comm && !out.some((p) => p.pid === pid)) out.push(s);
  }
  return out;
}
let cleaning: Promise<void> | null = null;

/** Registers a stop; returns a function that runs it now and forgets it. */
export function onCleanup(what: string, stop: Stop): () => Promise<void> {
  const entry = { what, stop };
  stops.push(entry);
  return async () => {
    const i = stops.indexOf(entry);
    if (i < 0) return;
    stops.splice(i, 1);
    await bounded(entry.what, entry.stop);
  };
}

/** Runs every stop, then kills what is left. Safe to call more than once. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (stops.length) {
      const entry = stops.pop()!;
      await bounded(entry.what, entry.stop);
    }
    sweep("SIGKILL");
  })();
  return cleaning;
}

/** Processes the bench started that are still alive (zombies waiting for a reaper do not count). */
export function leftBehind(): number[] {
  return ours().filter((p) => p.state !== "Z").map((p) => p.pid);
}

function sweep(signal: NodeJS.Signals): void {
  for (const p of ours()) {
    try {
      process.kill(p.pid, signal);
    } catch {
      /* gone */
    }
  }
}

async function bounded(what: string, stop: Stop, ms = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(stop),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("took too long")), ms))),
    ]);
  } catch (err) {
    process.stderr.write(`bench: stopping ${what}: ${(err as Error).message}\n`);
  } finally {
    clearTimeout(timer);
  }
}

let signalled = false;

/** True once the bench was told to stop: what fails from then on is the stopping, not the system. */
export const interrupted = () => signalled;

/** Ctrl-C or SIGTERM: `shutdown` with the signal's conventional exit code; a second signal kills at once. */
export function installSignalHandlers(shutdown: (code: number) => Promise<never>): void {
  const on = (signal: NodeJS.Signals, code: number) => {
    // wrangler, once loaded, exits the process on SIGINT and SIGTERM before any later handler
    // runs; the bench stops what it started first. (startControlPlane removes those it adds.)
    for (const l of process.listeners(signal)) if (/CLEANUP\(\)/.test(l.toString())) process.off(signal, l);
    process.on(signal, () => {
      if (signalled) {
        sweep("SIGKILL");
        process.exit(code);
      }
      signalled = true;
      process.stderr.write(`\nbench: ${signal}: stopping everything it started\n`);
      void shutdown(code);
    });
  };
  on("SIGINT", 130);
  on("SIGTERM", 143);
  on("SIGHUP", 129);
}

/** CPU milliseconds spent so far by the bench and everything it started (ended children included, as their parents waited for them). */
export function ownCpuMs(): number {
  let ticks = 0;
  for (const p of [stat(process.pid), ...ours()]) if (p) ticks += p.ticks + p.childTicks;
  return ticksToMs(ticks);
}
