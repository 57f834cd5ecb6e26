/**
 * The agent's side of the workspace index. Each run decision marks the run (and the agent's own
 * row) in `index_outbox` inside the decision's transaction; the alarm, a moment later, reads
 * the marked rows' current state and upserts it to D1 in batches. Marks coalesce by key, so a run
 * that changed five times between flushes costs one D1 row write.
 *
 * A mark is removed only after D1 took a version at least as new, so a failed or lost flush only
 * delays the index: the alarm retries it. Removals wait in memory and are written in the alarm's
 * turn, with its timer's removal, or sooner with a decision: a flush costs the object one commit
 * however many runs it carries. Lost from memory (an eviction), they only make a later flush
 * send a row again.
 */
import type { AgentSummary } from "../protocol/run-index.js";
import type { IndexDb, IndexItem } from "../index/write.js";
import { writeIndex } from "../index/write.js";
import { publicRun, type RunStore } from "./run-store.js";
import type { Timers } from "./timers.js";

export const INDEX_TIMER = "index";
/** The agent's own row; run ids are never empty. */
const AGENT_KEY = "";
/**
 * How long marks wait for more to ride along before a flush. A D1 write commits, and a commit
 * holds the runtime's one thread through its disk sync: flushed after every decision, it
 * landed on the path of the next submit (submit to assignment at a host, p50: 11.4 ms against
 * 6.5 ms at this wait). Lists lag by up to this much more.
 */
const COALESCE_MS = 200;
const BATCH = 100;
const IN_FLIGHT = 3;

export const INDEX_SCHEMA_STEP = `CREATE TABLE index_outbox (key TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO index_outbox (key, version) SELECT id, version FROM runs;
   INSERT INTO index_outbox (key, version) SELECT '', 1 FROM profile;`;

export interface IndexOutboxDeps {
  sql: SqlStorage;
  store: RunStore;
  timers: Timers;
  workspace(): string | null;
  /** The agent's row as lists show it, and whether it was deleted; null before it exists. */
  agent(): { summary: AgentSummary; deleted: boolean } | null;
}

export class IndexOutbox {
  /** Replaced by tests to make D1 fail. */
  db: IndexDb;
  /** Batches being written, and the version of each mark they carry. */
  private readonly writes = new Set<Promise<void>>();
  private readonly sending = new Map<string, number>();
  /** Marks D1 has taken, by key: removed with the next write. */
  private readonly taken = new Map<string, number>();
  /**
   * Keys this object marked since a flush last picked them up. The flush reads a key's state as
   * it is when it sends, so marking one of these again changes nothing: a run's three decisions
   * between flushes cost one mark, and the agent's row one for all its runs. Once a flush has
   * picked a key up, a change needs a mark of its own again.
   */
  private readonly marked = new Set<string>();
  /** The agent's row has no version of its own; this one only grows, across restarts too (it starts from the clock). */
  private agentVersion = 0;

  constructor(
    db: IndexDb,
    private readonly d: IndexOutboxDeps,
  ) {
    this.db = db;
  }

  /** A run changed; call inside the transaction that changed it. */
  markRun(id: string, version: number): void {
    this.mark(id, version, true);
    this.markAgent();
  }

  /** A run is being deleted (call before its row goes): its index row becomes a tombstone newer than any version it had. */
  markRunGone(id: string): void {
    const v = this.d.sql.exec<{ v: number }>("SELECT version + 1 AS v FROM runs WHERE id = ?", id).toArray()[0]?.v;
    if (v !== undefined) this.mark(id, v);
    this.markAgent();
  }

  /** The agent's own row changed (created, deleted, its counts). Its mark counts up, so one made during a flush outlives it. */
  markAgent(): void {
    this.settle();
    if (this.marked.has(AGENT_KEY)) return;
    this.d.sql.exec("INSERT INTO index_outbox (key, version) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET version = version + 1", AGENT_KEY);
    this.marked.add(AGENT_KEY);
    this.armed();
  }

  /** A transaction was rolled back, and marks with it: every key is marked afresh. */
  forget(): void {
    this.marked.clear();
  }

  /** `coalesce`: a mark still waiting for a flush stands for this one (a tombstone's version must be written). */
  private mark(key: string, version: number, coalesce = false): void {
    this.settle();
    if (coalesce && this.marked.has(key)) return;
    this.d.sql.exec("INSERT INTO index_outbox (key, version) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET version = MAX(version, excluded.version)", key, version);
    this.marked.add(key);
    this.armed();
  }

