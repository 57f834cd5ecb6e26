/**
 * Run by the bench in a fresh, small Node process, as a host is: spawns the stamp job N times
 * (detached, stdio piped, as both hosts do) and prints, as JSON, the milliseconds from just
 * before each spawn to the job's first act. A fork costs more the more memory its parent maps,
 * so the floor must come from a process the size of a host, not from the bench.
 *
 *   node bench-spawn-floor.mjs N
 */
import { spawn } from "node:child_process";
import { calibrate, msBetween, wallNs } from "./clock.js";
import { jobs, parseStamp } from "./jobs.js";

async function main(): Promise<void> {
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
