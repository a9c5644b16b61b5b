-- Inbound calls and SMS (Twilio webhooks) with the accounts their number matched, and the
-- agent console's sessions. Times are BIGINT milliseconds.

-- `seq` orders events for the cross-node feed poll; `sid` (Twilio's CallSid / MessageSid)
-- makes a replayed webhook a no-op. `accounts` is the JSON the feed and the call-centre
-- webhook carry (masked emails only). Rows older than the retention are swept.
CREATE TABLE inbound_contacts (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL,
  number TEXT NOT NULL,
  accounts TEXT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX inbound_contacts_received ON inbound_contacts (received_at);

-- Console sessions: the cookie holds a 256-bit random id, stored here only as its SHA-256.
CREATE TABLE console_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
