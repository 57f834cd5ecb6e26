/** A schedule's row in its agent's SQLite, and how it is shown. */
import type { JobSpec, RunStatus } from "../protocol/run.js";
import type { Misfire, Overlap, Schedule, ScheduleEvent } from "../protocol/schedule.js";

export interface ScheduleRow {
  id: string;
  cron: string;
  timezone: string;
  /** The JobSpec, as JSON. */
  run: string;
  enabled: number;
  overlap: Overlap;
  misfire: Misfire;
  created_at: string;
  updated_at: string;
  /** Every slot at or before this (ms) has been decided: fired, skipped, queued or missed. */
  cursor: number;
  next_run_at: number | null;
  pending_slot: number | null;
  last_run_id: string | null;
  last_run_at: string | null;
  last_status: RunStatus | null;
  fires: number;
  skips: number;
  misfires: number;
  /** Bumped on every change, so the workspace's directory never takes an older copy over a newer one. */
  version: number;
  [k: string]: SqlStorageValue;
}

/** Keep this many events per schedule; older ones go. */
const EVENTS_KEPT = 100;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class ScheduleStore {
  constructor(private readonly sql: SqlStorage) {}

  get(id: string): ScheduleRow | null {
    return this.sql.exec<ScheduleRow>("SELECT * FROM schedules WHERE id = ?", id).toArray()[0] ?? null;
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM schedules").one().n;
  }

  insert(row: ScheduleRow): void {
    const cols = Object.keys(row);
    this.sql.exec(`INSERT INTO schedules (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`, ...cols.map((c) => row[c]));
    this.markChanged(row.id, row.version);
  }

  /** Applies the changes and bumps the version; returns the row as it now is. */
  update(id: string, changes: Partial<Omit<ScheduleRow, "id" | "version">>): ScheduleRow | null {
    const cols = Object.keys(changes).filter((c) => (changes as Record<string, unknown>)[c] !== undefined);
    const sets = [...cols.map((c) => `${c} = ?`), "version = version + 1"].join(", ");
    this.sql.exec(`UPDATE schedules SET ${sets} WHERE id = ?`, ...cols.map((c) => (changes as Record<string, SqlStorageValue>)[c]!), id);
    const row = this.get(id);
    if (row) this.markChanged(id, row.version);
    return row;
  }

  delete(id: string): boolean {
    const row = this.get(id);
    if (!row) return false;
    this.sql.exec("DELETE FROM schedules WHERE id = ?", id);
    this.sql.exec("DELETE FROM schedule_fires WHERE schedule_id = ?", id);
    this.sql.exec("DELETE FROM schedule_events WHERE schedule_id = ?", id);
    this.markChanged(id, row.version + 1);
    return true;
  }

  /** The schedules whose latest run this is. */
  byLastRun(runId: string): string[] {
    return this.sql.exec<{ id: string }>("SELECT id FROM schedules WHERE last_run_id = ?", runId).toArray().map((r) => r.id);
  }

  /** Slots decided to fire: each stays here until its run is submitted, so a crash in between loses none. */
  addFire(id: string, slot: number): void {
    this.sql.exec("INSERT OR IGNORE INTO schedule_fires (schedule_id, slot) VALUES (?, ?)", id, slot);
  }

  nextFire(id: string): number | null {
    return this.sql.exec<{ slot: number }>("SELECT slot FROM schedule_fires WHERE schedule_id = ? ORDER BY slot LIMIT 1", id).toArray()[0]?.slot ?? null;
  }

  removeFire(id: string, slot: number): void {
    this.sql.exec("DELETE FROM schedule_fires WHERE schedule_id = ? AND slot = ?", id, slot);
  }

  addEvent(id: string, event: ScheduleEvent): void {
    this.sql.exec("INSERT INTO schedule_events (schedule_id, body) VALUES (?, ?)", id, JSON.stringify(event));
    this.sql.exec(
      "DELETE FROM schedule_events WHERE schedule_id = ? AND seq <= (SELECT seq FROM schedule_events WHERE schedule_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      id, id, EVENTS_KEPT,
    );
  }

  /** The latest events, oldest first. */
  events(id: string): ScheduleEvent[] {
    return this.sql
      .exec<{ body: string }>("SELECT body FROM schedule_events WHERE schedule_id = ? ORDER BY seq DESC LIMIT ?", id, EVENTS_KEPT)
      .toArray()
      .reverse()
      .map((r) => JSON.parse(r.body) as ScheduleEvent);
  }

  /** Records that the workspace's directory needs this schedule's latest state. */
  private markChanged(id: string, version: number): void {
    this.sql.exec("INSERT INTO schedule_sync (id, version) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version", id, version);
  }

  unsynced(limit: number): { id: string; version: number }[] {
    return this.sql.exec<{ id: string; version: number }>("SELECT id, version FROM schedule_sync ORDER BY id LIMIT ?", limit).toArray();
  }

  synced(id: string, version: number): void {
    this.sql.exec("DELETE FROM schedule_sync WHERE id = ? AND version <= ?", id, version);
  }

  hasAny(): boolean {
    return this.sql.exec("SELECT 1 FROM schedules UNION ALL SELECT 1 FROM schedule_sync LIMIT 1").toArray().length > 0;
  }
}

export function toView(row: ScheduleRow, agent: string): Schedule {
  const { env: _env, stdin: _stdin, ...run } = JSON.parse(row.run) as JobSpec;
  return {
    id: row.id,
    agent,
    cron: row.cron,
    timezone: row.timezone,
    run,
    enabled: row.enabled === 1,
    overlap: row.overlap,
    misfire: row.misfire,
    next_run_at: row.enabled ? iso(row.next_run_at) : null,
    queued_slot: iso(row.pending_slot),
    last_run_at: row.last_run_at,
    last_run_id: row.last_run_id,
    last_status: row.last_status,
    fires: row.fires,
    skips: row.skips,
    misfires: row.misfires,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
