/** Workspace tokens: minted, listed and revoked by a token with the admin scope. */
import { Hono } from "hono";
import { z } from "zod";
import { signingKeys } from "../../auth/keys.js";
import { noteRevoked } from "../../auth/revocation.js";
import { TokenScopes } from "../../protocol/token.js";
import { signToken } from "../../auth/tokens.js";
import { workspaceStub } from "../../env.js";
import { requires } from "../access.js";
import { workspaceOf, type AppEnv } from "../auth.js";
import { notFound } from "../problem.js";
import { jsonBody, parseOr400 } from "../validate.js";

const DAY_S = 86_400;
/** A token made without a ttl lasts this long: every token expires unless it is a service token. */
export const DEFAULT_TTL_S = 30 * DAY_S;
export const MAX_TTL_S = 366 * DAY_S;

export const CreateTokenBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    scopes: TokenScopes,
    /** Seconds until it expires. */
    ttl: z.number().int().min(60).max(MAX_TTL_S).optional(),
    /** A long-lived service token: no expiry, listed as such. */
    service: z.literal(true).optional(),
  })
  .refine((b) => !(b.service && b.ttl !== undefined), "a service token has no ttl: send service: true or a ttl, not both");

const TokenId = z.string().regex(/^tok_[0-9a-f]{20}$/, "is not a token id");
const newId = () => `tok_${Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => b.toString(16).padStart(2, "0")).join("")}`;

export const tokens = new Hono<AppEnv>();

tokens.post("/", requires({ scopes: ["admin"] }), async (c) => {
  const ws = workspaceOf(c);
  const body = await jsonBody(c, CreateTokenBody);
  const now = Date.now();
  const ttl = body.service ? undefined : (body.ttl ?? DEFAULT_TTL_S);
  const id = newId();
  const token = await signToken(signingKeys(c.env), { kind: "workspace", ws, scopes: body.scopes, jti: id, ...(body.service && { svc: true as const }) }, ttl, {
    issuedAt: Math.floor(now / 1000),
  });
  const record = await workspaceStub(c.env, ws).createToken({
    id,
    name: body.name,
    scopes: body.scopes,
    created_at: now,
    expires_at: ttl === undefined ? null : (Math.floor(now / 1000) + ttl) * 1000,
  });
  // The token is shown once, here; only its record is kept.
  return c.json({ ...record, token }, 201);
});

tokens.get("/", requires({ scopes: ["admin"] }), async (c) => c.json({ tokens: await workspaceStub(c.env, workspaceOf(c)).listTokens() }));

tokens.delete("/:id", requires({ scopes: ["admin"] }), async (c) => {
  const ws = workspaceOf(c);
  const id = parseOr400(TokenId, c.req.param("id"), "the token id in the URL is invalid");
  const record = await workspaceStub(c.env, ws).revokeToken(id);
  if (!record) throw notFound(`token ${id}`);
  noteRevoked(ws, id);
  return c.body(null, 204);
});
