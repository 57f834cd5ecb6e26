/**
 * Writes to the D1 index. Every row carries the version its owner gave it and an upsert only
 * moves a row to a higher version, so flushes may repeat, fail halfway or land out of order and
 * the index still converges to the owner's latest state, never back to an older one.
 */
import { summarize, type AgentSummary } from "../protocol/run-index.js";
import type { Run } from "../protocol/run.js";

export type IndexDb = Pick<D1Database, "prepare" | "batch">;

export type IndexItem =
  | { kind: "run"; version: number; run: Run }
  /** A run that was deleted: its row becomes a tombstone at this version. */
  | { kind: "run-gone"; version: number; id: string; agent: string }
  | { kind: "agent"; version: number; agent: AgentSummary; deleted: boolean };

/** Long enough to tell runs apart by their command line, short enough to keep rows small. */
const COMMAND_CHARS = 1024;

/**
 * Every run of a batch in one statement, each a JSON array in the order of RUN_FIELDS: a
 * statement is a round into the database and back, and one for each run was most of what
 * indexing a run cost.
 */
const RUN_FIELDS = "id, version, agent, status, created_at, ended_at, exit_code, attempt, labels, schedule_id, parent_id, command, body";
const RUN_UPSERT = `INSERT INTO runs (workspace, ${RUN_FIELDS}, deleted, indexed_at)
  SELECT ?1, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5, r.value ->> 6, r.value ->> 7,
    r.value ->> 8, r.value ->> 9, r.value ->> 10, r.value ->> 11, r.value ->> 12, 0, ?3
  FROM json_each(?2) r WHERE true
  ON CONFLICT (workspace, id) DO UPDATE SET version = excluded.version, deleted = 0, agent = excluded.agent, status = excluded.status,
    created_at = excluded.created_at, ended_at = excluded.ended_at, exit_code = excluded.exit_code, attempt = excluded.attempt,
    labels = excluded.labels, schedule_id = excluded.schedule_id, parent_id = excluded.parent_id, command = excluded.command,
    body = excluded.body, indexed_at = excluded.indexed_at
  WHERE excluded.version > runs.version`;

const RUN_TOMBSTONE = `INSERT INTO runs (workspace, id, version, deleted, agent, indexed_at) VALUES (?, ?, ?, 1, ?, ?)
  ON CONFLICT (workspace, id) DO UPDATE SET version = excluded.version, deleted = 1, labels = '{}', command = '', body = '{}', indexed_at = excluded.indexed_at
  WHERE excluded.version > runs.version`;

/** Labels never change, so a repeat is ignored; none are written for a run whose row is a tombstone (an older flush landing late). */
const LABELS_INSERT = `INSERT OR IGNORE INTO run_labels (workspace, run_id, key, value, created_at)
  SELECT ?1, r.value ->> 0, l.key, l.value, r.value ->> 4 FROM json_each(?2) r, json_each(r.value ->> 8) l
  WHERE EXISTS (SELECT 1 FROM runs WHERE workspace = ?1 AND id = r.value ->> 0 AND deleted = 0)`;

const LABELS_DELETE = `DELETE FROM run_labels WHERE workspace = ?1 AND run_id = ?2 AND EXISTS (SELECT 1 FROM runs WHERE workspace = ?1 AND id = ?2 AND deleted = 1)`;

const AGENT_UPSERT = `INSERT INTO agents (workspace, name, version, deleted, created_at, body, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (workspace, name) DO UPDATE SET version = excluded.version, deleted = excluded.deleted, created_at = excluded.created_at,
    body = excluded.body, indexed_at = excluded.indexed_at
  WHERE excluded.version > agents.version`;

const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));

/** A batch's JSON for one statement stays well under a row's 2 MB, however large its runs' labels and commands. */
const RUNS_JSON_BYTES = 512 * 1024;

export function statements(db: IndexDb, ws: string, items: readonly IndexItem[], now: number): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  const groups: { rows: string[]; labeled: boolean }[] = [];
  let bytes = Infinity;
  for (const item of items) {
    switch (item.kind) {
      case "run": {
        const r = item.run;
        const row = JSON.stringify([
          r.id, item.version, r.agent, r.status, ms(r.created_at), ms(r.ended_at), r.exit_code, r.attempt, JSON.stringify(r.labels),
          r.schedule_id, r.parent_run_id, r.argv.join(" ").slice(0, COMMAND_CHARS), JSON.stringify(summarize(r)),
        ]);
        if (bytes + row.length > RUNS_JSON_BYTES) {
          groups.push({ rows: [], labeled: false });
          bytes = 0;
        }
        const g = groups.at(-1)!;
        g.rows.push(row);
        g.labeled ||= Object.keys(r.labels).length > 0;
        bytes += row.length + 1;
        break;
      }
      case "run-gone":
        out.push(db.prepare(RUN_TOMBSTONE).bind(ws, item.id, item.version, item.agent, now), db.prepare(LABELS_DELETE).bind(ws, item.id));
        break;
      case "agent":
        out.push(db.prepare(AGENT_UPSERT).bind(ws, item.agent.name, item.version, item.deleted ? 1 : 0, item.agent.created_at, JSON.stringify(item.agent), now));
        break;
    }
  }
  for (const g of groups) {
    const rows = `[${g.rows.join(",")}]`;
    out.push(db.prepare(RUN_UPSERT).bind(ws, rows, now));
    if (g.labeled) out.push(db.prepare(LABELS_INSERT).bind(ws, rows));
  }
  return out;
}

/** One batch is one D1 transaction: it lands whole or not at all, and is safe to send again. */
export async function writeIndex(db: IndexDb, ws: string, items: readonly IndexItem[], now = Date.now()): Promise<void> {
  if (!items.length) return;
  await db.batch(statements(db, ws, items, now));
}
