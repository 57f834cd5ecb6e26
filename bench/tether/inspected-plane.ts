/**
 * For `--profile` only: the control plane as startControlPlane starts it, but with workerd's
 * inspector on, and a CPU profiler on the Worker's isolate (the Worker and both Durable Object
 * classes run in it). The inspector costs time, so figures from a profiled run are not results.
 */
import { WebSocket } from "undici";
import { startControlPlane, type ControlPlane } from "../../src/local/stack.js";
import { freePort } from "../bullmq/redis.js";

export interface Profiler {
  start(): Promise<void>;
  /** Stops and returns the profile (Chrome's .cpuprofile format). */
  stop(): Promise<unknown>;
  close(): void;
}

export async function startInspectedPlane(opts: { persistDir: string; signingKey: string }): Promise<ControlPlane & { profiler: Profiler }> {
  const plane = await startControlPlane({ ...opts, inspectorPort: await freePort() });
  if (!plane.inspectorUrl) throw new Error("workerd's inspector did not start");
  const profiler = await connectProfiler(plane.inspectorUrl);
  return {
    ...plane,
    profiler,
    stop: async () => {
      profiler.close();
      await plane.stop();
    },
  };
}

async function connectProfiler(inspector: URL): Promise<Profiler> {
  const http = new URL(inspector.toString().replace(/^ws/, "http"));
  http.pathname = "/json";
  const targets = (await (await fetch(http)).json()) as { id: string; title: string; webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => t.title.includes("tether")) ?? targets[0];
  if (!target) throw new Error(`no inspector target at ${http}`);
  // Miniflare's inspector proxy accepts local origins only.
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
