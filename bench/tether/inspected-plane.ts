/**
 * For `--profile` only: the control plane as startControlPlane starts it, but with workerd's
 * inspector on, and a CPU profiler on the Worker's isolate (the Worker and both Durable Object
 * classes run in it). The inspector costs time, so figures from a profiled run are not results.
 */
import { join } from "node:path";
import { WebSocket } from "undici";
import { unstable_startWorker } from "wrangler";
import { repoRoot } from "../../src/local/paths.js";
import type { ControlPlane } from "../../src/local/stack.js";
import { freePort } from "../bullmq/redis.js";

export interface Profiler {
  start(): Promise<void>;
  /** Stops and returns the profile (Chrome's .cpuprofile format). */
  stop(): Promise<unknown>;
  close(): void;
}

export async function startInspectedPlane(opts: { persistDir: string; signingKey: string }): Promise<ControlPlane & { profiler: Profiler }> {
  const worker = await unstable_startWorker({
    config: join(repoRoot(), "wrangler.toml"),
    bindings: { TETHER_SIGNING_KEY: { type: "secret_text", value: opts.signingKey } },
    envFiles: [],
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: { hostname: "127.0.0.1", port: await freePort() },
      persist: opts.persistDir,
      watch: false,
      logLevel: "warn",
    },
  });
  await worker.ready;
  const url = (await worker.url).toString().replace(/\/$/, "");
  const inspector = await worker.inspectorUrl;
  if (!inspector) throw new Error("workerd's inspector did not start");
  const profiler = await connectProfiler(inspector);
  return {
    url,
    profiler,
    stop: async () => {
      profiler.close();
      await worker.dispose();
    },
  };
}

async function connectProfiler(inspector: URL): Promise<Profiler> {
  const http = new URL(inspector.toString().replace(/^ws/, "http"));
  http.pathname = "/json";
  const targets = (await (await fetch(http)).json()) as { id: string; title: string; webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => t.title.includes("tether")) ?? targets[0];
  if (!target) throw new Error(`no inspector target at ${http}`);
  // wrangler's inspector proxy accepts local origins only.
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: "http://localhost" } });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot reach ${target.webSocketDebuggerUrl}`)), { once: true });
  });
  let next = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.error ? Promise.reject(new Error(msg.error.message)) : msg.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  return {
    start: async () => void (await call("Profiler.start")),
    stop: async () => ((await call("Profiler.stop")) as { profile: unknown }).profile,
    close: () => ws.close(),
  };
}
