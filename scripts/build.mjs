// Bundles the Node entry points (CLI, npm start, tether-agent, bench); the Worker is built by wrangler.
import { build } from "esbuild";
import { existsSync } from "node:fs";

const common = { bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", sourcemap: "linked", logLevel: "warning" };
const entries = [
  ["src/cli/main.ts", "dist/cli.mjs"],
  ["src/local/start.ts", "dist/start.mjs"],
  ["src/local/plane-process.ts", "dist/plane.mjs"],
  ["bench/main.ts", "dist/bench.mjs"],
];
// tether-agent carries its dependencies inside its one file: loading them as packages costs it
// memory on every host. ws's optional native helpers stay out; ws works without them.
const agent = {
  ...common,
  packages: undefined,
  external: ["bufferutil", "utf-8-validate"],
  banner: { js: 'import { createRequire as __tetherRequire } from "node:module"; const require = __tetherRequire(import.meta.url);' },
  entryPoints: ["worker-agent/src/main.ts"],
  outfile: "worker-agent/dist/tether-agent.mjs",
};
await Promise.all([
  build(agent),
  ...entries.filter(([src]) => existsSync(src)).map(([entryPoints, outfile]) => build({ ...common, entryPoints: [entryPoints], outfile })),
]);
