/**
 * The agent's runs in its SQLite: one row per run is the truth of its life. The queue is the
 * queued rows in submit order, a lease is a running row's host. Every change of a run bumps its
 * version and writes that version to the outbox for the run's object, in the caller's transaction.
 */
import type { JobSpec, Run, RunStatus } from "../protocol/run.js";

type StartRate = NonNullable<JobSpec["start_rate"]>;
import type { RunChange } from "../protocol/run-change.js";
import type { QueuedJob } from "./run-plan.js";
import type { RunEvent, RunRecord } from "./lifecycle/types.js";

export interface RunRow {
  id: string;
  seq: number;
  status: RunStatus;
  ready_at: number | null;
  host_id: string | null;
  attempt: number;
  body: string;
  job: string;
  version: number;
  /** Whether the run's object exists: see ObjectState. */
  has_object: ObjectState;
  ended_at: number | null;
  renewed_at: number | null;
  missing_since: number | null;
  [k: string]: SqlStorageValue;
}

/**
 * What the agent knows of the run's object. MAYBE is an attempt that has started and may open its
 * output stream, which makes the object: written with the assignment, it costs no commit of its
 * own; the attempt's end says which it was (an end on the control socket: NONE; on the stream:
 * EXISTS). An attempt that ended without saying (its host lost, its deadline passed) leaves
 * MAYBE_EARLIER, which no later attempt's end clears. Reads of a run that may have an object ask
 * it without making it; retention and deletion purge it.
 */
export const ObjectState = { NONE: 0, EXISTS: 1, MAYBE: 2, MAYBE_EARLIER: 3 } as const;
export type ObjectState = (typeof ObjectState)[keyof typeof ObjectState];

export function publicRun(r: RunRecord): Run {
  const { host_id: _h, rejects: _r, depth: _d, ...run } = r;
  // Runs made before `prefer` existed have none.
  return { ...run, prefer: run.prefer ?? {} };
}

/** Told of each run change in its transaction, for the workspace index (index-outbox.ts). */
export interface RunIndexer {
  markRun(id: string, version: number): void;
  markRunGone(id: string): void;
}

export class RunStore {
  private lastSeq: number | undefined;
  /** Live runs by status, counted once and then kept as rows change: read on every submit and index flush. */
  private live: Record<LiveStatus, number> | undefined;
  indexer: RunIndexer | null = null;

  constructor(private readonly sql: SqlStorage) {}

  row(id: string): RunRow | null {
    return this.sql.exec<RunRow>("SELECT * FROM runs WHERE id = ?", id).toArray()[0] ?? null;
  }

