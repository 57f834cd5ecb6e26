import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface CliConfig {
  url: string;
  token: string;
  /** The local.json the URL came from; absent when it came from TETHER_URL. */
  localFile?: string;
}

/**
 * TETHER_URL and TETHER_TOKEN, else the .tether/local.json that `npm start` writes, found in the
 * current directory or the nearest one above it, the way git finds its repository: people run
 * the CLI from wherever they are working in the checkout.
 */
export function loadConfig(cwd = process.cwd()): CliConfig {
  const url = process.env.TETHER_URL || undefined;
  const token = process.env.TETHER_TOKEN || undefined;
  if (url && token) return { url, token };
  const found = findLocal(cwd);
  const resolved = { url: url ?? found?.config.url, token: token ?? found?.config.token };
  if (!resolved.url || !resolved.token) {
    throw new Error(
      "no control plane configured: set TETHER_URL and TETHER_TOKEN, or run `npm start` in the Tether checkout " +
        "(it writes .tether/local.json, which the CLI finds from that directory or any below it)",
    );
  }
  return { url: resolved.url, token: resolved.token, ...(!url && found && { localFile: found.file }) };
}

function findLocal(from: string): { file: string; config: Partial<CliConfig> } | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, ".tether", "local.json");
    try {
      return { file, config: JSON.parse(readFileSync(file, "utf8")) as Partial<CliConfig> };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    }
    if (dirname(dir) === dir) return undefined;
  }
}
