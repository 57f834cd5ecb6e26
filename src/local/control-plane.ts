/**
 * The control plane on this machine: the real Worker and Durable Objects in workerd, through
 * wrangler, with state on disk. `npm start` (in a process of its own), the end-to-end tests and
 * the benchmarks all start it through here.
 */
import { join } from "node:path";
import { unstable_startWorker } from "wrangler";
import { repoRoot } from "./paths.js";

export interface ControlPlane {
  url: string;
  stop(): Promise<void>;
}

export async function startControlPlane(opts: { persistDir: string; signingKey: string; port?: number }): Promise<ControlPlane> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const config = join(repoRoot(), "wrangler.toml");
  const before = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
  const worker = await unstable_startWorker({
    config,
    bindings: { TETHER_SIGNING_KEY: { type: "secret_text", value: opts.signingKey } },
    envFiles: [],
    dev: {
      server: { hostname: "127.0.0.1", port: opts.port ?? 0 },
      inspector: false,
      persist: opts.persistDir,
      watch: false,
      logLevel: "warn",
    },
  });
  await worker.ready;
  // wrangler exits the process on SIGINT/SIGTERM (one handler from when it loads, more from
  // starting); whoever started the stack stops it instead, in order: hosts first, then this.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    for (const l of process.listeners(signal)) {
      if (!before[signal].includes(l) || /CLEANUP\(\)/.test(l.toString())) process.off(signal, l);
    }
  }
  const url = (await worker.url).toString().replace(/\/$/, "");
  return { url, stop: () => worker.dispose() };
}

