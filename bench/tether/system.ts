/**
 * Starts Tether the way `npm start` does: the Worker and its Durable Objects in workerd through
 * Miniflare (state on disk, in the bench's temp dir), and real tether-agent processes.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TetherClient } from "../../src/client/sdk.js";
import { nodeFetch } from "../../src/client/node-fetch.js";
import { repoRoot } from "../../src/local/paths.js";
import { execFileSync } from "node:child_process";
import { newLocalKeySet } from "../../src/local/keys.js";
import { startControlPlane, startHostAgent, workspaceToken, type HostAgent } from "../../src/local/stack.js";
import { buildProgram } from "../build.js";
import { onCleanup } from "../cleanup.js";
import { hottestText } from "../cpuprofile.js";
import { descendants, stat } from "../proc.js";
import type { Isolated, Started, System } from "../target.js";
import { startInspectedPlane } from "./inspected-plane.js";
import { TetherTarget } from "./target.js";

/** How long a cancelled job has between SIGTERM and SIGKILL; the bench's jobs obey SIGTERM. */
const GRACE_MS = 2000;

export function tetherSystem(opts: { slots: number }): System {
  return {
    name: "tether",
    async start(dir, profileDir) {
      const workerdBefore = new Set(workerdPids());
      const key = newLocalKeySet();
      const planeOpts = { persistDir: join(dir, "tether-state"), signingKey: key };
      const inspected = profileDir ? await startInspectedPlane(planeOpts) : null;
      const plane = inspected ?? (await startControlPlane(planeOpts));
      // The workerd processes started since: the Worker's, and any Miniflare starts beside it.
      const planePids = () => workerdPids().filter((p) => !workerdBefore.has(p));
      const stopPlane = onCleanup("the control plane (workerd)", async () => {
        const pids = planePids();
        await plane.stop();
        for (const pid of pids) if (stat(pid)?.comm === "workerd") kill(pid, "SIGKILL");
      });
      const preload = profileDir ? await buildProgram("cpu-prof-preload", "cpu-prof-preload") : null;
      const client = new TetherClient({ url: plane.url, token: await workspaceToken(key, "bench"), fetch: nodeFetch });

      const startHost = async (agent: string, slots: number, policy?: string[]): Promise<{ host: HostAgent; stop: () => Promise<void> }> => {
        const hostToken = (await client.createAgent(agent)).host_token;
        const host = withProfiler(preload, profileDir && join(profileDir, "tether-agent"), () =>
          startHostAgent({ url: plane.url, hostToken, slots, graceMs: GRACE_MS, stdio: "pipe", ...(policy && { policy }) }),
        );
        const stop = onCleanup(`tether-agent for ${agent}`, async () => {
          // SIGTERM: the host cancels its jobs (their whole groups) and exits; SIGKILL if it lingers.
          const t = setTimeout(() => host.child.kill("SIGKILL"), GRACE_MS + 3000);
          await host.stop("SIGTERM");
          clearTimeout(t);
        });
        await host.connected;
        return { host, stop };
      };

      const main = await startHost("bench", opts.slots);
      let n = 0;
      const isolatedWith = (policy?: string[]) => async (slots: number): Promise<Isolated> => {
        const agent = `bench-isolated-${++n}`;
        const { host, stop } = await startHost(agent, slots, policy);
        const target = new TetherTarget({ client, agent, planePids, hostPids: () => [host.child.pid!], isolated, sandboxed });
        return { target, hostPid: host.child.pid!, stop };
      };
      const isolated = isolatedWith();
      // The same host, but every job in bubblewrap: what the sandbox adds to a job's start.
      const sandboxed = bubblewrap() ? isolatedWith(["--security", "full", "--sandbox", "required"]) : null;
      const target = new TetherTarget({ client, agent: "bench", planePids, hostPids: () => [main.host.child.pid!], isolated, sandboxed });
      const profile: Started["profile"] = inspected
        ? {
            start: () => inspected.profiler.start(),
            async stop(label) {
              const prof = await inspected.profiler.stop();
              mkdirSync(profileDir!, { recursive: true });
              writeFileSync(join(profileDir!, `workerd-${label}.cpuprofile`), JSON.stringify(prof));
              writeFileSync(join(profileDir!, "worker.js"), plane.bundle); // the profiles' line numbers point into it
              return hottestText(`workerd (the Worker and its objects) during ${label}`, prof);
            },
          }
        : undefined;
      return {
        target,
        profile,
        versions: { tether: packageVersion("."), "tether-agent": packageVersion("worker-agent"), wrangler: packageVersion("node_modules/wrangler"), workerd: packageVersion("node_modules/workerd") },
        async stop() {
          await main.stop();
          await stopPlane();
        },
      };
    },
  };
}

/** Runs `fn`, which starts a Node process, so that the process profiles itself into `dir`. */
function withProfiler<T>(preload: string | null, dir: string | undefined, fn: () => T): T {
  if (!preload || !dir) return fn();
  const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, BENCH_CPU_PROF_DIR: process.env.BENCH_CPU_PROF_DIR };
  process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ""} --import=${preload}`.trim();
  process.env.BENCH_CPU_PROF_DIR = dir;
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function workerdPids(): number[] {
  return descendants(process.pid).filter((p) => p.comm === "workerd").map((p) => p.pid);
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

export function packageVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot(), dir, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function bubblewrap(): boolean {
  try {
    execFileSync("bwrap", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
