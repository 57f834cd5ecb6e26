import { SCHEDULES_STEP } from "../schedules/schema.js";
import { INDEX_SCHEMA_STEP } from "./index-outbox.js";

export const AGENT_SCHEMA = [
  `CREATE TABLE profile (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     workspace TEXT NOT NULL,
     name TEXT NOT NULL,
     created_at TEXT NOT NULL,
     host_token_gen INTEGER NOT NULL
   );
   CREATE TABLE queue (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     run_id TEXT NOT NULL UNIQUE,
     attempts INTEGER NOT NULL DEFAULT 0,
     job TEXT NOT NULL,
     enqueued_at INTEGER NOT NULL
   );
   CREATE TABLE leases (
     run_id TEXT PRIMARY KEY,
     attempt INTEGER NOT NULL,
     host_id TEXT NOT NULL,
     job TEXT NOT NULL,
     assigned_at INTEGER NOT NULL
   );`,
  `CREATE TABLE timers (key TEXT PRIMARY KEY, kind TEXT NOT NULL, due_at INTEGER NOT NULL, data TEXT NOT NULL DEFAULT '{}');
   CREATE INDEX timers_due ON timers (due_at);
   CREATE TABLE idempotency (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, created_at INTEGER NOT NULL);`,
  `ALTER TABLE profile ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
   ALTER TABLE queue ADD COLUMN ready_at INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE leases ADD COLUMN renewed_at INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE leases ADD COLUMN missing_since INTEGER;`,
  SCHEDULES_STEP,
  // Runs being submitted: claimed before the run's object is created, ready once it is.
  `CREATE TABLE pending (run_id TEXT PRIMARY KEY, init TEXT NOT NULL, created_at INTEGER NOT NULL);`,
  // The agent's object owns each run's whole life: one row per run is its truth, the queue is
  // the queued rows, the lease is the running row's host, and every change is an outbox row
  // for the run's object, written in the same transaction. Runs named before this step lived
  // in their own objects under ids that do not name their agent, and cannot be reached here.
  `DROP TABLE queue;
   DROP TABLE leases;
   DROP TABLE pending;
   CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     seq INTEGER NOT NULL UNIQUE,
     status TEXT NOT NULL,
     ready_at INTEGER,
     host_id TEXT,
     attempt INTEGER NOT NULL DEFAULT 0,
     body TEXT NOT NULL,
     job TEXT NOT NULL,
     version INTEGER NOT NULL,
     has_object INTEGER NOT NULL DEFAULT 0,
     ended_at INTEGER,
     renewed_at INTEGER,
     missing_since INTEGER
   );
   CREATE INDEX runs_queued ON runs (seq) WHERE status = 'queued';
   CREATE INDEX runs_leased ON runs (host_id) WHERE status = 'running';
   CREATE INDEX runs_ended ON runs (ended_at) WHERE ended_at IS NOT NULL;
   CREATE TABLE outbox (run_id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (run_id, version)) WITHOUT ROWID;
   CREATE TABLE attempts (run_id TEXT NOT NULL, attempt INTEGER NOT NULL, host_id TEXT NOT NULL, PRIMARY KEY (run_id, attempt)) WITHOUT ROWID;
   CREATE TABLE purges (run_id TEXT PRIMARY KEY);
   CREATE TABLE hosts (host_id TEXT PRIMARY KEY, gen INTEGER NOT NULL, hostname TEXT NOT NULL, enrolled_at TEXT NOT NULL, last_seen_at TEXT);
   CREATE INDEX idempotency_age ON idempotency (created_at);
   ALTER TABLE profile ADD COLUMN incarnation TEXT NOT NULL DEFAULT '';
   ALTER TABLE profile ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;`,
  // Runs submitted from inside a job name their parent, for its list and its cancel.
  `ALTER TABLE runs ADD COLUMN parent_id TEXT;
   ALTER TABLE runs ADD COLUMN runner TEXT;
   CREATE INDEX runs_parent ON runs (parent_id) WHERE parent_id IS NOT NULL;`,
  // Marks of runs (and of the agent's own row) for the workspace index in D1; runs made before
  // this step are marked here, so the index learns of them too.
  INDEX_SCHEMA_STEP,
  // An agent's secrets, sealed (see secrets.ts): never read back through the API.
  `CREATE TABLE secrets (name TEXT PRIMARY KEY, iv BLOB NOT NULL, sealed BLOB NOT NULL, updated_at INTEGER NOT NULL);`,
  // Which queued run goes next: priority first, then a concurrency key's room, then the host's
  // labels; and at most one live run per dedup key.
  `ALTER TABLE runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 5;
   ALTER TABLE runs ADD COLUMN ckey TEXT;
   ALTER TABLE runs ADD COLUMN climit INTEGER;
   ALTER TABLE runs ADD COLUMN dedup TEXT;
   ALTER TABLE runs ADD COLUMN requires TEXT;
   CREATE INDEX runs_next ON runs (priority DESC, seq) WHERE status = 'queued';
   CREATE INDEX runs_ckey ON runs (ckey, status) WHERE ckey IS NOT NULL;
   CREATE INDEX runs_dedup ON runs (dedup) WHERE dedup IS NOT NULL;`,
  // A debounce key: a new run of the key replaces the one still waiting to start.
  `ALTER TABLE runs ADD COLUMN debounce TEXT;
   CREATE INDEX runs_debounce ON runs (debounce) WHERE debounce IS NOT NULL AND status = 'queued';`,
  // round_robin: a run's key takes turns (turn_key), and each key's turn is the number of the
  // assignment that last served it; the key served least recently goes first.
  `ALTER TABLE runs ADD COLUMN turn_key TEXT;
   CREATE TABLE key_turns (ckey TEXT PRIMARY KEY, served INTEGER NOT NULL);
   CREATE INDEX key_turns_served ON key_turns (served);`,
  // start_rate: a run's key, limit and window (ms), and the starts of each key still in a window.
  `ALTER TABLE runs ADD COLUMN skey TEXT;
   ALTER TABLE runs ADD COLUMN slimit INTEGER;
   ALTER TABLE runs ADD COLUMN swindow INTEGER;
   CREATE TABLE key_starts (skey TEXT NOT NULL, at INTEGER NOT NULL);
   CREATE INDEX key_starts_at ON key_starts (skey, at);`,
  // Whether any queued run takes turns: without one the next run is read in index order.
  `CREATE INDEX runs_turn ON runs (turn_key) WHERE status = 'queued' AND turn_key IS NOT NULL;`,
  // Each concurrency key with live runs: how many run, the limit its first waiting run has, and
  // whether any waits. The next run is looked for only under keys with room (key_room_open), so
  // runs queued behind full keys are never read; queued runs of no key have an index of their own.
  `CREATE TABLE key_room (ckey TEXT PRIMARY KEY, running INTEGER NOT NULL, climit INTEGER NOT NULL, queued INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX key_room_open ON key_room (ckey) WHERE queued > 0 AND running < climit;
   CREATE INDEX runs_queued_key ON runs (ckey, priority DESC, seq) WHERE status = 'queued' AND ckey IS NOT NULL;
   CREATE INDEX runs_queued_free ON runs (priority DESC, seq) WHERE status = 'queued' AND ckey IS NULL;
   INSERT INTO key_room (ckey, running, climit, queued)
     SELECT k.ckey,
       (SELECT COUNT(*) FROM runs r WHERE r.ckey = k.ckey AND r.status = 'running'),
       COALESCE((SELECT h.climit FROM runs h WHERE h.ckey = k.ckey AND h.status = 'queued' ORDER BY h.priority DESC, h.seq LIMIT 1), 0),
       EXISTS (SELECT 1 FROM runs h WHERE h.ckey = k.ckey AND h.status = 'queued')
     FROM (SELECT DISTINCT ckey FROM runs WHERE ckey IS NOT NULL AND status IN ('queued', 'running')) k;`,
  // A run gets an object only when something needs one (its host's output stream, a watcher); the
  // changes of a run without one stay here as its event log. Only changes owed to an object are
  // pushed, found by this index without reading the rest.
  `ALTER TABLE outbox ADD COLUMN owed INTEGER NOT NULL DEFAULT 0;
   UPDATE outbox SET owed = 1 WHERE run_id IN (SELECT id FROM runs WHERE has_object = 1);
   CREATE INDEX outbox_owed ON outbox (run_id) WHERE owed = 1;`,
  // The next run is read through runs_queued_free and runs_queued_key; this index was kept up by
  // every submit and every start (a page written to disk each) and read by nothing.
  `DROP INDEX runs_next;`,
];

export interface Profile {
  workspace: string;
  name: string;
  created_at: string;
  host_token_gen: number;
  /** A new random value each time an agent of this name is created: tokens of an earlier life are refused. */
  incarnation: string;
  /** The agent was deleted; its runs stay (and need the workspace) until their retention ends. */
  deleted: number;
  /** The settings this agent changed from the defaults (JSON). */
  config: string;
  [key: string]: SqlStorageValue;
}
