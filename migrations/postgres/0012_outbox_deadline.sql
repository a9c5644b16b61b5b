-- One-time codes must arrive while they still work (issue 14 item 5). `expires_at` is the
-- deadline of a message whose content dies (an OTP message: its code's expiry), NULL for the
-- rest; the dispatcher retries such a row on a short schedule inside it and marks it `expired`
-- instead of sending it after it. `supersede_key` names what a newer message replaces (the
-- challenge's purpose and owner): enqueueing one marks the pending rows with the same key
-- `superseded`, so only the newest code goes out. `user_id` is the user a message is about,
-- for the gd_send_* log events (item 6).
ALTER TABLE outbox ADD COLUMN expires_at BIGINT;
ALTER TABLE outbox ADD COLUMN supersede_key TEXT;
ALTER TABLE outbox ADD COLUMN user_id TEXT;
-- Only pending rows can be superseded; the partial index stays as small as the queue.
CREATE INDEX outbox_supersede ON outbox (supersede_key) WHERE status = 'pending';
