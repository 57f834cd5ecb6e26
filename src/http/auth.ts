import type { Context, MiddlewareHandler } from "hono";
import { signingKeys } from "../auth/keys.js";
import { isRevoked } from "../auth/revocation.js";
import { verifyToken, type Claims } from "../auth/tokens.js";
import type { Env } from "../env.js";
import { ProblemError } from "./problem.js";

export type AppEnv = { Bindings: Env; Variables: { claims: Claims } };

/** Every /v1 call carries a bearer token; its claims, never the body, say whom it acts for. */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function auth(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ProblemError(401, "unauthorized", "send a token: Authorization: Bearer <token>");
    const claims = await verifyToken(signingKeys(c.env), match[1]!);
    if (!claims) throw new ProblemError(401, "unauthorized", "the token is invalid, expired, not yet valid or not for this API");
    if (claims.kind === "workspace" && claims.jti !== undefined && (await isRevoked(c.env, claims.ws, claims.jti))) {
      throw new ProblemError(401, "unauthorized", "the token has been revoked");
    }
    c.set("claims", claims);
    await next();
  };
}

/** The workspace a request acts in: from its token, whatever kind (the route's gate has checked the kind). */
export const workspaceOf = (c: Context<AppEnv>): string => c.get("claims").ws;
