/**
 * The peer's host process: a BullMQ worker that runs each job as tether-agent does. The job's
 * argv is spawned in its own process group, its stdin closed, its stdout and stderr sent as they
 * come (one job.log per chunk, base64 so bytes stay exact, "o:" or "e:" before it), its exit code
 * returned as the job's value. Cancel arrives through BullMQ's Relay (its idiom for cancelling a
 * job on another worker): the processor's AbortSignal fires and the group gets SIGTERM, SIGKILL
 * after a grace period. Above 8 MB of output not yet in Redis, the pipes are paused, as
 * tether-agent does.
 *
 * Started by the bench: node worker.mjs PORT QUEUE CONCURRENCY GRACE_MS
 */
import { spawn } from "node:child_process";
import { Relay, UnrecoverableError, Worker, type Job } from "bullmq";
import { cancelTopic, STDERR_TAG, STDOUT_TAG, type JobData, type JobResult } from "./protocol.js";

const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 2 * 1024 * 1024;
const LINGER_MS = 2000;

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* gone */
  }
}

function run(job: Job<JobData, JobResult>, graceMs: number, signal?: AbortSignal): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const { argv } = job.data;
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["pipe", "pipe", "pipe"] });
    let unlogged = 0;
    let paused = false;
    let logs: Promise<unknown> = Promise.resolve();
    let killTimer: NodeJS.Timeout | null = null;
    const send = (tag: string, b: Buffer) => {
      unlogged += b.byteLength;
      // ioredis keeps the order of commands on one connection, so the rows land in order.
      const p = job.log(tag + b.toString("base64")).finally(() => {
        unlogged -= b.byteLength;
        if (paused && unlogged < LOW_WATER) {
          paused = false;
          child.stdout!.resume();
          child.stderr!.resume();
        }
      });
      logs = Promise.all([logs, p]);
      if (!paused && unlogged > HIGH_WATER) {
        paused = true;
        child.stdout!.pause();
        child.stderr!.pause();
      }
    };
    const onAbort = () => {
      signalGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), graceMs);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", reject);
    if (!child.pid) return;
    child.stdin!.on("error", () => {});
    child.stdin!.end();
    child.stdout!.on("data", (b: Buffer) => send(STDOUT_TAG, b));
    child.stderr!.on("data", (b: Buffer) => send(STDERR_TAG, b));
    child.on("exit", () => {
      // What the job left running in its group would hold the pipes open: end it too.
      signalGroup(child.pid, "SIGTERM");
      setTimeout(() => signalGroup(child.pid, "SIGKILL"), LINGER_MS).unref();
    });
    child.on("close", (code, sig) => {
      signal?.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      logs.then(
        () => (signal?.aborted ? reject(new UnrecoverableError(`cancelled: ${String(signal.reason)}`)) : resolve({ exit_code: code, signal: sig })),
        reject,
      );
    });
  });
}

async function main(): Promise<void> {
  const [port, queue, concurrency, graceMs] = process.argv.slice(2);
  const connection = { host: "127.0.0.1", port: Number(port), maxRetriesPerRequest: null };
  const grace = Number(graceMs);
  const worker = new Worker<JobData, JobResult>(queue!, (job, _token, signal) => run(job, grace, signal), {
    connection,
    concurrency: Number(concurrency),
  });
  worker.on("error", (err) => process.stderr.write(`bullmq worker: ${err.message}\n`));
  const relay = new Relay({ connection });
  relay.on("error", (err: Error) => process.stderr.write(`bullmq relay: ${err.message}\n`));
  await relay.subscribe<{ jobId: string }>(cancelTopic(queue!), (m) => {
    worker.cancelJob(m.data.jobId, "cancel requested");
  });
  await worker.waitUntilReady();
  await relay.waitUntilReady();
  process.stdout.write("ready\n");

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    worker.cancelAllJobs("worker stopping");
    await Promise.allSettled([worker.close(), relay.close()]);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((err: Error) => {
  process.stderr.write(`bullmq worker: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
