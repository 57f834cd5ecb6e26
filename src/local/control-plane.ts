/**
 * The control plane on this machine: the real Worker and Durable Objects in workerd, with state
 * on disk. `npm start` (in a process of its own), the end-to-end tests and the benchmarks all
 * start it through here.
 */
import { join } from "node:path";
import { localSecretsKey } from "./secrets-key.js";
import { migrateLocalIndex } from "./index-db.js";
import { startLocalWorker } from "./local-worker.js";
import { repoRoot } from "./paths.js";

export interface ControlPlane {
  /** The Worker's address: what people, hosts, the CLI and the tests use. */
  url: string;
  /** workerd's inspector, when asked for (profiling). */
  inspectorUrl?: URL;
  /** The Worker's bundle as workerd runs it. */
  bundle: string;
  stop(): Promise<void>;
}

export async function startControlPlane(opts: { persistDir: string; signingKey: string; port?: number; inspectorPort?: number }): Promise<ControlPlane> {
  await migrateLocalIndex(opts.persistDir);
  const worker = await startLocalWorker({
    config: join(repoRoot(), "wrangler.toml"),
    persistDir: opts.persistDir,
    ...(opts.port !== undefined && { port: opts.port }),
    ...(opts.inspectorPort !== undefined && { inspectorPort: opts.inspectorPort }),
    secrets: { TETHER_SIGNING_KEYS: opts.signingKey, TETHER_SECRETS_KEY: localSecretsKey(opts.persistDir) },
  });
  return { url: worker.url, ...(worker.inspectorUrl && { inspectorUrl: worker.inspectorUrl }), bundle: worker.bundle, stop: worker.stop };
}
