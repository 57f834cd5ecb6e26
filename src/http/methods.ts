import type { MiddlewareHandler } from "hono";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import type { RouterRoute } from "hono/types";
import { ProblemError, problemResponse } from "./problem.js";

/**
 * Which methods each path answers, read from the app's own routes so a new route needs no
 * second entry here. Middleware is registered for every method ("ALL") and says nothing
 * about what a path supports, so it is left out; so is a route that takes every method.
 */
export class MethodTable {
  #router: SmartRouter<string> | null = null;
  #size = -1;

  constructor(private readonly routes: readonly RouterRoute[]) {}

  /** The methods the path supports, HEAD and OPTIONS included; empty when no route has this path. */
  allowed(path: string): string[] {
    const found = new Set(this.#table().match("GET", path)[0].map(([method]) => method));
    if (found.size === 0) return [];
    if (found.has("GET")) found.add("HEAD");
    found.add("OPTIONS");
    return ORDER.filter((m) => found.has(m)).concat([...found].filter((m) => !ORDER.includes(m)).sort());
  }

  // Built on first use, when every route has been added; rebuilt should one be added later. Every
  // request is looked up here: one regular expression for all paths (as the app's own router
  // does) matches in a third of the trie's time.
  #table(): SmartRouter<string> {
    if (!this.#router || this.#size !== this.routes.length) {
      const router = new SmartRouter<string>({ routers: [new RegExpRouter(), new TrieRouter()] });
      for (const r of this.routes) if (r.method !== "ALL") router.add("ALL", r.path, r.method);
      this.#router = router;
      this.#size = this.routes.length;
    }
    return this.#router;
  }
}

const ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/**
 * Answers a method a known path does not support with 405 and an Allow header, and OPTIONS
 * with 204 and the same list, before anything else runs, so no method (TRACE, CONNECT, …)
 * reaches a handler that was not written for it. Unknown paths go on, to be 404 (or 401).
 */
export function methods(table: MethodTable): MiddlewareHandler {
  return async function methods(c, next) {
    const allow = table.allowed(c.req.path);
    if (allow.length === 0) return next();
    const method = c.req.method.toUpperCase();
    if (method === "HEAD" && allow.includes("HEAD")) {
      await next();
      // Hono answers HEAD by running GET and dropping the body unread; a watch stream left
      // open that way would hold a watcher slot in the run until it ended on its own.
      await c.res.body?.cancel().catch(() => {});
      c.res = new Response(null, c.res);
      return;
    }
    if (method !== "OPTIONS" && allow.includes(method)) return next();
    if (method === "OPTIONS") return new Response(null, { status: 204, headers: { allow: allow.join(", ") } });
    const problem = new ProblemError(405, "method-not-allowed", `${c.req.path} does not support ${method}; it supports ${allow.join(", ")}`);
    return problemResponse(problem.toProblem(), { allow: allow.join(", ") });
  };
}
