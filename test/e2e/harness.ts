/** Starts the real stack for a test file: the Worker in workerd on a free port, and real hosts. */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { newLocalKeySet } from "../../src/local/keys.js";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../src/local/paths.js";
import { TetherClient, type WatchEvent } from "../../src/client/sdk.js";
import { nodeFetch } from "../../src/client/node-fetch.js";
import type { AgentConfigPatch } from "../../src/protocol/agent-config.js";
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
  /** Process groups of jobs whose host was killed under them, for cleanup. */
  strays: number[];
  /** Starts one more real tether-agent; `url` lets it reach the plane another way (a proxy). */
  addHost(opts?: { slots?: number; graceMs?: number; hostId?: string; url?: string }): Promise<HostAgent>;
  restartPlane(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * This file's mark on what it starts. Test files run in worker threads of one vitest process,
 * each with a copy of process.env of its own that workerd inherits, while every workerd of the
 * run (vitest-pool-workers' own too) descends from that one process: the mark, not the parent,
 * tells this file's control planes apart.
 */
const FILE_MARK = randomUUID();
process.env.TETHER_E2E_FILE = FILE_MARK;

/** Stacks started and not yet stopped, in this test file. */
let live = 0;

export async function startStack(
  opts: {
    slots?: number;
    graceMs?: number;
    agent?: string;
    agentConfig?: AgentConfigPatch;
    hosts?: number;
    /** The plane can be restarted (restartPlane()), on the same port. */
    restartable?: boolean;
  } = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "tether-e2e-"));
  const key = newLocalKeySet();
  const plane = await startControlPlane({ persistDir: join(dir, "state"), signingKey: key });
  live++;
  const token = await workspaceToken(key, "e2e");
  const agent = opts.agent ?? "e2e";
  const stack: Stack = {
    url: plane.url,
    token,
    key,
    dir,
    client: new TetherClient({ url: plane.url, token, fetch: nodeFetch }),
    agent,
    hostToken: "",
    hosts: [],
    plane,
    strays: [],
    async addHost(h = {}) {
      const host = startHostAgent({ url: h.url ?? stack.url, hostToken: stack.hostToken, stdio: "pipe", slots: h.slots ?? opts.slots ?? 4, graceMs: h.graceMs ?? opts.graceMs ?? 2000, ...(h.hostId && { hostId: h.hostId }) });
      stack.hosts.push(host);
      await host.connected;
      return host;
    },
    async restartPlane() {
      if (!opts.restartable) throw new Error("start the stack with { restartable: true } to restart it");
      const port = Number(new URL(stack.plane.url).port);
      await stack.plane.stop();
      stack.plane = await startControlPlane({ persistDir: join(dir, "state"), signingKey: key, port });
    },
    async stop() {
      await Promise.all(stack.hosts.map((h) => h.stop("SIGKILL")));
      for (const pgid of stack.strays) killGroup(pgid);
      // stack.plane, not the first plane: a test may have put a restarted one there (crash-points
      // does), and one left running outlives the test run as orphaned workerd processes.
      await stack.plane.stop();
      live--;
      rmSync(dir, { recursive: true, force: true });
      if (!live) await waitFor("no workerd process of this test's planes to be left", () => workerdProcesses().length === 0, 5_000);
    },
  };
  stack.hostToken = (await stack.client.createAgent(agent, opts.agentConfig)).host_token;
  for (let i = 0; i < (opts.hosts ?? 1); i++) await stack.addHost();
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

export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    /* gone */
  }
}

/** The pid (and process group) of the given attempt, from the run's events. */
export async function attemptPid(client: TetherClient, runId: string, attempt = 1): Promise<number> {
  for await (const ev of client.watch(runId, { output: false })) {
    if (ev.type === "event" && ev.event.type === "process_started" && ev.event.attempt === attempt) return ev.event.pid as number;
  }
  throw new Error(`attempt ${attempt} of ${runId} never started`);
}

/** How long a command run with spawnSync may take in a test (the CLI, ps, a shell). */
export const COMMAND_MS = 30_000;

/**
 * What a short command printed. Bounded, and an error when it did not finish: a command that
 * hangs would block this process whole, the timers of the tests' own timeouts included, and the
 * suite would wait for ever instead of failing.
 */
export function commandOutput(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: COMMAND_MS });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  return r.stdout;
}

/** Processes in the group; with live, leaving out zombies that have exited but wait to be reaped. */
export function groupMembers(pgid: number, opts: { live?: boolean } = {}): number {
  const out = commandOutput("ps", ["-o", "stat=", "-g", String(pgid)]);
  return out.split("\n").filter((l) => l.trim() && !(opts.live && l.trim().startsWith("Z"))).length;
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

/** A file under /proc as text; empty when the process is gone or not ours to read. */
export function procFile(path: string): string {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return "";
  }
}

/** The workerd processes serving this test file's stacks (one stack runs at a time), with their pids. */
export function workerdProcesses(): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && /\bworkerd\0serve\0/.test(procFile(`/proc/${p}/cmdline`)))
    .filter((p) => `\0${procFile(`/proc/${p}/environ`)}`.includes(`\0TETHER_E2E_FILE=${FILE_MARK}\0`))
    .map(Number);
}

/** The real CLI against a stack, as its user runs it: TETHER_URL and a token (the stack's unless given) in the environment. */
export function cli(s: Pick<Stack, "url" | "token">, args: string[], opts: { token?: string; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(repoRoot(), "bin", "tether.mjs"), ...args], {
    env: { ...process.env, TETHER_URL: s.url, TETHER_TOKEN: opts.token ?? s.token },
    encoding: "utf8",
    timeout: COMMAND_MS,
    ...(opts.input !== undefined && { input: opts.input }),
  });
}
