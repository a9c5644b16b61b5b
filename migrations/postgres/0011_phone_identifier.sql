-- A phone number is unique within a connection only where it is a login identifier (issue 14):
-- a household, or one person's personal and business accounts, share one profile number.
-- `phone_identifier` holds the number when it identifies the user (an sms connection; a
-- database connection whose options.attributes.phone_number.identifier.active is true; a user
-- with neither email nor username), else NULL; the unique index on it replaces the one on
-- phone_number, so the database, not a racing check, enforces uniqueness where it applies.
-- Written by service::users (new_row, update) and, when a connection's rule changes, by
-- service::connections::update for all of its users in the same transaction.
DROP INDEX users_connection_phone;
ALTER TABLE users ADD COLUMN phone_identifier TEXT;
UPDATE users SET phone_identifier = phone_number
 WHERE phone_number IS NOT NULL
   AND ((email IS NULL AND username IS NULL)
        OR EXISTS (SELECT 1 FROM connections c WHERE c.id = users.connection_id
                   AND (c.strategy = 'sms' OR (c.data::jsonb #>> '{options,attributes,phone_number,identifier,active}') = 'true')));
CREATE UNIQUE INDEX users_connection_phone_identifier ON users (connection_id, phone_identifier);
