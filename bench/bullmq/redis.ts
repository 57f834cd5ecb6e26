/**
 * A throwaway redis-server for the peer: loopback only, a free port, no persistence, its
 * directory in the bench's temp dir. The bench installs nothing: without redis-server the
 * peer is skipped with a note on how to get it.
 */
import { spawn, spawnSync } from "node:child_process";
import { connect, createServer } from "node:net";
import { onCleanup, track } from "../cleanup.js";

export interface Redis {
  port: number;
  pid: number;
  version: string;
  stop(): Promise<void>;
}

export const INSTALL_HINT = "redis-server is not installed; on Debian or Ubuntu: sudo apt-get install -y redis-server (then run the bench again)";

export function redisVersion(): string | null {
  const out = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (out.error || out.status !== 0) return null;
  return /v=(\S+)/.exec(out.stdout)?.[1] ?? out.stdout.trim();
}

export async function startRedis(dir: string): Promise<Redis> {
  const version = redisVersion();
  if (!version) throw new Error(INSTALL_HINT);
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes", "--loglevel", "warning", "--daemonize", "no"],
    { detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  track(child.pid!);
  let log = "";
  child.stdout!.on("data", (b: Buffer) => (log += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = onCleanup("redis-server", async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // No persistence was asked for, so SIGTERM ends it at once; SIGKILL if it does not.
    process.kill(-child.pid!, "SIGTERM");
    const t = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, "SIGKILL"), 3000);
    await exited;
    clearTimeout(t);
  });
  await waitListening(port, () => child.exitCode !== null, () => log);
  return { port, pid: child.pid!, version, stop };
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
