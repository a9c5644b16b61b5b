-- Hosted login (issue 18). A login transaction is one /authorize request waiting for the user
-- on the hosted pages: its id (the `state` of the page URLs) and the browser cookie it is
-- bound to are stored as SHA-256; `data` is the validated request and the step reached
-- (sealed values inside stay sealed); `csrf` changes at every step, so a form posts once.
CREATE TABLE login_txns (
  id_hash TEXT PRIMARY KEY,
  browser_hash TEXT NOT NULL,
  csrf TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX login_txns_expiry ON login_txns (expires_at);

-- A browser's single-sign-on session (cookie `callsign_session`, stored as its SHA-256):
-- who signed in, when (`auth_time`, for max_age), when a second factor was last completed in
-- it. Deleting the row (logout, a blocked or deleted user) ends it everywhere at once.
CREATE TABLE login_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  auth_time BIGINT NOT NULL,
  mfa_time BIGINT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX login_sessions_user ON login_sessions (user_id);
CREATE INDEX login_sessions_expiry ON login_sessions (expires_at);

-- Authorization codes, stored as SHA-256; `data` is what the exchange needs (redirect_uri,
-- PKCE challenge, nonce, scope, audience, the Actions' claims). `used_at` is set by the one
-- exchange that wins; a second one revokes the refresh tokens of `family`.
CREATE TABLE auth_codes (
  code_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  data TEXT NOT NULL,
  family TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX auth_codes_expiry ON auth_codes (expires_at);
