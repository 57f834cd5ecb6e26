export const RUN_SCHEMA = [
  `CREATE TABLE run (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
   CREATE TABLE log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kind INTEGER NOT NULL,
     attempt INTEGER NOT NULL,
     stream INTEGER NOT NULL,
     data BLOB NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX log_output ON log (kind, attempt, stream, id);
   CREATE TABLE attempts (
     attempt INTEGER PRIMARY KEY,
     host_id TEXT NOT NULL,
     pid INTEGER,
     last_seq INTEGER NOT NULL DEFAULT 0,
     started_at INTEGER NOT NULL,
     ended_at INTEGER,
     reason TEXT
   );`,
  // Attempt ends the agent's object has not yet heard of; delivered until it answers.
  `CREATE TABLE notify (attempt INTEGER PRIMARY KEY, retry_delay_ms INTEGER);
   ALTER TABLE attempts ADD COLUMN retry_delay_ms INTEGER;`,
];

/** Attempts ended by the control plane rather than by their host: anything more from them is refused. */
export const FENCED_REASONS: ReadonlySet<string> = new Set(["lost", "expired"]);

/** Kinds of rows in the run's log; every row is one watch-stream event with the row id as its id. */
export const KIND_STATE = 0;
export const KIND_OUTPUT = 1;
export const KIND_EVENT = 2;