  /** Writes the removals of marks D1 took; call where the object writes anyway. */
  settle(): void {
    if (!this.taken.size) return;
    // One statement for a whole flush's marks, where one each was a statement per run.
    this.d.sql.exec(
      // Read once, not for each row: a subquery that named the outer row parsed the list again for every mark.
      "DELETE FROM index_outbox WHERE key IN (SELECT o.key FROM json_each(?) j JOIN index_outbox o ON o.key = j.value ->> 0 AND o.version <= j.value ->> 1)",
      JSON.stringify([...this.taken]),
    );
    this.taken.clear();
  }

  /** The alarm flushes once the wait is over, however many marks were made meanwhile; a timer already set (a retry) stays. */
  private armed(): void {
    this.d.timers.ensure(INDEX_TIMER, INDEX_TIMER, Date.now() + COALESCE_MS);
  }

  /** Marks D1 has not taken yet (those being written included). */
  pending(): number {
    return this.d.sql.exec<{ key: string; version: number }>("SELECT key, version FROM index_outbox").toArray().filter((m) => (this.taken.get(m.key) ?? 0) < m.version).length;
  }

  /** The alarm's work: the flush, then the removals written (the alarm's turn writes anyway). */
  async onTimer(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.settle();
    }
    // Marks made while it flushed wait their turn; a failed flush threw above, and its timer retries with backoff.
    if (this.pending()) this.d.timers.set(INDEX_TIMER, INDEX_TIMER, Date.now() + COALESCE_MS);
  }

  /**
   * Writes every marked row to D1, in batches, a few at once: D1's round trip, not this object,
   * is what a lag is made of, so batches overlap. Order does not matter, as versions decide.
   * Resolves when nothing is left unwritten; rejects when a batch failed (its marks stay).
   */
  async flush(): Promise<void> {
    for (;;) {
      while (this.writes.size < IN_FLIGHT) {
        const marks = this.unsent(BATCH);
        if (!marks.length) break;
        const w: Promise<void> = this.send(marks).finally(() => this.writes.delete(w));
        w.catch(() => undefined); // whoever awaits it hears the failure; no one else need
        this.writes.add(w);
      }
      if (!this.writes.size) return;
      await Promise.race(this.writes);
    }
  }

  private unsent(limit: number): { key: string; version: number }[] {
    const skip = this.taken.size + this.sending.size;
    const rows = this.d.sql.exec<{ key: string; version: number }>("SELECT key, version FROM index_outbox LIMIT ?", limit + skip).toArray();
    return rows.filter((m) => (this.taken.get(m.key) ?? 0) < m.version && (this.sending.get(m.key) ?? 0) < m.version).slice(0, limit);
  }

  private async send(marks: { key: string; version: number }[]): Promise<void> {
    const ws = this.d.workspace();
    if (!ws) return;
    const items: IndexItem[] = [];
    const sent: [string, number][] = [];
    const rows = this.d.store.rows(marks.filter((m) => m.key !== AGENT_KEY).map((m) => m.key));
    for (const m of marks) {
      if (m.key === AGENT_KEY) {
        const a = this.d.agent();
        if (a) {
          this.agentVersion = Math.max(this.agentVersion + 1, Date.now() * 1000);
          items.push({ kind: "agent", version: this.agentVersion, agent: a.summary, deleted: a.deleted });
        }
        sent.push([m.key, m.version]);
        continue;
      }
      const row = rows.get(m.key);
      if (row) items.push({ kind: "run", version: row.version, run: publicRun(JSON.parse(row.body)) });
      else items.push({ kind: "run-gone", version: m.version, id: m.key, agent: m.key.slice(m.key.lastIndexOf("_") + 1) });
      sent.push([m.key, row ? Math.max(row.version, m.version) : m.version]);
    }
    for (const [key, version] of sent) {
      this.sending.set(key, version);
      this.marked.delete(key);
    }
    try {
      await writeIndex(this.db, ws, items);
      // A mark made while D1 was writing has a higher version and stays for the next flush.
      for (const [key, version] of sent) if ((this.taken.get(key) ?? 0) < version) this.taken.set(key, version);
    } finally {
      for (const [key, version] of sent) if (this.sending.get(key) === version) this.sending.delete(key);
    }
  }
}
