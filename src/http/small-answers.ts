import type { MiddlewareHandler } from "hono";

/** About one packet's payload: compressing less than that saves no round trip, only bytes. */
export const SMALL_ANSWER_BYTES = 1400;

const utf8 = new TextEncoder();

/**
 * A small JSON answer says it is sent as it is (`Content-Encoding: identity`), which Cloudflare
 * and Miniflare's entry worker both leave alone; without it, Cloudflare's edge gzips every JSON
 * answer a client accepts gzip for (so does the entry worker, where one stands in front), and
 * for a few hundred bytes that costs more than the answer itself (about 1.5 ms a call on a
 * 2-core machine). Larger answers are still compressed.
 *
 * The size is known where the JSON is made, so `c.json` marks its answer there: reading an
 * answer back to measure it and making it again cost a third of a read's CPU.
 */
export function smallAnswersUnencoded(): MiddlewareHandler {
  return async function smallAnswers(c, next) {
    c.json = ((object: unknown, arg?: Parameters<typeof c.body>[1], headers?: Record<string, string | string[]>) => {
      const text = JSON.stringify(object);
      // As Hono's own c.json: JSON unless the caller's headers say otherwise.
      const all: Record<string, string | string[]> = { "Content-Type": "application/json", ...headers };
      if (text.length <= SMALL_ANSWER_BYTES && utf8.encode(text).byteLength <= SMALL_ANSWER_BYTES) all["Content-Encoding"] = "identity";
      return c.body(text, arg as never, all);
    }) as unknown as typeof c.json;
    await next();
  };
}
