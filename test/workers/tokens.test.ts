import { decodeProtectedHeader, SignJWT, UnsecuredJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KeyConfigError, keySet, signingKeys } from "../../src/auth/keys.js";
import { newSigningKey } from "../../src/auth/keygen.js";
import { AUDIENCE, ISSUER, signToken, verifyToken, type Claims } from "../../src/auth/tokens.js";
import { KEY } from "./helpers.js";

const claims: Claims = { kind: "workspace", ws: "acme", scopes: ["*"] };
const set = async (...kids: string[]) => JSON.stringify(await Promise.all(kids.map(async (kid) => ({ ...(await newSigningKey()), kid }))));

describe("tokens", () => {
  afterEach(() => vi.useRealTimers());

  it("signs EdDSA with the first key, named by its kid, and verifies from its cache too", async () => {
    const token = await signToken(KEY, claims, 60);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "EdDSA", kid: "test-new" });
    expect(await verifyToken(KEY, token)).toMatchObject(claims);
    expect(await verifyToken(KEY, token)).toMatchObject(claims);
  });

  it("rotates with no downtime: the old key verifies what it signed while the new key signs", async () => {
    const [a] = JSON.parse(await set("a")) as object[];
    const [b] = JSON.parse(await set("b")) as object[];
    const before = JSON.stringify([a]);
    const during = JSON.stringify([b, a]);
    const after = JSON.stringify([b]);
    const old = await signToken(before, claims, 60);
    expect(await verifyToken(during, old)).not.toBeNull();
    const fresh = await signToken(during, claims, 60);
    expect(decodeProtectedHeader(fresh).kid).toBe("b");
    expect(await verifyToken(after, fresh)).not.toBeNull();
    expect(await verifyToken(after, old)).toBeNull();
  });

  it("refuses a token once it has expired (past the clock tolerance), even after verifying it while it was valid", async () => {
    const token = await signToken(KEY, claims, 60);
    expect(await verifyToken(KEY, token)).not.toBeNull();
    vi.useFakeTimers({ now: Date.now() + 63_000, toFake: ["Date"] });
    expect(await verifyToken(KEY, token)).not.toBeNull();
    vi.useFakeTimers({ now: Date.now() + 10_000, toFake: ["Date"] });
    expect(await verifyToken(KEY, token)).toBeNull();
  });

  it("refuses a token not yet valid, beyond the clock tolerance only", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await verifyToken(KEY, await signToken(KEY, claims, 60, { notBefore: now + 60 }))).toBeNull();
    expect(await verifyToken(KEY, await signToken(KEY, claims, 60, { notBefore: now + 2 }))).not.toBeNull();
  });

  it("refuses another audience, another issuer, another key set, alg none, HS256 and a forged signature", async () => {
    expect(await verifyToken(KEY, await signToken(KEY, claims, 60, { audience: "https://cloud.example" }))).toBeNull();
    expect(await verifyToken(KEY, await signToken(KEY, claims, 60, { issuer: "someone" }))).toBeNull();
    expect(await verifyToken(KEY, await signToken(await set("test-new"), claims, 60))).toBeNull();
    const none = new UnsecuredJWT({ ...claims }).setIssuer(ISSUER).setAudience(AUDIENCE).encode();
    expect(await verifyToken(KEY, none)).toBeNull();
    const hs = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: "HS256", kid: "test-new" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(new TextEncoder().encode("k".repeat(40)));
    expect(await verifyToken(KEY, hs)).toBeNull();
    const [h, p] = (await signToken(KEY, claims)).split(".");
    expect(await verifyToken(KEY, `${h}.${p}.${"A".repeat(86)}`)).toBeNull();
    expect(await verifyToken(KEY, "not-a-token")).toBeNull();
  });

  it("refuses an API-minted workspace token without an expiry unless it is a service token", async () => {
    expect(await verifyToken(KEY, await signToken(KEY, { ...claims, jti: "tok_1" }))).toBeNull();
    expect(await verifyToken(KEY, await signToken(KEY, { ...claims, jti: "tok_2", svc: true }))).not.toBeNull();
  });

  it("refuses the retired HS256 secret by name, and a malformed key set", async () => {
    expect(() => signingKeys({ TETHER_SIGNING_KEY: "x".repeat(40) })).toThrow(/TETHER_SIGNING_KEYS/);
    expect(() => signingKeys({})).toThrow(KeyConfigError);
    await expect(keySet("x".repeat(40))).rejects.toThrow(/no longer used/);
    await expect(keySet('[{"kty":"oct","k":"abc","kid":"a"}]')).rejects.toThrow(/Ed25519/);
  });
});
