-- SQLite only: the schema of the ACTIVITY file (`<database>-activity`, attached to every
-- connection as `activity`). It holds the tables written on read paths: the event log (every
-- audited lookup, every token grant) and the rate-limit buckets (a lease per client per
-- second). Any commit to a SQLite file makes every reader connection of that file drop its
-- page cache and memory map on its next read; kept apart, these writes leave the readers of
-- the main file (users, phone_index, …) warm. Unqualified names find these tables because
-- migration 0009 drops the main file's copies. Applied at every open (IF NOT EXISTS), before
-- the migrations, with the carry-over of rows a database from before 0009 kept in the main
-- file (INSERT OR IGNORE: a copy interrupted by a crash is simply repeated). PostgreSQL keeps
-- these tables in its one database (migrations 0001 and 0002). Both tables are WITHOUT ROWID,
-- clustered on their text keys: an event is one B-tree insert fewer than a rowid table with
-- a unique index on `log_id` (log ids rise with time, so inserts append).

CREATE TABLE IF NOT EXISTS activity.logs (
  log_id TEXT PRIMARY KEY,
  date BIGINT NOT NULL,
  type TEXT NOT NULL,
  user_id TEXT,
  client_id TEXT,
  connection TEXT,
  ip TEXT,
  data TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS activity.logs_date ON logs (date);
CREATE INDEX IF NOT EXISTS activity.logs_user ON logs (user_id, log_id);
CREATE INDEX IF NOT EXISTS activity.logs_type ON logs (type, log_id);

CREATE TABLE IF NOT EXISTS activity.rate_buckets (
  key TEXT PRIMARY KEY,
  tokens DOUBLE PRECISION NOT NULL,
  updated_at BIGINT NOT NULL
) WITHOUT ROWID;
