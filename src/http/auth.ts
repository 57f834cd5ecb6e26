import type { Context, MiddlewareHandler } from "hono";
import { hasScope, verifyToken, type Claims, type Scope, type WorkspaceClaims } from "../auth/tokens.js";
import type { Env } from "../env.js";
import { ProblemError } from "./problem.js";

export type AppEnv = { Bindings: Env; Variables: { claims: Claims } };

/** Every /v1 call carries a bearer token; its claims, never the body, say whom it acts for. */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function auth(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ProblemError(401, "unauthorized", "send a token: Authorization: Bearer <token>");
    if (!c.env.TETHER_SIGNING_KEY) throw new Error("TETHER_SIGNING_KEY is not set");
    const claims = await verifyToken(c.env.TETHER_SIGNING_KEY, match[1]!);
    if (!claims) throw new ProblemError(401, "unauthorized", "the token is invalid or expired");
    c.set("claims", claims);
    await next();
  };
}

export function workspaceWith(c: Context<AppEnv>, scope: Scope): WorkspaceClaims {
  const claims = c.get("claims");
  if (claims.kind !== "workspace") throw new ProblemError(403, "forbidden", `a ${claims.kind} token cannot do this; use a workspace token`);
  if (!hasScope(claims, scope)) throw new ProblemError(403, "forbidden", `the token lacks the scope ${scope}`);
  return claims;
}
