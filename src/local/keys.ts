import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** A fresh key set of one Ed25519 private JWK, as TETHER_SIGNING_KEYS holds it. */
export function newLocalKeySet(): string {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const kid = `local-${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`;
  return JSON.stringify([{ ...jwk, kid, alg: "EdDSA", use: "sig" }]);
}

/**
 * The local signing key set: TETHER_SIGNING_KEYS if set, else one kept in an ignored file. A key
 * file from before Ed25519 (signing-key, an HS256 secret) is left alone and unused.
 */
export function localSigningKeys(file: string): string {
  if (process.env.TETHER_SIGNING_KEYS) return process.env.TETHER_SIGNING_KEYS;
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dirname(file), { recursive: true });
  const keys = newLocalKeySet();
  writeFileSync(file, `${keys}\n`, { mode: 0o600 });
  return keys;
}
