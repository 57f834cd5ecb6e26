import type { MiddlewareHandler } from "hono";
import { LIMITS } from "../protocol/limits.js";
import { ProblemError } from "./problem.js";

/**
 * The most a request body may be, in bytes. The largest legitimate body is a schedule whose job
 * is up to 1.5 MiB of JSON (one SQLite row must stay under 2 MB), so 2 MiB leaves room for the
 * rest of the schedule and nothing more: anything bigger is refused before it costs memory.
 */
export const MAX_BODY_BYTES = LIMITS.bodyBytes;

export const bodyTooLarge = (limit = MAX_BODY_BYTES) =>
  new ProblemError(413, "too-large", `the body is larger than the limit of ${limit} bytes (${limit / 1024 / 1024} MiB)`);

/**
 * Counts a body's bytes as they arrive and stops reading at the limit, whatever the client
 * declared: a chunked body has no length to check up front, and a declared one may lie. What
 * passes is handed on as one buffer, so a handler never reads from the wire itself.
 */
export function bodyLimit(opts: { maxBytes?: number } = {}): MiddlewareHandler {
  const max = opts.maxBytes ?? MAX_BODY_BYTES;
  return async function bodyLimit(c, next) {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const declared = raw.headers.get("content-length");
    if (declared !== null && /^\d+$/.test(declared) && Number(declared) > max) {
      await raw.body.cancel().catch(() => {});
      throw bodyTooLarge(max);
    }
    const bytes = await readAtMost(raw.body, max);
    if (!bytes) throw bodyTooLarge(max);
    // Every reader of the body (c.req.json(), text(), arrayBuffer()) takes it from Hono's cache:
    // a new Request around the bytes would cost more than the body's own parse. GET and HEAD
    // bodies are counted, then dropped unread.
    // (Hono types the cache's entries as bodies; they are promises of them, as it stores them.)
    if (raw.method !== "GET" && raw.method !== "HEAD") (c.req.bodyCache as { arrayBuffer?: Promise<ArrayBuffer> }).arrayBuffer = Promise.resolve(ownBuffer(bytes));
    return next();
  };
}

/** The bytes as an ArrayBuffer of their own (a chunk may be a view into a larger one). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return bytes.slice().buffer as ArrayBuffer;
}

/** The whole stream if it is at most `max` bytes; null (and the stream cancelled) as soon as it is more. */
async function readAtMost(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
