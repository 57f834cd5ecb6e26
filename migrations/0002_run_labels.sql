-- Labels one row each, so a label selector walks an index in list order instead of reading every
-- run of the workspace. A run's labels never change; a deleted run's go with it.
CREATE TABLE run_labels (
  workspace TEXT NOT NULL,
  run_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, run_id, key)
) WITHOUT ROWID;
CREATE INDEX run_labels_match ON run_labels (workspace, key, value, created_at DESC, run_id DESC);
INSERT INTO run_labels (workspace, run_id, key, value, created_at)
  SELECT r.workspace, r.id, j.key, j.value, r.created_at FROM runs r, json_each(r.labels) j WHERE r.deleted = 0;
