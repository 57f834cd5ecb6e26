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
  const [drive, ...rest] = q.label ?? [];
  // With a label selector the walk goes down that label's index in list order; otherwise down the runs'.
  const key = drive ? { at: "l.created_at", id: "l.run_id" } : { at: "r.created_at", id: "r.id" };
  const where = drive ? ["l.workspace = ?", "l.key = ?", "l.value = ?", "r.deleted = 0"] : ["r.workspace = ?", "r.deleted = 0"];
  const args: (string | number)[] = drive ? [ws, drive[0], drive[1]] : [ws];
  const add = (sql: string, ...a: (string | number)[]) => (where.push(sql), args.push(...a));
  if (q.agent) add("r.agent = ?", q.agent);
  if (q.status) add(`r.status IN (${q.status.map(() => "?").join(", ")})`, ...q.status);
  if (q.schedule) add("r.schedule_id = ?", q.schedule);
  if (q.parent) add("r.parent_id = ?", q.parent);
  if (q.created_after !== undefined) add(`${key.at} > ?`, q.created_after);
  if (q.created_before !== undefined) add(`${key.at} < ?`, q.created_before);
  if (q.q) add("substr(r.command, 1, ?) = ?", q.q.length, q.q);
  // Label keys are [A-Za-z0-9._/-] only, so quoting one in a JSON path is safe.
  for (const [k, v] of rest) add("json_extract(r.labels, ?) = ?", `$."${k}"`, v);
  if (q.cursor) {
    const [at, id] = decodeCursor(q.cursor, isRunKey);
    add(`(${key.at} < ? OR (${key.at} = ? AND ${key.id} < ?))`, at, at, id);
  }
  const from = drive ? "run_labels l JOIN runs r ON r.workspace = l.workspace AND r.id = l.run_id" : "runs r";
  const sql = `SELECT r.id, r.created_at, r.body FROM ${from} WHERE ${where.join(" AND ")} ORDER BY ${key.at} DESC, ${key.id} DESC LIMIT ?`;
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
