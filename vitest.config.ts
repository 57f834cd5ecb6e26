import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Pure functions, in Node: the run state machine's every cell.
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        // Routes, objects and tokens, inside workerd.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // The D1 index's migrations, applied by test/workers/setup.ts as `npm start` applies them.
            miniflare: { bindings: { TEST_MIGRATIONS: await readD1Migrations("./migrations"), TETHER_SIGNING_KEY: "test-signing-key-0123456789abcdef0123456789" } },
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
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
