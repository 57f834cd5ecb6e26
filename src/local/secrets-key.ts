import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The key that seals agents' secrets on the local stack: TETHER_SECRETS_KEY if set, else one kept
 * beside the state it protects, so the secrets outlive a restart and go with the state.
 */
export function localSecretsKey(persistDir: string): string {
  if (process.env.TETHER_SECRETS_KEY) return process.env.TETHER_SECRETS_KEY;
  const file = join(persistDir, "secrets-key");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(persistDir, { recursive: true });
  const key = randomBytes(32).toString("base64");
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
