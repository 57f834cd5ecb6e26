/**
 * Revoked workspace tokens, checked on every request. The list lives in the workspace's object;
 * each isolate keeps a copy per workspace for at most REVOCATION_CACHE_MS, so a revocation takes
 * effect everywhere within that time while a busy client costs one object call per few seconds,
 * not one per request. A revocation made through this isolate takes effect here at once.
 */
import { workspaceStub, type Env } from "../env.js";

/** Under the 5 s the API promises, leaving room for the object call itself. */
export const REVOCATION_CACHE_MS = 4_000;
const MAX_WORKSPACES = 1_000;

const cache = new Map<string, { at: number; ids: Promise<Set<string>> }>();

export async function isRevoked(env: Env, ws: string, jti: string): Promise<boolean> {
  const now = Date.now();
  let entry = cache.get(ws);
  if (!entry || now - entry.at >= REVOCATION_CACHE_MS) {
    const ids = workspaceStub(env, ws).revokedTokens().then((list) => new Set(list));
    entry = { at: now, ids };
    // A failed read is not kept: the next request asks again rather than trusting nothing for 4 s.
    ids.catch(() => cache.get(ws) === entry && cache.delete(ws));
    cache.delete(ws);
    if (cache.size >= MAX_WORKSPACES) cache.delete(cache.keys().next().value!);
    cache.set(ws, entry);
  }
  return (await entry.ids).has(jti);
}

/** This isolate saw the revocation: honour it here before the next refresh. */
export function noteRevoked(ws: string, jti: string): void {
  const entry = cache.get(ws);
  if (entry) entry.ids = entry.ids.then((s) => s.add(jti));
}
