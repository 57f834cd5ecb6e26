/**
 * Who may call a route, declared where the route is defined: `requires({...})` sits in the
 * route's own handler chain, so the declaration and the route cannot drift apart, and the
 * authorization matrix test reads every route's declaration back from `app.routes`.
 *
 * What depends on the data (a job's own run or children, a host of the agent in the URL) is
 * still checked by the handler; this is the gate by token kind and scope before any work.
 */
import type { MiddlewareHandler } from "hono";
import { hasScope, type Claims, type Scope } from "../auth/tokens.js";
import type { AppEnv } from "./auth.js";
import { ProblemError } from "./problem.js";

export type TokenKind = Claims["kind"];

export type Access =
  /** No token: health and the published keys. */
  | { public: true }
  /** Workspace tokens holding every one of `scopes`, and the other kinds listed in `also`. */
  | { scopes: Scope[]; also?: Exclude<TokenKind, "workspace">[] }
  /** Only these non-workspace kinds (a host's sockets, a job's identity). */
  | { only: Exclude<TokenKind, "workspace">[] };

export type Gate = MiddlewareHandler<AppEnv> & { access: Access };

export function requires(access: Access): Gate {
  const gate: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (!("public" in access)) check(c.get("claims"), access);
    await next();
  };
  return Object.assign(gate, { access });
}

export const PUBLIC: Access = { public: true };

function check(claims: Claims, access: Exclude<Access, { public: true }>): void {
  if ("only" in access) {
    if (!access.only.includes(claims.kind as never)) throw new ProblemError(403, "forbidden", `a ${claims.kind} token cannot do this; this takes a ${access.only.join(" or ")} token`);
    return;
  }
  if (claims.kind !== "workspace") {
    if (access.also?.includes(claims.kind)) return;
    throw new ProblemError(403, "forbidden", `a ${claims.kind} token cannot do this; use a workspace token`);
  }
  for (const scope of access.scopes) {
    if (!hasScope(claims, scope)) throw new ProblemError(403, "forbidden", `the token lacks the scope ${scope}`);
  }
}

/** Each route of an app (method and path, middleware aside) with the access it declares, or null where it declares none. */
export function routeAccess(routes: readonly { method: string; path: string; handler: unknown }[]): Map<string, Access | null> {
  const out = new Map<string, Access | null>();
  for (const r of routes) {
    if (r.method === "ALL") continue;
    const key = `${r.method} ${r.path}`;
    const access = (r.handler as Partial<Gate>).access ?? null;
    if (access || !out.has(key)) out.set(key, access ?? out.get(key) ?? null);
  }
  return out;
}
