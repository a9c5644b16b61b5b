-- The message outbox: operators list recent messages newest first (`service::outbox::recent`);
-- the dispatcher's claim already has `outbox_due (status, next_attempt_at)` from 0002.
CREATE INDEX outbox_created ON outbox (created_at);
