/**
 * The control plane on this machine: the real Worker and Durable Objects in workerd, through
 * wrangler, with state on disk. `npm start` (in a process of its own), the end-to-end tests and
 * the benchmarks all start it through here.
 */
import { join } from "node:path";
import { unstable_DevEnv, unstable_startWorker } from "wrangler";
import { localSecretsKey } from "./secrets-key.js";
import { migrateLocalIndex } from "./index-db.js";
import { repoRoot } from "./paths.js";

export interface ControlPlane {
  /** The Worker's own address: what hosts, the CLI and the tests use. */
  url: string;
  /** wrangler's dev proxy in front of it, on the port asked for (a stable address for people). */
  proxyUrl: string;
  /** workerd's inspector, when asked for (profiling). */
  inspectorUrl?: URL;
  stop(): Promise<void>;
}

type ReloadEvent = { type: string; proxyData?: { userWorkerUrl: { protocol: string; hostname: string; port: string } } };

/**
 * wrangler serves the Worker behind a dev proxy, a second workerd process that every request,
 * stream and WebSocket frame would cross. It announces the Worker's own address on each reload;
 * keep it, so local clients can go straight to the Worker. `ready` resolves as soon as the
 * proxy listens, which can be before that announcement: wait for it.
 */
const workerUrls = new WeakMap<object, { url: Promise<string>; set(url: string): void }>();
function workerUrlOf(devEnv: object) {
  let entry = workerUrls.get(devEnv);
  if (!entry) {
    let set!: (url: string) => void;
    const url = new Promise<string>((resolve) => (set = resolve));
    entry = { url, set };
    workerUrls.set(devEnv, entry);
  }
  return entry;
}
const proto = unstable_DevEnv.prototype as unknown as { dispatch(this: object, e: ReloadEvent): void; __tether?: true };
if (!proto.__tether) {
  const dispatch = proto.dispatch;
  proto.dispatch = function (this: object, event: ReloadEvent) {
    const u = event.type === "reloadComplete" ? event.proxyData?.userWorkerUrl : undefined;
    if (u) workerUrlOf(this).set(`${u.protocol}//${u.hostname}:${u.port}`);
    return dispatch.call(this, event);
  };
  proto.__tether = true;
}

/** How long to wait for the Worker's own address once the proxy is up; past it, clients use the proxy. */
const WORKER_URL_WAIT_MS = 30_000;

export async function startControlPlane(opts: { persistDir: string; signingKey: string; port?: number; inspectorPort?: number }): Promise<ControlPlane> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const config = join(repoRoot(), "wrangler.toml");
  await migrateLocalIndex(opts.persistDir);
  const before = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
  const worker = await unstable_startWorker({
    config,
    bindings: { TETHER_SIGNING_KEYS: { type: "secret_text", value: opts.signingKey }, TETHER_SECRETS_KEY: { type: "secret_text", value: localSecretsKey(opts.persistDir) } },
    envFiles: [],
    dev: {
      server: { hostname: "127.0.0.1", port: opts.port ?? 0 },
      inspector: opts.inspectorPort === undefined ? false : { hostname: "127.0.0.1", port: opts.inspectorPort },
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
  const proxyUrl = (await worker.url).toString().replace(/\/$/, "");
  let timer: NodeJS.Timeout | undefined;
  const url = await Promise.race([
    workerUrlOf(worker.raw).url,
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve(proxyUrl), WORKER_URL_WAIT_MS))),
  ]).finally(() => clearTimeout(timer));
  const inspectorUrl = opts.inspectorPort === undefined ? undefined : await worker.inspectorUrl;
  return { url, proxyUrl, ...(inspectorUrl && { inspectorUrl }), stop: () => worker.dispose() };
}

