/**
 * Builds a bench program that runs in a process of its own (the BullMQ worker, the profiler
 * preload) next to the bench bundle, so it loads only what it imports.
 */
import { join } from "node:path";
import { build } from "esbuild";
import { repoRoot } from "../src/local/paths.js";

/** bench/<entry>.ts → dist/bench-<name>.mjs; returns the built file. */
export async function buildProgram(entry: string, name: string): Promise<string> {
  const outfile = join(repoRoot(), "dist", `bench-${name}.mjs`);
  await build({
    entryPoints: [join(repoRoot(), "bench", `${entry}.ts`)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
  return outfile;
}
