-- Nothing to do on PostgreSQL: the event log and the rate-limit buckets stay in the one
-- database. On SQLite this migration moves them into the activity file (see
-- migrations/sqlite_activity.sql); the file exists here so both backends list the same names.
SELECT 1;
