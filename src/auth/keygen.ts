/** A fresh Ed25519 signing key as a private JWK with a kid: what `tether keys new` prints and `npm start` keeps. */
import { exportJWK, generateKeyPair, type JWK } from "jose";

export async function newSigningKey(now = new Date()): Promise<JWK & { kid: string }> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
  // The date in the kid tells an operator which key is older when rotating.
  const kid = `${now.toISOString().slice(0, 10)}-${rand}`;
  return { ...(await exportJWK(privateKey)), kid, alg: "EdDSA", use: "sig" };
}
