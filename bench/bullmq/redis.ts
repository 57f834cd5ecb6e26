/**
 * A throwaway redis-server for the peer: loopback only, a free port, its directory in the
 * bench's temp dir. By default no persistence, as a throwaway server runs; durable, it writes
 * an append-only file and fsyncs it before it answers a write (`appendfsync always`), as
 * Tether's Durable Objects commit to disk before they answer, in a data dir of its own that
 * is removed when it stops. The bench installs nothing: without redis-server the peer is
 * skipped with a note on how to get it.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { connect, createServer } from "node:net";
import { Redis as RedisClient } from "ioredis";
import { onCleanup, track } from "../cleanup.js";

export interface Redis {
  port: number;
  pid: number;
  version: string;
  /** Its data dir (the append-only file is in it when durable). */
  dir: string;
  stop(): Promise<void>;
}

export const INSTALL_HINT = "redis-server is not installed; on Debian or Ubuntu: sudo apt-get install -y redis-server (then run the bench again)";

export function redisVersion(): string | null {
  const out = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (out.error || out.status !== 0) return null;
  return /v=(\S+)/.exec(out.stdout)?.[1] ?? out.stdout.trim();
}

/** The persistence flags: none, or an append-only file fsynced on every write. */
export const persistenceArgs = (durable: boolean) => (durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]);

/** `dir` is the bench's temp dir (on the same filesystem as Tether's state); each server gets a data dir of its own in it. */
export async function startRedis(dir: string, opts: { durable?: boolean } = {}): Promise<Redis> {
  const version = redisVersion();
  if (!version) throw new Error(INSTALL_HINT);
  const durable = opts.durable ?? false;
  const port = await freePort();
  const dataDir = mkdtempSync(join(dir, durable ? "redis-durable-" : "redis-"));
  // Registered first, so it runs after the server has stopped (stops run last registered first).
  const removeDir = onCleanup(`redis-server's data dir ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
  const child = spawn(
    "redis-server",
    ["--bind", "127.0.0.1", "--port", String(port), "--save", "", ...persistenceArgs(durable), "--dir", dataDir, "--protected-mode", "yes", "--loglevel", "warning", "--daemonize", "no"],
    { detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  track(child.pid!);
  let log = "";
  child.stdout!.on("data", (b: Buffer) => (log += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = onCleanup(durable ? "redis-server (durable)" : "redis-server", async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // No snapshot is asked for, so SIGTERM ends it at once (durable, after one last fsync of its
    // append-only file); SIGKILL if it does not.
    process.kill(-child.pid!, "SIGTERM");
    const t = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, "SIGKILL"), 3000);
    await exited;
    clearTimeout(t);
  });
  await waitListening(port, () => child.exitCode !== null, () => log);
  return {
    port,
    pid: child.pid!,
    version,
    dir: dataDir,
    async stop() {
      await stop();
      await removeDir();
    },
  };
}

/** What the running server says about its persistence. */
export async function redisPersistence(port: number): Promise<{ appendonly: string; appendfsync: string }> {
  const client = new RedisClient({ host: "127.0.0.1", port, lazyConnect: true });
  try {
    await client.connect();
    const get = async (k: string) => ((await client.config("GET", k)) as string[])[1] ?? "?";
    return { appendonly: await get("appendonly"), appendfsync: await get("appendfsync") };
  } finally {
    client.disconnect();
  }
}

async function waitListening(port: number, dead: () => boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (dead()) throw new Error(`redis-server exited:\n${log()}`);
    if (await answersPing(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server did not start on port ${port}:\n${log()}`);
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    sock.once("error", () => resolve(false));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.once("data", (b) => {
      sock.destroy();
      resolve(b.toString().startsWith("+PONG"));
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
