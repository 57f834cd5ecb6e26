/**
 * Run by the bench in a fresh, small Node process, as a host is. Two floors, both with the job
 * detached and stdout and stderr piped, as both hosts run theirs:
 *
 *   node bench-spawn-floor.mjs N            the stamp job N times, one at a time: prints, as JSON,
 *                                           the milliseconds from just before each spawn to the
 *                                           job's first act
 *   node bench-spawn-floor.mjs rate N K     the throughput job N times, K at a time: prints the
 *                                           seconds it took
 *
 * A fork costs more the more memory its parent maps, so the floor must come from a process the
 * size of a host, not from the bench.
 */
import { spawn } from "node:child_process";
import { calibrate, msBetween, wallNs } from "./clock.js";
import { jobs, parseStamp } from "./jobs.js";

/** Starts the throughput job `n` times, `inFlight` at a time, and nothing else: no queue, no report. */
async function rate(n: number, inFlight: number): Promise<void> {
  const [cmd, ...args] = jobs.nothing().argv as [string, ...string[]];
  let started = 0;
  const t0 = process.hrtime.bigint();
  const lane = async () => {
    while (started < n) {
      started++;
      const child = spawn(cmd, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout!.resume();
      child.stderr!.resume();
      const code = await new Promise((r) => child.once("close", r));
      if (code !== 0) throw new Error(`${cmd} exited ${String(code)}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  process.stdout.write(`${JSON.stringify({ seconds: Number(process.hrtime.bigint() - t0) / 1e9 })}\n`);
}

async function main(): Promise<void> {
  if (process.argv[2] === "rate") return rate(Number(process.argv[3]), Number(process.argv[4]));
  const n = Number(process.argv[2] ?? 100);
  const [cmd, ...args] = jobs.stamp().argv as [string, ...string[]];
  const out: number[] = [];
  calibrate();
  for (let i = 0; i < n + 10; i++) {
    const t0 = wallNs();
    const child = spawn(cmd, args, { detached: true, stdio: ["pipe", "pipe", "pipe"] });
    child.stdin!.end();
    const parts: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => parts.push(b));
    await new Promise((r) => child.once("close", r));
    if (i >= 10) out.push(msBetween(t0, parseStamp(Buffer.concat(parts))));
  }
  process.stdout.write(`${JSON.stringify({ ms: out, rss_mb: process.memoryUsage().rss / 2 ** 20 })}\n`);
}

void main();
