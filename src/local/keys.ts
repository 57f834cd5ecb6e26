import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** The local signing key: TETHER_SIGNING_KEY if set, else a key kept in an ignored file. */
export function localSigningKey(file: string): string {
  if (process.env.TETHER_SIGNING_KEY) return process.env.TETHER_SIGNING_KEY;
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(32).toString("base64url");
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
