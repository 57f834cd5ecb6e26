#!/usr/bin/env node
import { existsSync } from "node:fs";
const built = new URL("../dist/tether-agent.mjs", import.meta.url);
if (!existsSync(built)) {
  console.error("tether-agent is not built yet: run `npm install` (or `npm run build`) in the Tether checkout");
  process.exit(1);
}
await import(built.href);
