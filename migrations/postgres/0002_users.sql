-- Users of database connections, brute-force counters, single-use tickets, the event log and
-- the durable message outbox (email and phone). Times are BIGINT milliseconds.

CREATE TABLE users (
  user_id TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL,
  connection TEXT NOT NULL,
  email TEXT,
  email_verified BOOLEAN NOT NULL,
  phone_number TEXT,
  phone_verified BOOLEAN NOT NULL,
  username TEXT,
  name TEXT,
  nickname TEXT,
  given_name TEXT,
  family_name TEXT,
  picture TEXT,
  blocked BOOLEAN NOT NULL,
  password_hash TEXT,
  logins_count BIGINT NOT NULL,
  last_login BIGINT,
  last_ip TEXT,
  last_password_reset BIGINT,
  app_metadata TEXT NOT NULL,
  user_metadata TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_connection_email ON users (connection_id, email);
CREATE UNIQUE INDEX users_connection_username ON users (connection_id, username);
CREATE UNIQUE INDEX users_connection_phone ON users (connection_id, phone_number);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_phone ON users (phone_number);
CREATE INDEX users_username ON users (username);
CREATE INDEX users_created ON users (created_at, user_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Consecutive failed logins per (user, ip); `blocked_at` set once the threshold is reached.
CREATE TABLE login_failures (
  user_id TEXT NOT NULL,
  ip TEXT NOT NULL,
  failures BIGINT NOT NULL,
  last_failure_at BIGINT NOT NULL,
  blocked_at BIGINT,
  PRIMARY KEY (user_id, ip)
);

-- Single-use, expiring tickets (password change); only the SHA-256 of the token is stored.
CREATE TABLE tickets (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  user_id TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX tickets_user ON tickets (user_id);

-- The tenant's event log. `log_id` sorts by time (checkpoint paging follows it).
CREATE TABLE logs (
  log_id TEXT PRIMARY KEY,
  date BIGINT NOT NULL,
  type TEXT NOT NULL,
  user_id TEXT,
  client_id TEXT,
  connection TEXT,
  ip TEXT,
  data TEXT NOT NULL
);
CREATE INDEX logs_date ON logs (date);
CREATE INDEX logs_user ON logs (user_id, log_id);
CREATE INDEX logs_type ON logs (type, log_id);

-- Messages to deliver (email, sms, voice), written in the transaction that caused them and
-- sent by a dispatcher. `body` is sealed (it can hold a reset link or a code) and is cleared
-- once delivered.
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  recipient TEXT NOT NULL,
  type TEXT NOT NULL,
  locale TEXT NOT NULL,
  body TEXT,
  status TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  last_error TEXT,
  claimed_by TEXT,
  claimed_until BIGINT,
  created_at BIGINT NOT NULL,
  sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
