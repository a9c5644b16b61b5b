-- The event log and the rate-limit buckets live in the activity file on SQLite (see
-- migrations/sqlite_activity.sql, applied at open, which has already copied any rows these
-- tables held). Dropping the main file's copies makes the unqualified names `logs` and
-- `rate_buckets` resolve to the activity file's tables.
DROP TABLE IF EXISTS main.logs;
DROP TABLE IF EXISTS main.rate_buckets;
