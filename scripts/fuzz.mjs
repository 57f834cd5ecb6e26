#!/usr/bin/env node
/**
 * npm run fuzz: the fuzzers of `npm test` for longer, with a seed of their own, printed so a
 * failure can be replayed: FUZZ_SEED=<seed> npm run fuzz. FUZZ_REQUESTS and FUZZ_FRAMES set the
 * counts (default 50,000 each).
 */
import { spawnSync } from "node:child_process";

const seed = process.env.FUZZ_SEED || String(Math.floor(Math.random() * 2 ** 31));
const env = {
  ...process.env,
  FUZZ_SEED: seed,
  FUZZ_REQUESTS: process.env.FUZZ_REQUESTS || "50000",
  FUZZ_FRAMES: process.env.FUZZ_FRAMES || "50000",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
};
console.log(`fuzz: seed ${seed}, ${env.FUZZ_REQUESTS} requests, ${env.FUZZ_FRAMES} frames (replay: FUZZ_SEED=${seed} npm run fuzz)`);
const r = spawnSync("npx", ["vitest", "run", "--project", "workers", "test/workers/fuzz-http.test.ts", "test/workers/fuzz-frames.test.ts"], { stdio: "inherit", env });
console.log(`fuzz: seed ${seed} ${r.status === 0 ? "passed" : "FAILED"}`);
process.exit(r.status ?? 1);
