-- Phone MFA and phone delivery: tenant settings documents (Guardian factors, message types,
-- policies, templates, selected provider), the tenant phone provider and phone templates,
-- users' authenticators, one-time-code challenges, and the rotatable HMAC keys codes are
-- stored under. Times are BIGINT milliseconds.

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE phone_providers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  disabled BOOLEAN NOT NULL,
  configuration TEXT NOT NULL,
  credentials TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE phone_templates (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL UNIQUE,
  disabled BOOLEAN NOT NULL,
  content TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- A phone authenticator is one row; its sms and voice entries share the `dev_` id.
-- `secret` holds the sealed TOTP secret, or the HMAC of a recovery code.
CREATE TABLE authenticators (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  type TEXT NOT NULL,
  confirmed BOOLEAN NOT NULL,
  name TEXT,
  phone_number TEXT,
  preferred_method TEXT,
  secret TEXT,
  key_id TEXT,
  created_at BIGINT NOT NULL,
  enrolled_at BIGINT,
  last_auth_at BIGINT
);
CREATE INDEX authenticators_user ON authenticators (user_id, created_at);
CREATE INDEX authenticators_phone ON authenticators (phone_number);

-- One-time codes sent by SMS or voice (enrolment, verification, passwordless). Only an HMAC of
-- the code is stored; `attempts` counts submissions and is raised before comparing.
CREATE TABLE otp_challenges (
  id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  user_id TEXT,
  authenticator_id TEXT,
  recipient TEXT NOT NULL,
  channel TEXT NOT NULL,
  client_id TEXT NOT NULL,
  code_hmac TEXT NOT NULL,
  key_id TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  consumed_at BIGINT
);
CREATE INDEX otp_challenges_user ON otp_challenges (user_id, created_at);
CREATE INDEX otp_challenges_recipient ON otp_challenges (recipient, created_at);

-- Server keys for code HMACs, sealed; the newest is current, older ones still verify.
CREATE TABLE hmac_keys (
  id TEXT PRIMARY KEY,
  key_sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

-- The last TOTP time step accepted per authenticator: a code is good once (replay refused).
CREATE TABLE totp_steps (
  authenticator_id TEXT PRIMARY KEY,
  last_step BIGINT NOT NULL
);
