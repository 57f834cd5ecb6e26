import type { MiddlewareHandler } from "hono";
import { ProblemError } from "./problem.js";

/**
 * The longest URL taken, in characters. The longest legitimate one is a schedule listing with a
 * cursor and an agent name, well under 1 KiB; 8 KiB is what most servers and proxies accept, so
 * a client that works elsewhere works here, and an id or query value cannot be made huge.
 */
export const MAX_URL_CHARS = 8 * 1024;

/**
 * Refuses a URL that is too long (414) or whose percent-encoding does not decode (400), before
 * routing: a route would otherwise see the undecodable text as it is, and say something
 * misleading about it, or nothing at all.
 */
export function urlLimit(opts: { maxChars?: number } = {}): MiddlewareHandler {
  const max = opts.maxChars ?? MAX_URL_CHARS;
  return async function urlLimit(c, next) {
    const url = c.req.url;
    if (url.length > max) throw new ProblemError(414, "uri-too-long", `the URL is ${url.length} characters long; the limit is ${max}`);
    const start = url.indexOf("/", url.indexOf("//") + 2);
    const hash = url.indexOf("#");
    const target = start === -1 ? "" : url.slice(start, hash === -1 ? undefined : hash);
    if (target.includes("%") && !decodes(target)) {
      throw new ProblemError(400, "invalid-url", "the URL has a % that does not start a valid UTF-8 percent-encoding (write a literal % as %25)");
    }
    return next();
  };
}

function decodes(s: string): boolean {
  try {
    decodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}
