import type { Context, MiddlewareHandler } from "hono";

/**
 * An API answers JSON, bytes and event streams, never pages: nothing it sends should be
 * sniffed into HTML, framed, run as script, or leak its URL (with ids in it) as a referrer.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/**
 * The dashboard's and /docs' pages are documents, so they need script, style and fetch: only
 * from this origin (no inline script, no other host), and still never framed. Every other
 * answer keeps the API's `default-src 'none'`.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** The paths served as pages (src/http/routes/pages.ts). */
export const isPagePath = (path: string) => path === "/" || path === "/docs" || path.startsWith("/ui/");

/**
 * Sets the security headers on every answer, errors included. Hono's secureHeaders sets them
 * on whatever comes back, a WebSocket's 101 too, whose headers come from a Durable Object and
 * cannot be changed; a 101 is not a document, so it is passed on untouched.
 */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeaders(c, next) {
    await next();
    if (c.res.status === 101) return;
    const page = isPagePath(c.req.path) && c.res.ok;
    setAll(c.res.headers, page ? { ...SECURITY_HEADERS, "content-security-policy": PAGE_CSP } : SECURITY_HEADERS, () => mutableHeaders(c));
  };
}

/**
 * Sets headers, on a copy of the response when its own are immutable (one fetched from
 * elsewhere); `copy` makes that copy the context's response and returns its headers.
 */
export function setAll(headers: Headers, values: Readonly<Record<string, string>>, copy: () => Headers): void {
  let target = headers;
  for (const [name, value] of Object.entries(values)) {
    try {
      target.set(name, value);
    } catch {
      target = copy();
      target.set(name, value);
    }
  }
}

/** The context's response made a copy whose headers can change (Hono's setter makes the copy). */
export function mutableHeaders(c: Context): Headers {
  c.res = new Response(c.res.body, c.res);
  return c.res.headers;
}
