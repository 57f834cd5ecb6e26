/**
 * The floors: what the same jobs cost with no queue at all, on the same machine, so a reader
 * sees how much of each figure is the system and how much is the operating system.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Redactor } from "../worker-agent/src/redactor.js";
import { buildProgram } from "./build.js";
import { MB } from "./context.js";
import { machineBusyMs } from "./proc.js";
import { median, summarize, type Summary } from "./stats.js";

/** The stamp job spawned straight from a fresh Node process (no queue): start to first act. */
export async function spawnFloor(n: number): Promise<Summary & { parent_rss_mb: number }> {
  const script = await buildProgram("spawn-floor", "spawn-floor");
  const child = spawn(process.execPath, [script, String(n)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  const code = await new Promise((r) => child.once("close", r));
  if (code !== 0) throw new Error(`the spawn floor failed (exit ${String(code)})`);
  const { ms, rss_mb } = JSON.parse(out) as { ms: number[]; rss_mb: number };
  return { ...summarize(ms), parent_rss_mb: rss_mb };
}

/**
 * The throughput job started `n` times, `inFlight` at a time, from a fresh Node process, with no
 * queue: how many jobs a second the machine can start and end at all, and the CPU each costs it,
 * the jobs themselves included. What a system's throughput is short of this is its own.
 */
export async function spawnRateFloor(n: number, inFlight: number): Promise<{ per_s: number; machine_cpu_ms_per_job: number }> {
  const script = await buildProgram("spawn-floor", "spawn-floor");
  const machine0 = machineBusyMs();
  const child = spawn(process.execPath, [script, "rate", String(n), String(inFlight)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  const code = await new Promise((r) => child.once("close", r));
  if (code !== 0) throw new Error(`the spawn rate floor failed (exit ${String(code)})`);
  const { seconds } = JSON.parse(out) as { seconds: number };
  return { per_s: n / seconds, machine_cpu_ms_per_job: (machineBusyMs() - machine0) / n };
}

/** The bytes of `file` through one pipe, `cat` to `cat > /dev/null`: the physical limit. */
export async function pipeFloor(file: string, bytes: number, reps = 3): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const child = spawn("sh", ["-c", 'cat "$1" | cat > /dev/null', "sh", file], { stdio: "ignore" });
    const code = await new Promise((r) => child.once("close", r));
    if (code !== 0) throw new Error(`the pipe floor failed (exit ${String(code)})`);
    rates.push(bytes / MB / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return median(rates);
}

/** The same bytes read by a Node process from a child's stdout pipe and dropped: what a Node host can take in at most. */
export async function nodePipeFloor(file: string, bytes: number, reps = 3): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const child = spawn("cat", [file], { detached: true, stdio: ["ignore", "pipe", "ignore"] });
    let got = 0;
    child.stdout!.on("data", (b: Buffer) => (got += b.byteLength));
    await new Promise((r) => child.once("close", r));
    if (got !== bytes) throw new Error(`the Node pipe floor read ${got} of ${bytes} bytes`);
    rates.push(bytes / MB / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return median(rates);
}

/**
 * tether-agent's redactor alone, on one core, over the payload as a job's pipe delivers it, with
 * the secrets every attempt has (its job token, a JWT) and one more: every byte of output passes
 * through it on the host's one thread, so its cost is the time it adds per byte.
 */
/** What one read of a job's pipe gives tether-agent. */
const CHUNK = 64 * 1024;

export async function redactorFloor(file: string, bytes: number): Promise<number> {
  const r = new Redactor([`eyJ${randomBytes(180).toString("base64url")}`, randomBytes(16).toString("hex")]);
  // Read first, so the figure is the redactor's and not the disk's.
  const data = readFileSync(file);
  let out = 0;
  const t0 = process.hrtime.bigint();
  for (let at = 0; at < data.length; at += CHUNK) out += r.push(data.subarray(at, at + CHUNK)).length;
  out += r.end().length;
  if (out !== bytes) throw new Error(`the redactor passed ${out} of ${bytes} bytes that hold no secret`);
  return bytes / MB / (Number(process.hrtime.bigint() - t0) / 1e9);
}
