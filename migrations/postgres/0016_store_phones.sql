-- Custom-database connections (issue 16): which MFA phone authenticator a user's own store
-- owns (`options.callsign_store_phone`), so that a later login returning another number
-- re-enrols that one and leaves the phones the user enrolled themself alone.
CREATE TABLE store_phones (
  user_id TEXT PRIMARY KEY,
  authenticator_id TEXT NOT NULL,
  phone_number TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
