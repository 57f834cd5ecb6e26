/**
 * Tokens, signed HS256 with the deployment's secret. The workspace and agent a request acts
 * for come from these claims alone, never from a request body.
 */
import { SignJWT, jwtVerify } from "jose";
import { z } from "zod";
import { AgentName, HostId, RunId, Workspace } from "../protocol/ids.js";

export const SCOPES = ["agents:read", "agents:write", "runs:read", "runs:write", "runs:approve", "schedules:read", "schedules:write"] as const;
export type Scope = (typeof SCOPES)[number];

const WorkspaceClaims = z.object({
  kind: z.literal("workspace"),
  ws: Workspace,
  scopes: z.array(z.union([z.enum(SCOPES), z.literal("*")])),
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

const ISSUER = "tether";
/** Imported once per secret: importing the raw key on every request was a measurable part of each one. */
const keys = new Map<string, Promise<CryptoKey>>();

function signingKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    if (secret.length < 32) throw new Error("the signing key must be at least 32 characters");
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

/**
 * Tokens already verified, so a client's repeated requests skip the HMAC and the claims check.
 * A token's claims never change, and its expiry is checked on every use.
 */
const VERIFIED_MAX = 1024;
const verified = new Map<string, { secret: string; claims: Claims; exp: number | undefined }>();

export async function signToken(secret: string, claims: Claims, ttlSeconds?: number): Promise<string> {
  const jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuer(ISSUER).setIssuedAt();
  if (ttlSeconds !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  return jwt.sign(await signingKey(secret));
}

/** Returns the claims, or null for a token that is malformed, forged, expired or of an unknown shape. */
export async function verifyToken(secret: string, token: string): Promise<Claims | null> {
  const hit = verified.get(token);
  if (hit && hit.secret === secret) {
    if (hit.exp === undefined || hit.exp > Date.now() / 1000) return hit.claims;
    verified.delete(token);
    return null;
  }
  try {
    const { payload } = await jwtVerify(token, await signingKey(secret), { issuer: ISSUER, algorithms: ["HS256"] });
    const parsed = Claims.safeParse(payload);
    if (!parsed.success) return null;
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { secret, claims: Object.freeze(parsed.data), exp: payload.exp });
    return parsed.data;
  } catch {
    return null;
  }
}

export function hasScope(claims: WorkspaceClaims, scope: Scope): boolean {
  return claims.scopes.includes("*") || claims.scopes.includes(scope);
}
