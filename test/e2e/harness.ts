/** Starts the real stack for a test file: the Worker in workerd on a free port, and real hosts. */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TetherClient, type WatchEvent } from "../../src/client/sdk.js";
import { isTerminal, type Run } from "../../src/protocol/run.js";
import { startControlPlane, startHostAgent, workspaceToken, type ControlPlane, type HostAgent } from "../../src/local/stack.js";

export interface Stack {
  url: string;
  token: string;
  key: string;
  dir: string;
  client: TetherClient;
  agent: string;
  hostToken: string;
  hosts: HostAgent[];
  plane: ControlPlane;
  addHost(opts?: { slots?: number; graceMs?: number; hostId?: string }): Promise<HostAgent>;
  restartPlane(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(opts: { slots?: number; graceMs?: number; agent?: string } = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "tether-e2e-"));
  const key = randomBytes(32).toString("base64url");
  let plane = await startControlPlane({ persistDir: join(dir, "state"), signingKey: key });
  const token = await workspaceToken(key, "e2e");
  const agent = opts.agent ?? "e2e";
  const stack: Stack = {
    url: plane.url,
    token,
    key,
    dir,
    client: new TetherClient({ url: plane.url, token }),
    agent,
    hostToken: "",
    hosts: [],
    plane,
    async addHost(h = {}) {
      const host = startHostAgent({ url: stack.url, hostToken: stack.hostToken, stdio: "pipe", slots: h.slots ?? opts.slots ?? 4, graceMs: h.graceMs ?? opts.graceMs ?? 2000, ...(h.hostId && { hostId: h.hostId }) });
      stack.hosts.push(host);
      await host.connected;
      return host;
    },
    async restartPlane() {
      const port = Number(new URL(stack.url).port);
      await plane.stop();
      plane = await startControlPlane({ persistDir: join(dir, "state"), signingKey: key, port });
      stack.plane = plane;
    },
    async stop() {
      await Promise.all(stack.hosts.map((h) => h.stop("SIGKILL")));
      await plane.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  stack.hostToken = (await stack.client.createAgent(agent)).host_token;
  await stack.addHost();
  return stack;
}

/** Collects a run's whole watch stream until it ends. */
export async function collect(client: TetherClient, runId: string, after = 0): Promise<{ events: WatchEvent[]; run: Run }> {
  const events: WatchEvent[] = [];
  let run: Run | null = null;
  for await (const ev of client.watch(runId, { after })) {
    events.push(ev);
    if (ev.type === "state") run = ev.run;
  }
  if (!run || !isTerminal(run.status)) throw new Error("watch ended before the run did");
  return { events, run };
}

export function outputOf(events: WatchEvent[], stream: "stdout" | "stderr"): Buffer {
  return Buffer.concat(events.flatMap((e) => (e.type === "output" && e.stream === stream ? [Buffer.from(e.data)] : [])));
}

/** True while any process of the group exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
