// Bundles the Node entry points (CLI, npm start, tether-agent, bench); the Worker is built by wrangler.
import { build } from "esbuild";
import { existsSync } from "node:fs";

const common = { bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", sourcemap: "linked", logLevel: "warning" };
const entries = [
  ["src/cli/main.ts", "dist/cli.mjs"],
  ["src/local/start.ts", "dist/start.mjs"],
  ["src/local/plane-process.ts", "dist/plane.mjs"],
  ["worker-agent/src/main.ts", "worker-agent/dist/tether-agent.mjs"],
  ["bench/main.ts", "dist/bench.mjs"],
];
await Promise.all(entries.filter(([src]) => existsSync(src)).map(([entryPoints, outfile]) => build({ ...common, entryPoints: [entryPoints], outfile })));
