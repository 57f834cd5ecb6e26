import { SCHEDULES_STEP } from "../schedules/schema.js";

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
];

export interface Profile {
  workspace: string;
  name: string;
  created_at: string;
  host_token_gen: number;
  /** The settings this agent changed from the defaults (JSON). */
  config: string;
  [key: string]: SqlStorageValue;
}
