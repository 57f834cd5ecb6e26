/**
 * A run's object: its state as its agent last told it (with the change's version, so each is
 * applied once), its log of states, events and output, and per attempt the last chunk stored.
 */
export const RUN_SCHEMA = [
  `CREATE TABLE run (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     body TEXT NOT NULL,
     version INTEGER NOT NULL,
     max_output INTEGER NOT NULL,
     stored INTEGER NOT NULL DEFAULT 0,
     truncated INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kind INTEGER NOT NULL,
     attempt INTEGER NOT NULL,
     stream INTEGER NOT NULL,
     data BLOB NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX log_output ON log (kind, attempt, stream, id);
   CREATE TABLE attempts (attempt INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL DEFAULT 0);`,
  // Live input for the job's stdin, kept until its host says it wrote it.
  `CREATE TABLE input (seq INTEGER PRIMARY KEY, data BLOB NOT NULL, eof INTEGER NOT NULL, delivered INTEGER NOT NULL DEFAULT 0);`,
];

/** Kinds of rows in the run's log; every row is one watch-stream event with the row id as its id. */
export const KIND_STATE = 0;
export const KIND_OUTPUT = 1;
export const KIND_EVENT = 2;
