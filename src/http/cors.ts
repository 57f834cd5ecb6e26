import type { MiddlewareHandler } from "hono";
import type { MethodTable } from "./methods.js";
import { mutableHeaders, setAll } from "./security-headers.js";

/** Headers a browser client sends: its token, its JSON, and where an event stream resumes. */
const ALLOW_HEADERS = "authorization, content-type, last-event-id";
/** Headers a browser client may read besides the safelisted ones: what to retry, what is allowed. */
const EXPOSE_HEADERS = "allow, retry-after";
const PREFLIGHT_MAX_AGE = "600";

/**
 * The origins named in TETHER_CORS_ORIGINS (comma-separated), as a browser spells an Origin:
 * lower case, no trailing slash. Unset or empty names none, and then no answer carries CORS.
 */
export function corsOrigins(setting: string | undefined): ReadonlySet<string> {
  let hit = cache.get(setting ?? "");
  if (!hit) {
    const list = (setting ?? "").split(",").map((o) => o.trim().toLowerCase().replace(/\/+$/, ""));
    hit = new Set(list.filter(Boolean));
    cache.clear();
    cache.set(setting ?? "", hit);
  }
  return hit;
}
// The setting changes only with a deploy; parse it once, not on every request.
const cache = new Map<string, ReadonlySet<string>>();

/**
 * CORS for the configured origins only: a browser page from one of them may call the API with
 * a bearer token (never cookies, so no credentials mode). Any other origin gets no CORS header
 * at all, so its browser keeps the answer from it; non-browser clients are unaffected either way.
 */
export function cors(table: MethodTable): MiddlewareHandler<{ Bindings: { TETHER_CORS_ORIGINS?: string } }> {
  return async function cors(c, next) {
    const origins = corsOrigins(c.env?.TETHER_CORS_ORIGINS);
    if (origins.size === 0) return next();
    const origin = c.req.header("origin");
    const allowed = origin !== undefined && origins.has(origin.toLowerCase());
    const preflight = c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined;
    const methods = preflight && allowed ? table.allowed(c.req.path) : [];
    if (methods.length > 0) {
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": origin!,
          "access-control-allow-methods": methods.join(", "),
          "access-control-allow-headers": ALLOW_HEADERS,
          "access-control-max-age": PREFLIGHT_MAX_AGE,
          allow: methods.join(", "),
          vary: "Origin",
        },
      });
    }
    await next();
    if (c.res.status === 101) return;
    // The answer depends on Origin whenever CORS is on, so caches must keep them apart.
    const add: Record<string, string> = { vary: "Origin" };
    if (allowed) Object.assign(add, { "access-control-allow-origin": origin!, "access-control-expose-headers": EXPOSE_HEADERS });
    setAll(c.res.headers, add, () => mutableHeaders(c));
  };
}
