/**
 * What the agent keeps, and for how long: ended runs and their output for `retention_days`,
 * idempotency keys for `idempotency_ttl_s`, the queue's per-key bookkeeping while its key is in
 * use. The alarm sweeps hourly; a run's object is purged after its row is gone, through a table
 * written in the same transaction, so a failed purge is tried again.
 */
import { runStub, type Env } from "../env.js";
import type { RunStore } from "./run-store.js";
import type { Timers } from "./timers.js";

export const RETENTION_TIMER = "retention";
const EVERY_MS = 3600_000;
const DAY_MS = 24 * 3600_000;
const BATCH = 1000;
const PURGES_AT_ONCE = 32;

export class Retention {
  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
    private readonly store: RunStore,
    private readonly timers: Timers,
    private readonly workspace: () => string | null,
    private readonly days: () => number,
    private readonly idempotencyTtlS: () => number,
  ) {}

  /** Something will need removing one day: make sure a sweep is due. */
  soon(now: number): void {
    this.timers.ensure(RETENTION_TIMER, RETENTION_TIMER, now + EVERY_MS);
  }

  async sweep(now: number): Promise<void> {
    let more = false;
    this.sql.exec("DELETE FROM idempotency WHERE created_at < ?", now - this.idempotencyTtlS() * 1000);
    // A start_rate window is at most a day; a key with no live run has no turn to keep (it comes back first).
    this.sql.exec("DELETE FROM key_starts WHERE at < ?", now - DAY_MS);
    this.sql.exec("DELETE FROM key_turns WHERE ckey NOT IN (SELECT turn_key FROM runs WHERE turn_key IS NOT NULL AND status IN ('queued', 'awaiting_approval', 'running'))");
    const { removed, purge } = this.store.removeEndedBefore(now - this.days() * DAY_MS, BATCH);
    for (const id of purge) this.sql.exec("INSERT OR IGNORE INTO purges (run_id) VALUES (?)", id);
    more ||= removed === BATCH;
    const ws = this.workspace();
    const ids = this.sql.exec<{ run_id: string }>("SELECT run_id FROM purges LIMIT ?", PURGES_AT_ONCE).toArray().map((r) => r.run_id);
    if (ws) {
      const results = await Promise.allSettled(ids.map((id) => runStub(this.env, ws, id).purge()));
      results.forEach((r, i) => r.status === "fulfilled" && this.sql.exec("DELETE FROM purges WHERE run_id = ?", ids[i]!));
      more ||= ids.length === PURGES_AT_ONCE || results.some((r) => r.status === "rejected");
    }
    const left = this.sql.exec("SELECT 1 FROM runs UNION ALL SELECT 1 FROM idempotency LIMIT 1").toArray().length > 0;
    if (more) this.timers.set(RETENTION_TIMER, RETENTION_TIMER, now + 1_000);
    else if (left) this.timers.set(RETENTION_TIMER, RETENTION_TIMER, now + EVERY_MS);
  }
}
