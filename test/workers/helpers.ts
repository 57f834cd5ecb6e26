import { env, exports } from "cloudflare:workers";
import { signToken, type Claims, type WorkspaceClaims } from "../../src/auth/tokens.js";

export const KEY = (env as unknown as { TETHER_SIGNING_KEYS: string }).TETHER_SIGNING_KEYS;

export const tokenFor = (claims: Claims) => signToken(KEY, claims);
export const workspaceToken = (ws: string, scopes: WorkspaceClaims["scopes"] = ["*"]) =>
  signToken(KEY, { kind: "workspace", ws, scopes });

let n = 0;
/** A fresh workspace per test keeps tests apart without resetting storage. */
export const freshWorkspace = () => `ws${Date.now().toString(36)}${(n++).toString(36)}`;

export async function call(token: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined && !h["content-type"]) h["content-type"] = "application/json";
  const res = await (exports as unknown as { default: Fetcher }).default.fetch(`https://tether.test${path}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  // Bytes, then text: output answers are octet-streams, and reading those with text() makes the runtime warn.
  const text = new TextDecoder().decode(await res.arrayBuffer());
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, type: res.headers.get("content-type") ?? "", json, text };
}
