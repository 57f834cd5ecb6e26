import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout this code runs from: the folder that holds wrangler.toml. */
export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, "wrangler.toml"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the Tether checkout (no wrangler.toml above this file)");
    dir = up;
  }
  return dir;
}

export const agentBin = () => join(repoRoot(), "worker-agent", "dist", "tether-agent.mjs");

/**
 * Where `npm start` keeps its state: .tether in the directory it runs in. npm runs it in the
 * checkout; the tests run dist/start.mjs in a directory of their own, and get a Tether of their own.
 */
export const stateDir = (cwd = process.cwd()) => join(cwd, ".tether");
