//! Messages on their way out: the durable outbox and its dispatcher, and the user notifications
//! (reset links, blocked-account notices) queued into it.

pub mod notify; // user notifications (reset link, blocked account) into the outbox
pub mod outbox; // durable message outbox: enqueue in the cause's transaction, dispatcher
