/**
 * Tokens: JWTs signed EdDSA with the deployment's first key (see keys.ts), verified with any of
 * them by kid. The workspace and agent a request acts for come from these claims alone, never
 * from a request body.
 */
import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from "jose";
import { z } from "zod";
import { AgentName, HostId, RunId, Workspace } from "../protocol/ids.js";
import { SCOPES, type Scope } from "../protocol/token.js";
import { keySet } from "./keys.js";

export { SCOPES, type Scope };

const WorkspaceClaims = z.object({
  kind: z.literal("workspace"),
  ws: Workspace,
  scopes: z.array(z.union([z.enum(SCOPES), z.literal("*")])),
  /** The token's record (POST /v1/tokens), by which it is listed and revoked; absent on tokens minted outside the API. */
  jti: z.string().max(64).optional(),
  /** A long-lived service token: it has no expiry, and says so. */
  svc: z.literal(true).optional(),
});
/** An agent's enrollment token: it may enroll a host of that agent (of this life of it), nothing else. */
const EnrollClaims = z.object({ kind: z.literal("enroll"), ws: Workspace, agent: AgentName, gen: z.number().int(), inc: z.string().max(64) });
/** One host's credential, issued at enrollment: its own connection, leases and output streams. */
const HostClaims = z.object({ kind: z.literal("host"), ws: Workspace, agent: AgentName, host: HostId, gen: z.number().int(), inc: z.string().max(64) });
/** A running job's token: it reads its own run, and can neither stream nor end anything. */
const JobClaims = z.object({
  kind: z.literal("job"),
  ws: Workspace,
  agent: AgentName,
  run: RunId,
  attempt: z.number().int().min(1),
});
export const Claims = z.discriminatedUnion("kind", [WorkspaceClaims, EnrollClaims, HostClaims, JobClaims]);
export type Claims = z.infer<typeof Claims>;
export type WorkspaceClaims = z.infer<typeof WorkspaceClaims>;
export type EnrollClaims = z.infer<typeof EnrollClaims>;
export type HostClaims = z.infer<typeof HostClaims>;
export type JobClaims = z.infer<typeof JobClaims>;

/** Issuer and audience of every token Tether gives itself; identity tokens name another audience, so Tether refuses them. */
export const ISSUER = "tether";
export const AUDIENCE = "tether-api";
/** Clocks disagree a little; a token is good this many seconds either side of its window. */
export const CLOCK_TOLERANCE_S = 5;

export interface SignOptions {
  /** Seconds since the epoch; for tests of a token not yet valid. */
  notBefore?: number;
  issuedAt?: number;
  audience?: string;
  issuer?: string;
}

/** Signs with the key set's first key, named by its kid. `ttlSeconds` undefined: no expiry. */
export async function signJwt(keys: string, payload: JWTPayload, ttlSeconds?: number, o: SignOptions = {}): Promise<string> {
  const { signer } = await keySet(keys);
  const now = o.issuedAt ?? Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: "EdDSA", typ: "JWT", kid: signer.kid })
    .setIssuer(o.issuer ?? ISSUER)
    .setAudience(o.audience ?? AUDIENCE)
    .setIssuedAt(now)
    .setNotBefore(o.notBefore ?? now);
  if (ttlSeconds !== undefined) jwt.setExpirationTime(now + ttlSeconds);
  return jwt.sign(signer.key);
}

export function signToken(keys: string, claims: Claims, ttlSeconds?: number, o?: SignOptions): Promise<string> {
  return signJwt(keys, { ...claims }, ttlSeconds, o);
}

/**
 * Tokens already verified, so a client's repeated requests skip the signature and the claims
 * check. A token's claims never change; its expiry is checked on every use, and revocation is
 * checked by the caller (revocation.ts) on every use too.
 */
const VERIFIED_MAX = 1024;
const verified = new Map<string, { keys: string; claims: Claims; exp: number | undefined }>();

/** Returns the claims, or null for a token that is malformed, forged, expired, not yet valid, for another audience or of an unknown shape. */
export async function verifyToken(keys: string, token: string): Promise<Claims | null> {
  const hit = verified.get(token);
  if (hit && hit.keys === keys) {
    if (hit.exp === undefined || hit.exp + CLOCK_TOLERANCE_S > Date.now() / 1000) return hit.claims;
    verified.delete(token);
    return null;
  }
  const set = await keySet(keys);
  try {
    // Only tokens naming one of our kids are tried; the algorithm is pinned, so `alg: none` or HS256 never verify.
    const { kid } = decodeProtectedHeader(token);
    const key = kid === undefined ? undefined : set.byKid.get(kid);
    if (!key) return null;
    const { payload } = await jwtVerify(token, key, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["EdDSA"],
      clockTolerance: CLOCK_TOLERANCE_S,
    });
    const parsed = Claims.safeParse(payload);
    if (!parsed.success) return null;
    // A workspace token minted through the API always has an expiry unless it says it is a service token.
    if (parsed.data.kind === "workspace" && parsed.data.jti !== undefined && payload.exp === undefined && !parsed.data.svc) return null;
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { keys, claims: Object.freeze(parsed.data), exp: payload.exp });
    return parsed.data;
  } catch {
    return null;
  }
}

export function hasScope(claims: WorkspaceClaims, scope: Scope): boolean {
  return claims.scopes.includes("*") || claims.scopes.includes(scope);
}
