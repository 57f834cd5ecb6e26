#!/usr/bin/env node
/**
 * The Worker as `wrangler deploy` would upload it (--dry-run: bundled, nothing sent, no network),
 * and its size checked against Cloudflare's limit. The limit is the Free plan's, 3 MiB gzipped,
 * so Tether stays deployable on any plan (Paid allows 10 MiB).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const LIMIT = 3 * 1024 * 1024;
const out = mkdtempSync(join(tmpdir(), "tether-bundle-"));
try {
  const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
  const r = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", out], { stdio: ["ignore", "inherit", "inherit"], env });
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed (${r.status})`);
  const files = readdirSync(out).filter((f) => f.endsWith(".js") || f.endsWith(".mjs") || f.endsWith(".wasm"));
  const raw = files.reduce((n, f) => n + readFileSync(join(out, f)).byteLength, 0);
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(out, f))).byteLength, 0);
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`bundle: ${files.join(", ")}: ${kib(raw)}, ${kib(gz)} gzipped; the limit is ${kib(LIMIT)} gzipped (${((gz / LIMIT) * 100).toFixed(1)}% used)`);
  if (gz > LIMIT) {
    console.error(`bundle: ${kib(gz)} gzipped is over the Workers limit of ${kib(LIMIT)}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
