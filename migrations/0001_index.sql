-- The workspace-wide index: what lists read. The agents' objects are the truth; each upserts
-- here with its own version, and a row only ever moves to a higher version, so a late or
-- repeated flush never takes the index backwards. A deleted run stays as a tombstone
-- (deleted = 1) so that an older flush arriving after the delete cannot bring it back.
CREATE TABLE runs (
  workspace TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  agent TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT 0,
  ended_at INTEGER,
  exit_code INTEGER,
  attempt INTEGER NOT NULL DEFAULT 0,
  labels TEXT NOT NULL DEFAULT '{}',
  schedule_id TEXT,
  parent_id TEXT,
  command TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL DEFAULT '{}',
  indexed_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, id)
);
-- Newest first, keyset on (created_at, id): each filter has an index that keeps that order.
CREATE INDEX runs_recent ON runs (workspace, created_at DESC, id DESC) WHERE deleted = 0;
CREATE INDEX runs_by_agent ON runs (workspace, agent, created_at DESC, id DESC) WHERE deleted = 0;
CREATE INDEX runs_by_status ON runs (workspace, status, created_at DESC, id DESC) WHERE deleted = 0;
CREATE INDEX runs_by_schedule ON runs (workspace, schedule_id, created_at DESC, id DESC) WHERE deleted = 0 AND schedule_id IS NOT NULL;
CREATE INDEX runs_by_parent ON runs (workspace, parent_id, created_at DESC, id DESC) WHERE deleted = 0 AND parent_id IS NOT NULL;

CREATE TABLE agents (
  workspace TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL DEFAULT '{}',
  indexed_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, name)
);
