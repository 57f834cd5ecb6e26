import { TOKENS_STEP } from "../auth/token-store.js";

/** The agent's schedule tables: one migration step, appended to the agent's schema. */
export const SCHEDULES_STEP = `CREATE TABLE schedules (
     id TEXT PRIMARY KEY,
     cron TEXT NOT NULL,
     timezone TEXT NOT NULL,
     run TEXT NOT NULL,
     enabled INTEGER NOT NULL,
     overlap TEXT NOT NULL,
     misfire TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     cursor INTEGER NOT NULL,
     next_run_at INTEGER,
     pending_slot INTEGER,
     last_run_id TEXT,
     last_run_at TEXT,
     last_status TEXT,
     fires INTEGER NOT NULL DEFAULT 0,
     skips INTEGER NOT NULL DEFAULT 0,
     misfires INTEGER NOT NULL DEFAULT 0,
     version INTEGER NOT NULL DEFAULT 1
   );
   CREATE INDEX schedules_last_run ON schedules (last_run_id);
   CREATE TABLE schedule_fires (schedule_id TEXT NOT NULL, slot INTEGER NOT NULL, PRIMARY KEY (schedule_id, slot));
   CREATE TABLE schedule_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, schedule_id TEXT NOT NULL, body TEXT NOT NULL);
   CREATE INDEX schedule_events_by ON schedule_events (schedule_id, seq);
   CREATE TABLE schedule_sync (id TEXT PRIMARY KEY, version INTEGER NOT NULL);`;

/** The workspace's directory of schedules across its agents, for listing. */
export const WORKSPACE_SCHEMA = [
  `CREATE TABLE schedules (id TEXT PRIMARY KEY, agent TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL);
   CREATE INDEX schedules_by_agent ON schedules (agent, id);
   CREATE TABLE removed_agents (agent TEXT PRIMARY KEY, at INTEGER NOT NULL);`,
  // Workspace tokens (src/auth/token-store.ts): records and revocations.
  TOKENS_STEP,
];
