/**
 * A Worker from a wrangler config, run in workerd on this machine through Miniflare, with its
 * state on disk where `wrangler dev --persist-to` keeps it. Clients reach the Worker on a socket
 * of its own: `wrangler dev` puts its dev proxy and Miniflare's entry worker in front, two more
 * hops on every request and WebSocket frame (about 0.4 ms and as much workerd CPU per request
 * on a 2-core machine) that a deployed Worker does not have.
 */
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export interface LocalWorker {
  /** The Worker's own address. */
  url: string;
  /** workerd's inspector, when asked for (profiling). */
  inspectorUrl?: URL;
  /** The bundle workerd runs: a profile's line numbers point into it. */
  bundle: string;
  stop(): Promise<void>;
}

export async function startLocalWorker(opts: {
  /** The wrangler config: its name, main module, compatibility date and bindings. */
  config: string;
  persistDir: string;
  port?: number;
  inspectorPort?: number;
  /** Secrets, beside the config's vars. */
  secrets?: Record<string, string>;
}): Promise<LocalWorker> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const before = Object.fromEntries(SIGNALS.map((s) => [s, process.listeners(s)]));
  const { workerOptions, main, define } = unstable_getMiniflareWorkerOptions(opts.config);
  if (!main) throw new Error(`${opts.config} names no main module`);
  const bundle = await bundleWorker(main, define);
  // The name keys the objects' storage on disk, as wrangler dev keys it.
  const { name } = unstable_readConfig({ config: opts.config });
  if (!name) throw new Error(`${opts.config} names no Worker`);
  const mf = new Miniflare({
    // Miniflare's entry socket, which nothing here uses: the Worker has its own below.
    host: "127.0.0.1",
    port: 0,
    ...(opts.inspectorPort !== undefined && { inspectorPort: opts.inspectorPort }),
    // As `wrangler dev --persist-to <dir>` lays it out, so state moves between the two.
    defaultPersistRoot: resolve(opts.persistDir, "v3"),
    log: new Log(LogLevel.WARN),
    workers: [
      {
        ...workerOptions,
        name,
        // Module names are paths below modulesRoot (by default the working directory, wherever npm start runs).
        modulesRoot: dirname(main),
        modules: [{ type: "ESModule", path: join(dirname(main), "worker.mjs"), contents: bundle }],
        bindings: { ...workerOptions.bindings, ...opts.secrets },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: opts.port ?? 0 }],
      },
    ],
  });
  try {
    await mf.ready;
    // wrangler (from when it loads) and Miniflare (while it runs) exit the process on a signal;
    // whoever started the Worker stops it instead, in its own order (hosts first, then this).
    for (const s of SIGNALS) {
      for (const l of process.listeners(s)) if (!before[s]!.includes(l) || /CLEANUP\(\)/.test(l.toString())) process.off(s, l);
    }
    const url = (await mf.unsafeGetDirectURL(name)).toString().replace(/\/$/, "");
    const inspectorUrl = opts.inspectorPort === undefined ? undefined : await mf.getInspectorURL();
    return { url, ...(inspectorUrl && { inspectorUrl }), bundle, stop: () => mf.dispose() };
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw err;
  }
}

/** Bundled as `wrangler deploy` bundles it: one ES module, workerd's export conditions, cloudflare:* left to the runtime. */
async function bundleWorker(main: string, define: Record<string, string>): Promise<string> {
  const out = await build({
    entryPoints: [main],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*"],
    define,
    logLevel: "warning",
  });
  return out.outputFiles[0]!.text;
}
