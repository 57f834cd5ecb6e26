import { generateKeyPairSync } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/** A signing key set made for this test run, as `npm start` makes one: two keys, so verifying by kid is exercised. */
const testKey = (kid: string) => ({ ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), kid, alg: "EdDSA", use: "sig" });
const TETHER_SIGNING_KEYS = JSON.stringify([testKey("test-new"), testKey("test-old")]);

/** The fuzzers' seed and counts: fixed in `npm test`; `npm run fuzz` (scripts/fuzz.mjs) sets them. */
const FUZZ = {
  FUZZ_SEED: process.env.FUZZ_SEED ?? "",
  FUZZ_REQUESTS: process.env.FUZZ_REQUESTS ?? "",
  FUZZ_FRAMES: process.env.FUZZ_FRAMES ?? "",
};

export default defineConfig({
  test: {
    projects: [
      {
        // Pure functions, in Node: the run state machine's every cell (threads, as e2e says why).
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node", pool: "threads" },
      },
      {
        // Routes, objects and tokens, inside workerd.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // The D1 index's migrations, applied by test/workers/setup.ts as `npm start` applies them.
            miniflare: { bindings: { TEST_MIGRATIONS: await readD1Migrations("./migrations"), TETHER_SIGNING_KEYS, TETHER_SECRETS_KEY: "c2VjcmV0cy1rZXktZm9yLXRlc3RzLTAxMjM0NTY3ODk=", ...FUZZ } },
          }),
        ],
        test: { name: "workers", include: ["test/workers/**/*.test.ts"], setupFiles: ["./test/workers/setup.ts"], testTimeout: 30_000 },
      },
      {
        // The real Worker in workerd, real tether-agent processes, real sockets.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          // Worker threads, not forked processes. With forks a file's results and its end reach
          // vitest over the child's IPC pipe, which vitest awaits with no limit; a run stopped
          // there for good, no test failing and nothing more printed. Threads report over a
          // MessagePort. Nothing here needs a process of its own: the Worker, the hosts and the
          // jobs are child processes either way.
          pool: "threads",
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
