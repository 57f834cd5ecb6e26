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

const RUN_UPSERT = `INSERT INTO runs (workspace, id, version, deleted, agent, status, created_at, ended_at, exit_code, attempt, labels, schedule_id, parent_id, command, body, indexed_at)
  VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
  SELECT ?1, ?2, j.key, j.value, ?3 FROM json_each(?4) j WHERE EXISTS (SELECT 1 FROM runs WHERE workspace = ?1 AND id = ?2 AND deleted = 0)`;

const LABELS_DELETE = `DELETE FROM run_labels WHERE workspace = ?1 AND run_id = ?2 AND EXISTS (SELECT 1 FROM runs WHERE workspace = ?1 AND id = ?2 AND deleted = 1)`;

const AGENT_UPSERT = `INSERT INTO agents (workspace, name, version, deleted, created_at, body, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (workspace, name) DO UPDATE SET version = excluded.version, deleted = excluded.deleted, created_at = excluded.created_at,
    body = excluded.body, indexed_at = excluded.indexed_at
  WHERE excluded.version > agents.version`;

const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));

export function statements(db: IndexDb, ws: string, item: IndexItem, now: number): D1PreparedStatement[] {
  switch (item.kind) {
    case "run": {
      const r = item.run;
      const labels = JSON.stringify(r.labels);
      const upsert = db.prepare(RUN_UPSERT).bind(
        ws, r.id, item.version, r.agent, r.status, ms(r.created_at), ms(r.ended_at), r.exit_code, r.attempt, labels,
        r.schedule_id, r.parent_run_id, r.argv.join(" ").slice(0, COMMAND_CHARS), JSON.stringify(summarize(r)), now,
      );
      return Object.keys(r.labels).length ? [upsert, db.prepare(LABELS_INSERT).bind(ws, r.id, ms(r.created_at), labels)] : [upsert];
    }
    case "run-gone":
      return [db.prepare(RUN_TOMBSTONE).bind(ws, item.id, item.version, item.agent, now), db.prepare(LABELS_DELETE).bind(ws, item.id)];
    case "agent":
      return [db.prepare(AGENT_UPSERT).bind(ws, item.agent.name, item.version, item.deleted ? 1 : 0, item.agent.created_at, JSON.stringify(item.agent), now)];
  }
}

/** One batch is one D1 transaction: it lands whole or not at all, and is safe to send again. */
export async function writeIndex(db: IndexDb, ws: string, items: readonly IndexItem[], now = Date.now()): Promise<void> {
  if (!items.length) return;
  await db.batch(items.flatMap((i) => statements(db, ws, i, now)));
}
