/**
 * The deployment's signing keys: Ed25519 private JWKs, each with a kid, held as a JSON array in
 * the TETHER_SIGNING_KEYS secret. The first key signs; every key verifies, so a new key can be
 * put first while tokens signed by the old one stay valid until they expire (no downtime).
 */
import { importJWK, type JWK } from "jose";
import { z } from "zod";

const PrivateJwk = z.looseObject({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: z.string().min(1),
  d: z.string().min(1),
  kid: z.string().min(1).max(128),
});
const KeySetJson = z.union([z.array(PrivateJwk).min(1), z.object({ keys: z.array(PrivateJwk).min(1) }).transform((s) => s.keys)]);

export interface KeySet {
  /** The first key's private half: it signs. */
  signer: { kid: string; key: CryptoKey };
  /** Every key's public half, by kid: they verify. */
  byKid: Map<string, CryptoKey>;
  /** The public halves, as /.well-known/jwks.json publishes them. */
  jwks: { keys: JWK[] };
}

export class KeyConfigError extends Error {}

const MIGRATE =
  "TETHER_SIGNING_KEY (an HS256 secret) is no longer used: tokens are signed with Ed25519 keys now. " +
  "Make a key set with `npx tether keys new > keys.json`, then `npx wrangler secret put TETHER_SIGNING_KEYS < keys.json`; " +
  "tokens signed with the old secret stop working (mint new ones).";

/** The key set's source text from the Worker's environment, refusing the retired HS256 secret by name. */
export function signingKeys(env: { TETHER_SIGNING_KEYS?: string; TETHER_SIGNING_KEY?: string }): string {
  if (env.TETHER_SIGNING_KEYS) return env.TETHER_SIGNING_KEYS;
  if (env.TETHER_SIGNING_KEY) throw new KeyConfigError(MIGRATE);
  throw new KeyConfigError("TETHER_SIGNING_KEYS is not set: see the README's Deploying section");
}

/** Imported once per key set text: importing on every request would put it on every request's path. */
const imported = new Map<string, Promise<KeySet>>();

export function keySet(source: string): Promise<KeySet> {
  let set = imported.get(source);
  if (!set) {
    set = load(source);
    // A key set that fails to load is not kept, so the next request reports the error again.
    set.catch(() => imported.delete(source));
    imported.set(source, set);
  }
  return set;
}

async function load(source: string): Promise<KeySet> {
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch {
    throw new KeyConfigError(source.trim().startsWith("[") || source.trim().startsWith("{") ? "TETHER_SIGNING_KEYS is not valid JSON" : MIGRATE);
  }
  const parsed = KeySetJson.safeParse(json);
  if (!parsed.success) throw new KeyConfigError("TETHER_SIGNING_KEYS must be a JSON array of Ed25519 private JWKs, each with a kid");
  const byKid = new Map<string, CryptoKey>();
  const pub: JWK[] = [];
  for (const jwk of parsed.data) {
    if (byKid.has(jwk.kid)) throw new KeyConfigError(`TETHER_SIGNING_KEYS has the kid ${jwk.kid} twice`);
    const pubJwk: JWK = { kty: "OKP", crv: "Ed25519", x: jwk.x, kid: jwk.kid, alg: "EdDSA", use: "sig" };
    byKid.set(jwk.kid, (await importJWK(pubJwk, "EdDSA")) as CryptoKey);
    pub.push(pubJwk);
  }
  const first = parsed.data[0]!;
  const { d, x, kid } = first;
  const signer = (await importJWK({ kty: "OKP", crv: "Ed25519", x, d, alg: "EdDSA" }, "EdDSA")) as CryptoKey;
  return { signer: { kid, key: signer }, byKid, jwks: { keys: pub } };
}
