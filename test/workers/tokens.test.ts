import { afterEach, describe, expect, it, vi } from "vitest";
import { signToken, verifyToken, type Claims } from "../../src/auth/tokens.js";

const KEY = "k".repeat(40);
const OTHER = "o".repeat(40);
const claims: Claims = { kind: "workspace", ws: "acme", scopes: ["*"] };

describe("tokens", () => {
  afterEach(() => vi.useRealTimers());

  it("verifies a token it signed, and again from its cache", async () => {
    const token = await signToken(KEY, claims, 60);
    expect(await verifyToken(KEY, token)).toMatchObject(claims);
    expect(await verifyToken(KEY, token)).toMatchObject(claims);
  });

  it("refuses a token once it has expired, even after verifying it while it was valid", async () => {
    const token = await signToken(KEY, claims, 60);
    expect(await verifyToken(KEY, token)).not.toBeNull();
    vi.useFakeTimers({ now: Date.now() + 61_000 });
    expect(await verifyToken(KEY, token)).toBeNull();
  });

  it("refuses a token verified under another key, cached or not", async () => {
    const token = await signToken(KEY, claims);
    expect(await verifyToken(KEY, token)).not.toBeNull();
    expect(await verifyToken(OTHER, token)).toBeNull();
  });

  it("refuses a forged signature and a token of an unknown shape", async () => {
    const token = await signToken(KEY, claims);
    const [h, p] = token.split(".");
    expect(await verifyToken(KEY, `${h}.${p}.${"A".repeat(43)}`)).toBeNull();
    expect(await verifyToken(KEY, "not-a-token")).toBeNull();
  });
});
