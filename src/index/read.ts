/**
 * Lists from the D1 index, newest first. Pages are keyset pages on (created_at, id): a cursor
 * names the last row shown, so runs added while a client pages (all newer than it) move no row
 * into or out of the pages still to come.
 */
import type { AgentPage, AgentSummary, RunListQuery, RunPage, RunSummary } from "../protocol/run-index.js";

type Db = Pick<D1Database, "prepare">;

export class BadCursor extends Error {}

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
function unb64(s: string): string {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The cursor is opaque to clients; inside it is the key of the last row of the page. */
export function encodeCursor(key: (string | number)[]): string {
  return b64(JSON.stringify(key));
}

function decodeCursor<T>(cursor: string, valid: (v: unknown) => v is T): T {
  let v: unknown;
  try {
    v = JSON.parse(unb64(cursor));
  } catch {
    throw new BadCursor("the cursor is not one this API gave out");
  }
  if (!valid(v)) throw new BadCursor("the cursor is not one this API gave out");
  return v;
}

const isRunKey = (v: unknown): v is [number, string] => Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === "string";
const isName = (v: unknown): v is [string] => Array.isArray(v) && v.length === 1 && typeof v[0] === "string";

export async function listRuns(db: Db, ws: string, q: RunListQuery): Promise<RunPage> {
  const where = ["workspace = ?", "deleted = 0"];
  const args: (string | number)[] = [ws];
  const add = (sql: string, ...a: (string | number)[]) => (where.push(sql), args.push(...a));
  if (q.agent) add("agent = ?", q.agent);
  if (q.status) add(`status IN (${q.status.map(() => "?").join(", ")})`, ...q.status);
  if (q.schedule) add("schedule_id = ?", q.schedule);
  if (q.parent) add("parent_id = ?", q.parent);
  if (q.created_after !== undefined) add("created_at > ?", q.created_after);
  if (q.created_before !== undefined) add("created_at < ?", q.created_before);
  if (q.q) add("substr(command, 1, ?) = ?", q.q.length, q.q);
  // Label keys are [A-Za-z0-9._/-] only, so quoting one in a JSON path is safe.
  for (const [k, v] of q.label ?? []) add("json_extract(labels, ?) = ?", `$."${k}"`, v);
  if (q.cursor) {
    const [at, id] = decodeCursor(q.cursor, isRunKey);
    add("(created_at < ? OR (created_at = ? AND id < ?))", at, at, id);
  }
  const sql = `SELECT id, created_at, body FROM runs WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ?`;
  const rows = (await db.prepare(sql).bind(...args, q.limit + 1).all<{ id: string; created_at: number; body: string }>()).results;
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    runs: page.map((r) => JSON.parse(r.body) as RunSummary),
    next_cursor: rows.length > q.limit && last ? encodeCursor([last.created_at, last.id]) : null,
  };
}

export async function listAgents(db: Db, ws: string, q: { cursor?: string | undefined; limit: number }): Promise<AgentPage> {
  const after = q.cursor ? decodeCursor(q.cursor, isName)[0] : "";
  const rows = (
    await db.prepare("SELECT name, body FROM agents WHERE workspace = ? AND deleted = 0 AND name > ? ORDER BY name LIMIT ?").bind(ws, after, q.limit + 1).all<{ name: string; body: string }>()
  ).results;
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { agents: page.map((r) => JSON.parse(r.body) as AgentSummary), next_cursor: rows.length > q.limit && last ? encodeCursor([last.name]) : null };
}
