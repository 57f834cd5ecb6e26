/**
 * The peer: BullMQ on a local redis-server, with its worker in a process of its own (as
 * tether-agent is), built from worker.ts when the bench starts. Twice: on a redis-server without
 * persistence (`bullmq`), and on one that fsyncs its append-only file on every write
 * (`bullmq_durable`), so Tether, whose every commit is on disk, can be compared at equal durability.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../src/local/paths.js";
import { buildProgram } from "../build.js";
import { onCleanup } from "../cleanup.js";
import type { Isolated, System, SystemName } from "../target.js";
import { packageVersion } from "../tether/system.js";
import { redisPersistence, startRedis } from "./redis.js";
import { BullTarget, openQueue } from "./target.js";

const GRACE_MS = 2000;

interface WorkerProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** With profDir, the worker writes its CPU profile there. */
async function startWorker(script: string, port: number, queue: string, concurrency: number, profDir?: string): Promise<WorkerProcess> {
  const prof = profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [];
  const child = spawn(process.execPath, [...prof, script, String(port), queue, String(concurrency), String(GRACE_MS)], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: repoRoot(),
  });
  let log = "";
  child.stderr!.on("data", (b: Buffer) => (log += b.toString()).length > 100_000 && (log = log.slice(-50_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = onCleanup(`BullMQ worker for ${queue}`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), GRACE_MS + 3000);
    await exited;
    clearTimeout(t);
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("ready\n")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`the BullMQ worker exited (${code}) before it was ready:\n${log}`)));
  });
  return { child, stop };
}

export function bullmqSystem(opts: { slots: number; durable?: boolean }): System {
  const durable = opts.durable ?? false;
  const name: SystemName = durable ? "bullmq_durable" : "bullmq";
  return {
    name,
    async start(dir, profileDir) {
      const [redis, script] = await Promise.all([startRedis(dir, { durable }), buildProgram("bullmq/worker", "bullmq-worker")]);
      const opened: { close(): Promise<void> }[] = [];
      let n = 0;
      const make = async (queue: string, slots: number) => {
        const worker = await startWorker(script, redis.port, queue, slots, profileDir && join(profileDir, `${name}-worker`));
        const q = await openQueue(redis.port, queue);
        opened.push(q);
        const target = new BullTarget({ ...q, system: name, planePids: () => [redis.pid], hostPids: () => [worker.child.pid!], isolated });
        return { worker, target, q };
      };
      const isolated = async (slots: number): Promise<Isolated> => {
        const { worker, target, q } = await make(`bench-isolated-${++n}`, slots);
        return {
          target,
          hostPid: worker.child.pid!,
          async stop() {
            await worker.stop();
            await q.queue.obliterate({ force: true }); // frees the gigabytes of log rows in Redis
            await q.close();
          },
        };
      };
      const main = await make("bench", opts.slots);
      // The server says what it does, not the flags the bench meant to give it.
      const persistence = await redisPersistence(redis.port);
      if (durable !== (persistence.appendonly === "yes" && persistence.appendfsync === "always")) {
        throw new Error(`redis-server for ${name} runs with appendonly ${persistence.appendonly}, appendfsync ${persistence.appendfsync}`);
      }
      const closeQueues = onCleanup("BullMQ queue connections", () => Promise.allSettled(opened.map((q) => q.close())));
      return {
        target: main.target,
        versions: { bullmq: packageVersion("node_modules/bullmq"), ioredis: packageVersion("node_modules/ioredis"), "redis-server": redis.version },
        async stop() {
          await main.worker.stop();
          await closeQueues();
          await redis.stop();
        },
      };
    },
  };
}