  /** Many runs' rows in one statement, by id; an id with no run is absent. */
  rows(ids: readonly string[]): Map<string, RunRow> {
    if (!ids.length) return new Map();
    const rows = this.sql.exec<RunRow>("SELECT * FROM runs WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids)).toArray();
    return new Map(rows.map((r) => [r.id, r]));
  }

  record(id: string): RunRecord | null {
    const r = this.sql.exec<{ body: string }>("SELECT body FROM runs WHERE id = ?", id).toArray()[0];
    return r ? (JSON.parse(r.body) as RunRecord) : null;
  }

  /** `readyAt`: when it may start (a debounced run waits); `debounce`: its debounce key. */
  insert(run: RunRecord, job: QueuedJob, now: number, maxOutput: number, events: RunEvent[] = [], queue: { readyAt?: number; debounce?: string | null; startRate?: StartRate | null } = {}): void {
    this.lastSeq ??= this.sql.exec<{ s: number }>("SELECT COALESCE(MAX(seq), 0) AS s FROM runs").one().s;
    const seq = ++this.lastSeq;
    this.sql.exec(
      `INSERT INTO runs (id, seq, status, ready_at, attempt, body, job, version, parent_id, runner, priority, ckey, climit, dedup, requires, debounce, turn_key, skey, slimit, swindow)
       VALUES (?, ?, 'queued', ?, 0, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      run.id, seq, queue.readyAt ?? now, JSON.stringify(run), JSON.stringify(job), run.parent_run_id, run.runner,
      run.priority, run.concurrency?.key ?? null, run.concurrency?.limit ?? null, run.dedup_key,
      Object.keys(run.requires).length ? JSON.stringify(run.requires) : null, queue.debounce ?? null,
      run.concurrency?.strategy === "round_robin" ? run.concurrency.key : null,
      queue.startRate?.key ?? null, queue.startRate?.limit ?? null, queue.startRate ? queue.startRate.window_s * 1000 : null,
    );
    if (run.concurrency) this.refreshKey(run.concurrency.key);
    this.outbox(run, 1, events, maxOutput, 0);
    this.indexer?.markRun(run.id, 1);
    if (this.live) this.live.queued++;
  }

  /**
   * Writes the run's new state; `readyAt` for a queued run, the lease fields for a running one.
   * `unstreamed`: the attempt ended without opening its output stream, so it made no object.
   */
  update(before: RunRow, run: RunRecord, events: RunEvent[], now: number, maxOutput: number, readyAt: number | null, output?: RunChange["output"], unstreamed = false): void {
    const version = before.version + 1;
    const running = run.status === "running";
    const object =
      before.has_object === ObjectState.NONE && running && before.status !== "running" ? ObjectState.MAYBE
      : before.has_object === ObjectState.MAYBE && !running && before.status === "running" ? (unstreamed ? ObjectState.NONE : ObjectState.MAYBE_EARLIER)
      : before.has_object;
    this.sql.exec(
      `UPDATE runs SET status = ?, ready_at = ?, host_id = ?, attempt = ?, body = ?, version = ?, ended_at = ?,
         renewed_at = ?, missing_since = NULL, has_object = ? WHERE id = ?`,
      run.status, run.status === "queued" ? readyAt : null, run.host_id, run.attempt, JSON.stringify(run), version,
      run.ended_at ? now : null, running ? now : null, object, run.id,
    );
    if (this.live && run.status !== before.status) {
      if (isLive(before.status)) this.live[before.status]--;
      if (isLive(run.status)) this.live[run.status]++;
    }
    if (running && before.status !== "running") this.sql.exec("INSERT OR IGNORE INTO attempts (run_id, attempt, host_id) VALUES (?, ?, ?)", run.id, run.attempt, run.host_id);
    if (running && before.status !== "running" && run.concurrency?.strategy === "round_robin") {
      // The key has had its turn: it goes behind every key served since less recently.
      this.sql.exec(
        "INSERT INTO key_turns (ckey, served) VALUES (?, (SELECT COALESCE(MAX(served), 0) + 1 FROM key_turns)) ON CONFLICT (ckey) DO UPDATE SET served = excluded.served",
        run.concurrency.key,
      );
    }
    if (run.concurrency && run.status !== before.status) this.refreshKey(run.concurrency.key);
    this.outbox(run, version, events, maxOutput, before.has_object === ObjectState.EXISTS ? 1 : 0, output);
    this.indexer?.markRun(run.id, version);
  }

  /** Counts a key's room again from its runs (a few index seeks): nothing kept by hand can drift. */
  private refreshKey(key: string): void {
    this.sql.exec(
      `INSERT INTO key_room (ckey, running, climit, queued) VALUES (?1,
         (SELECT COUNT(*) FROM runs WHERE ckey = ?1 AND status = 'running'),
         COALESCE((SELECT climit FROM runs INDEXED BY runs_queued_key WHERE ckey = ?1 AND status = 'queued' ORDER BY priority DESC, seq LIMIT 1), 0),
         EXISTS (SELECT 1 FROM runs INDEXED BY runs_queued_key WHERE ckey = ?1 AND status = 'queued'))
       ON CONFLICT (ckey) DO UPDATE SET running = excluded.running, climit = excluded.climit, queued = excluded.queued`,
      key,
    );
    this.sql.exec("DELETE FROM key_room WHERE ckey = ? AND running = 0 AND queued = 0", key);
  }

  /** `owed`: the run has an object, which must hear the change. */
  private outbox(run: RunRecord, version: number, events: RunEvent[], maxOutput: number, owed: number, output?: RunChange["output"]): void {
    const at = new Date().toISOString();
    const change: RunChange = { version, run: publicRun(run), events: events.map((e) => ({ ...e, at })), max_output_bytes: maxOutput, ...(output?.length && { output }) };
    this.sql.exec("INSERT OR REPLACE INTO outbox (run_id, version, body, owed) VALUES (?, ?, ?, ?)", run.id, version, JSON.stringify(change), owed);
  }

  /** Changes of a run its object has not confirmed yet, oldest first. */
  pendingChanges(id: string): RunChange[] {
    return this.sql.exec<{ body: string }>("SELECT body FROM outbox WHERE run_id = ? ORDER BY version", id).toArray().map((r) => JSON.parse(r.body) as RunChange);
  }

  /** Runs with an object that has changes waiting for it. */
  runsWithPendingChanges(limit: number): string[] {
    return this.sql
      .exec<{ run_id: string }>("SELECT DISTINCT run_id FROM outbox INDEXED BY outbox_owed WHERE owed = 1 LIMIT ?", limit)
      .toArray()
      .map((r) => r.run_id);
  }

  confirmed(id: string, version: number): void {
    this.sql.exec("DELETE FROM outbox WHERE run_id = ? AND version <= ?", id, version);
  }

  markHasObject(id: string): void {
    this.sql.exec("UPDATE runs SET has_object = 1 WHERE id = ? AND has_object != 1", id);
    this.sql.exec("UPDATE outbox SET owed = 1 WHERE run_id = ? AND owed = 0", id);
  }

  /**
   * The run to give a host next: the highest priority, oldest first, among those ready, whose
   * concurrency key has room, and that the host can take (its runners, its labels, approved runs
   * only where its owner asks). Within a priority a round_robin run stands at its key's turn
   * (the key served least recently first; a key never served, and a run of no such key, at 0).
   *
   * A key's runs start in order: only its first waiting run may start, and while that one cannot
   * (its retry is not due, no host here has its labels) the key's later runs wait behind it. So
   * the query reads one run per key with room and the first of no key, never the runs behind a
   * key: 10,000 runs waiting on 100 busy keys cost nothing here. A key has room while fewer of
   * its runs run than the limit of its first waiting run.
   */
  nextQueued(now: number, host: { runners?: readonly string[]; labels?: Record<string, string>; takesApproved?: boolean } = {}): RunRow | null {
    const runners = host.runners ?? [];
    const can = runners.length ? ` OR q.runner IN (${runners.map(() => "?").join(", ")})` : "";
    const approved = host.takesApproved ? "" : ` AND json_extract(q.body, '$.approval.state') IS NOT 'approved'`;
    const fits = `q.ready_at <= ? AND (q.runner IS NULL${can})${approved}
      AND (q.requires IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(q.requires) j WHERE json_extract(?, '$."' || j.key || '"') IS NOT j.value))
      AND (q.skey IS NULL OR (SELECT COUNT(*) FROM key_starts s WHERE s.skey = q.skey AND s.at > ? - q.swindow) < q.slimit)`;
    const fitsArgs = [now, ...runners, JSON.stringify(host.labels ?? {}), now];
    // A key's turn is read for the heads only (one a key with room, one of no key), so it costs a
    // primary-key seek each; a run of no round_robin key stands at turn 0.
    const turn = "CASE WHEN q.turn_key IS NULL THEN 0 ELSE COALESCE((SELECT served FROM key_turns t WHERE t.ckey = q.turn_key), 0) END, ";
    return (
      this.sql
        .exec<RunRow>(
          `WITH heads (id) AS (
             SELECT (SELECT h.id FROM runs h INDEXED BY runs_queued_key WHERE h.status = 'queued' AND h.ckey = k.ckey ORDER BY h.priority DESC, h.seq LIMIT 1)
               FROM key_room k INDEXED BY key_room_open WHERE k.queued > 0 AND k.running < k.climit
             UNION ALL
             SELECT * FROM (SELECT q.id FROM runs q INDEXED BY runs_queued_free
                            WHERE q.status = 'queued' AND q.ckey IS NULL AND ${fits}
                            ORDER BY q.priority DESC, q.seq LIMIT 1)
           )
           SELECT * FROM runs q WHERE q.id IN (SELECT id FROM heads) AND ${fits} ORDER BY q.priority DESC, ${turn}q.seq LIMIT 1`,
          ...fitsArgs, ...fitsArgs,
        )
        .toArray()[0] ?? null
    );
  }

  /**
   * Notes a start of a start_rate key, forgetting its starts that left the window. Returns when
   * this start leaves the window: a run of the key held back may start then.
   */
  noteStart(key: string, windowMs: number, now: number): number {
    this.sql.exec("DELETE FROM key_starts WHERE skey = ? AND at <= ?", key, now - windowMs);
    this.sql.exec("INSERT INTO key_starts (skey, at) VALUES (?, ?)", key, now);
    return now + windowMs;
  }

  /** Starts of a key within the last `windowMs`. */
  startsWithin(key: string, windowMs: number, now: number): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM key_starts WHERE skey = ? AND at > ?", key, now - windowMs).one().n;
  }

  /** Runs now running under the agent (for max_concurrent). */
  runningCount(): number {
    return this.counts().running;
  }


  /** Whether any run is queued (ready or not): with none, dispatch has nothing to look for. */
  anyQueued(): boolean {
    return this.counts().queued > 0;
  }

  /** A transaction was rolled back: the counts kept as rows changed are read afresh. */
  forgetCounts(): void {
    this.live = undefined;
  }

  /**
   * Runs waiting (queued or awaiting approval), for max_queued on every submit: counted once,
   * then kept as rows change, so a submit to a long queue costs no scan of it.
   */
  queuedCount(): number {
    const c = this.counts();
    return c.queued + c.awaiting_approval;
  }

  /** The live (queued, awaiting approval or running) run holding a dedup key, if any. */
  liveWithDedup(key: string): RunRecord | null {
    const r = this.sql.exec<{ body: string }>("SELECT body FROM runs WHERE dedup = ? AND status IN ('queued', 'awaiting_approval', 'running') LIMIT 1", key).toArray()[0];
    return r ? (JSON.parse(r.body) as RunRecord) : null;
  }

  /** Runs of a debounce key that wait for their first start. */
  waitingWithDebounce(key: string): string[] {
    return this.sql.exec<{ id: string }>("SELECT id FROM runs WHERE debounce = ? AND status = 'queued' AND attempt = 0", key).toArray().map((r) => r.id);
  }

  /** How many runs of a concurrency key are live, and how many of those run: two index counts, no rows read. */
  keyLoad(key: string): { live: number; running: number } {
    return this.sql
      .exec<{ live: number; running: number }>(
        "SELECT COUNT(*) AS live, COALESCE(SUM(status = 'running'), 0) AS running FROM runs WHERE ckey = ? AND status IN ('queued', 'awaiting_approval', 'running')",
        key,
      )
      .one();
  }

  /** The live runs of a concurrency key, oldest first. */
  liveWithKey(key: string): RunRecord[] {
    return this.sql
      .exec<{ body: string }>("SELECT body FROM runs WHERE ckey = ? AND status IN ('queued', 'awaiting_approval', 'running') ORDER BY seq", key)
      .toArray()
      .map((r) => JSON.parse(r.body) as RunRecord);
  }

  leasedBy(hostId: string): RunRow[] {
    return this.sql.exec<RunRow>("SELECT * FROM runs WHERE status = 'running' AND host_id = ?", hostId).toArray();
  }

  /** A run's children, oldest first. */
  children(parentId: string): RunRecord[] {
    return this.sql.exec<{ body: string }>("SELECT body FROM runs WHERE parent_id = ? ORDER BY seq", parentId).toArray().map((r) => JSON.parse(r.body) as RunRecord);
  }

  childCount(parentId: string): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM runs WHERE parent_id = ?", parentId).one().n;
  }

  /** Every run still queued or running, for the agent's deletion. */
  active(): RunRow[] {
    return this.sql.exec<RunRow>("SELECT * FROM runs WHERE status IN ('queued', 'awaiting_approval', 'running')").toArray();
  }

  renew(id: string, seenAt: number): void {
    this.sql.exec("UPDATE runs SET renewed_at = MAX(COALESCE(renewed_at, 0), ?), missing_since = NULL WHERE id = ?", seenAt, id);
  }

  markMissing(id: string, since: number): void {
    this.sql.exec("UPDATE runs SET missing_since = COALESCE(missing_since, ?) WHERE id = ?", since, id);
  }

  hostOfAttempt(id: string, attempt: number): string | null {
    return this.sql.exec<{ host_id: string }>("SELECT host_id FROM attempts WHERE run_id = ? AND attempt = ?", id, attempt).toArray()[0]?.host_id ?? null;
  }

  /** Counted once, then kept as rows change; correct only while no transaction that changed them is rolled back (see forgetCounts). */
  counts(): Record<LiveStatus, number> {
    if (!this.live) {
      const rows = this.sql.exec<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM runs WHERE status IN ('queued', 'awaiting_approval', 'running') GROUP BY status").toArray();
      const n = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
      this.live = { queued: n("queued"), awaiting_approval: n("awaiting_approval"), running: n("running") };
    }
    return { ...this.live };
  }

  /** Ended before `cutoff`: removed with their attempts and outbox; those that have or may have an object are returned for its purge. */
  removeEndedBefore(cutoff: number, limit: number): { removed: number; purge: string[] } {
    const rows = this.sql.exec<{ id: string; has_object: number }>("SELECT id, has_object FROM runs WHERE ended_at IS NOT NULL AND ended_at < ? LIMIT ?", cutoff, limit).toArray();
    for (const r of rows) this.remove(r.id);
    return { removed: rows.length, purge: rows.filter((r) => r.has_object).map((r) => r.id) };
  }

  remove(id: string): void {
    this.live = undefined;
    this.indexer?.markRunGone(id);
    this.sql.exec("DELETE FROM runs WHERE id = ?", id);
    this.sql.exec("DELETE FROM attempts WHERE run_id = ?", id);
    this.sql.exec("DELETE FROM outbox WHERE run_id = ?", id);
  }
}

type LiveStatus = "queued" | "awaiting_approval" | "running";
const isLive = (status: string): status is LiveStatus => status === "queued" || status === "awaiting_approval" || status === "running";
