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
-- at lookup time (they are not copied, so they cannot go stale either). Same rules as the
-- SQLite triggers, written as plpgsql trigger functions.
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
CREATE INDEX phone_index_number ON phone_index (number, user_id COLLATE "C");
CREATE INDEX phone_index_user ON phone_index (user_id, source);

CREATE FUNCTION phone_index_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM phone_index WHERE user_id = OLD.user_id;
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF NEW.user_id IS NOT DISTINCT FROM OLD.user_id
       AND NEW.phone_number IS NOT DISTINCT FROM OLD.phone_number
       AND NEW.phone_verified IS NOT DISTINCT FROM OLD.phone_verified
       AND NEW.connection IS NOT DISTINCT FROM OLD.connection
       AND NEW.last_login IS NOT DISTINCT FROM OLD.last_login THEN
      RETURN NEW;
    END IF;
    DELETE FROM phone_index WHERE user_id = OLD.user_id AND source = 'user';
    UPDATE phone_index SET connection = NEW.connection, user_id = NEW.user_id
    WHERE user_id = OLD.user_id AND (connection <> NEW.connection OR user_id <> NEW.user_id);
  END IF;
  IF NEW.phone_number IS NOT NULL THEN
    INSERT INTO phone_index (number, user_id, kind, connection, confirmed, created_at, last_used_at, source)
    VALUES (NEW.phone_number, NEW.user_id,
            CASE WHEN substr(NEW.user_id, 1, 4) = 'sms|' THEN 'passwordless' ELSE 'profile' END,
            NEW.connection, NEW.phone_verified, NEW.created_at, NEW.last_login, 'user');
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER phone_index_users AFTER INSERT OR UPDATE OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION phone_index_users();

CREATE FUNCTION phone_index_authenticators() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM phone_index WHERE user_id = OLD.user_id AND source = OLD.id;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  IF NEW.type = 'phone' AND NEW.phone_number IS NOT NULL THEN
    INSERT INTO phone_index (number, user_id, kind, connection, confirmed, created_at, last_used_at, source)
    VALUES (NEW.phone_number, NEW.user_id,
            CASE WHEN NEW.preferred_method = 'voice' THEN 'mfa_voice' ELSE 'mfa_sms' END,
            COALESCE((SELECT connection FROM users WHERE user_id = NEW.user_id), ''),
            NEW.confirmed, COALESCE(NEW.enrolled_at, NEW.created_at), NEW.last_auth_at, NEW.id);
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER phone_index_authenticators AFTER INSERT OR UPDATE OR DELETE ON authenticators
FOR EACH ROW EXECUTE FUNCTION phone_index_authenticators();

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
