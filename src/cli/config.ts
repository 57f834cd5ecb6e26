import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface CliConfig {
  url: string;
  token: string;
}

/** TETHER_URL and TETHER_TOKEN, else the .tether/local.json that `npm start` writes. */
export function loadConfig(cwd = process.cwd()): CliConfig {
  const url = process.env.TETHER_URL;
  const token = process.env.TETHER_TOKEN;
  if (url && token) return { url, token };
  let local: Partial<CliConfig> = {};
  try {
    local = JSON.parse(readFileSync(join(cwd, ".tether", "local.json"), "utf8")) as Partial<CliConfig>;
  } catch {
    /* none */
  }
  const resolved = { url: url ?? local.url, token: token ?? local.token };
  if (!resolved.url || !resolved.token) {
    throw new Error("no control plane configured: set TETHER_URL and TETHER_TOKEN, or run `npm start` in this directory");
  }
  return resolved as CliConfig;
}
