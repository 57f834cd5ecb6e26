/**
 * Requests straight into the Hono app, in this isolate, with the test's bindings. Through
 * `exports.default.fetch` each request here took longer than the one before (10 ms at first,
 * 100 ms after a few hundred), so tests that send thousands of requests send them this way.
 * The Worker's default export is `{ fetch: app.fetch }`, so this is the same code path.
 */
import { env } from "cloudflare:workers";
import { app } from "../../src/http/app.js";

const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;

export async function direct(token: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined && !h["content-type"]) h["content-type"] = "application/json";
  const init: RequestInit = { method, headers: h };
  if (body !== undefined) init.body = typeof body === "string" || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body);
  const res = await app.fetch(new Request(`https://tether.test${path}`, init), env, ctx);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}
