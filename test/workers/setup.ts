import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Every test file gets its own storage: the index's tables are made here, as `npm start` makes them.
const e = env as unknown as { INDEX: D1Database; TEST_MIGRATIONS: Parameters<typeof applyD1Migrations>[1] };
await applyD1Migrations(e.INDEX, e.TEST_MIGRATIONS);
