-- The call-centre phone index: normalised number → every account that uses it, by kind.
-- Non-unique: one number can sit on many accounts, and on one account under several kinds.
-- Kinds: `profile` (the users.phone_number attribute), `passwordless` (the same attribute on
-- a user of an sms connection, whose user id is `sms|…`), `mfa_sms` / `mfa_voice` (a phone
-- authenticator, confirmed or pending, indexed under its preferred method only: the channel
-- the user chose; the other channel is an offer, not a use).
-- `source` is `user` for the attribute rows and the authenticator id for MFA rows, so each
-- source row's entries can be replaced without touching the others.
-- Maintained ONLY by the triggers below, inside the writing statement's transaction, so no
-- service has to remember it and it is never stale. Blocked/name/email are read from `users`
-- at lookup time (they are not copied, so they cannot go stale either).
CREATE TABLE phone_index (
  number TEXT NOT NULL,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  connection TEXT NOT NULL,
  confirmed BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  source TEXT NOT NULL
);
CREATE INDEX phone_index_number ON phone_index (number, user_id);
CREATE INDEX phone_index_user ON phone_index (user_id, source);

CREATE TRIGGER phone_index_users_insert AFTER INSERT ON users
WHEN NEW.phone_number IS NOT NULL
BEGIN
  INSERT INTO phone_index (number, user_id, kind, connection, confirmed, created_at, last_used_at, source)
  VALUES (NEW.phone_number, NEW.user_id,
          CASE WHEN substr(NEW.user_id, 1, 4) = 'sms|' THEN 'passwordless' ELSE 'profile' END,
          NEW.connection, NEW.phone_verified, NEW.created_at, NEW.last_login, 'user');
END;

CREATE TRIGGER phone_index_users_update
AFTER UPDATE OF user_id, phone_number, phone_verified, connection, last_login ON users
BEGIN
  DELETE FROM phone_index WHERE user_id = OLD.user_id AND source = 'user';
  INSERT INTO phone_index (number, user_id, kind, connection, confirmed, created_at, last_used_at, source)
  SELECT NEW.phone_number, NEW.user_id,
         CASE WHEN substr(NEW.user_id, 1, 4) = 'sms|' THEN 'passwordless' ELSE 'profile' END,
         NEW.connection, NEW.phone_verified, NEW.created_at, NEW.last_login, 'user'
  WHERE NEW.phone_number IS NOT NULL;
  UPDATE phone_index SET connection = NEW.connection, user_id = NEW.user_id
  WHERE user_id = OLD.user_id AND (connection <> NEW.connection OR user_id <> NEW.user_id);
END;

CREATE TRIGGER phone_index_users_delete AFTER DELETE ON users
BEGIN
  DELETE FROM phone_index WHERE user_id = OLD.user_id;
END;

CREATE TRIGGER phone_index_authenticators_insert AFTER INSERT ON authenticators
WHEN NEW.type = 'phone' AND NEW.phone_number IS NOT NULL
BEGIN
  INSERT INTO phone_index (number, user_id, kind, connection, confirmed, created_at, last_used_at, source)
  VALUES (NEW.phone_number, NEW.user_id,
          CASE WHEN NEW.preferred_method = 'voice' THEN 'mfa_voice' ELSE 'mfa_sms' END,
          COALESCE((SELECT connection FROM users WHERE user_id = NEW.user_id), ''),
          NEW.confirmed, COALESCE(NEW.enrolled_at, NEW.created_at), NEW.last_auth_at, NEW.id);
END;

CREATE TRIGGER phone_index_authenticators_update AFTER UPDATE ON authenticators
BEGIN
  DELETE FROM phone_index WHERE user_id = OLD.user_id AND source = OLD.id;
  INSERT INTO phone_index (number, user_id, kind, connection, confirmed, created_at, last_used_at, source)
  SELECT NEW.phone_number, NEW.user_id,
         CASE WHEN NEW.preferred_method = 'voice' THEN 'mfa_voice' ELSE 'mfa_sms' END,
         COALESCE((SELECT connection FROM users WHERE user_id = NEW.user_id), ''),
         NEW.confirmed, COALESCE(NEW.enrolled_at, NEW.created_at), NEW.last_auth_at, NEW.id
  WHERE NEW.type = 'phone' AND NEW.phone_number IS NOT NULL;
END;

CREATE TRIGGER phone_index_authenticators_delete AFTER DELETE ON authenticators
BEGIN
  DELETE FROM phone_index WHERE user_id = OLD.user_id AND source = OLD.id;
END;

-- Backfill what existed before the index.
INSERT INTO phone_index (number, user_id, kind, connection, confirmed, created_at, last_used_at, source)
SELECT phone_number, user_id,
       CASE WHEN substr(user_id, 1, 4) = 'sms|' THEN 'passwordless' ELSE 'profile' END,
       connection, phone_verified, created_at, last_login, 'user'
FROM users WHERE phone_number IS NOT NULL;
INSERT INTO phone_index (number, user_id, kind, connection, confirmed, created_at, last_used_at, source)
SELECT a.phone_number, a.user_id,
       CASE WHEN a.preferred_method = 'voice' THEN 'mfa_voice' ELSE 'mfa_sms' END,
       COALESCE(u.connection, ''), a.confirmed, COALESCE(a.enrolled_at, a.created_at),
       a.last_auth_at, a.id
FROM authenticators a LEFT JOIN users u ON u.user_id = a.user_id
WHERE a.type = 'phone' AND a.phone_number IS NOT NULL;
