/**
 * Tokens, signed HS256 with the deployment's secret. The workspace and agent a request acts
 * for come from these claims alone, never from a request body.
 */
import { SignJWT, jwtVerify } from "jose";
import { z } from "zod";
import { AgentName, RunId, Workspace } from "../protocol/ids.js";

export const SCOPES = ["agents:read", "agents:write", "runs:read", "runs:write", "schedules:read", "schedules:write"] as const;
export type Scope = (typeof SCOPES)[number];

const WorkspaceClaims = z.object({
  kind: z.literal("workspace"),
  ws: Workspace,
  scopes: z.array(z.union([z.enum(SCOPES), z.literal("*")])),
});
const HostClaims = z.object({ kind: z.literal("host"), ws: Workspace, agent: AgentName, gen: z.number().int() });
const RunClaims = z.object({
  kind: z.literal("run"),
  ws: Workspace,
  agent: AgentName,
  run: RunId,
  attempt: z.number().int().min(1),
});
export const Claims = z.discriminatedUnion("kind", [WorkspaceClaims, HostClaims, RunClaims]);
export type Claims = z.infer<typeof Claims>;
export type WorkspaceClaims = z.infer<typeof WorkspaceClaims>;
export type HostClaims = z.infer<typeof HostClaims>;
export type RunClaims = z.infer<typeof RunClaims>;

const ISSUER = "tether";
const keys = new Map<string, Uint8Array>();

function keyBytes(secret: string): Uint8Array {
  let key = keys.get(secret);
  if (!key) {
    if (secret.length < 32) throw new Error("the signing key must be at least 32 characters");
    key = new TextEncoder().encode(secret);
    keys.set(secret, key);
  }
  return key;
}

export async function signToken(secret: string, claims: Claims, ttlSeconds?: number): Promise<string> {
  const jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuer(ISSUER).setIssuedAt();
  if (ttlSeconds !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  return jwt.sign(keyBytes(secret));
}

/** Returns the claims, or null for a token that is malformed, forged, expired or of an unknown shape. */
export async function verifyToken(secret: string, token: string): Promise<Claims | null> {
  try {
    const { payload } = await jwtVerify(token, keyBytes(secret), { issuer: ISSUER, algorithms: ["HS256"] });
    const parsed = Claims.safeParse(payload);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function hasScope(claims: WorkspaceClaims, scope: Scope): boolean {
  return claims.scopes.includes("*") || claims.scopes.includes(scope);
}
