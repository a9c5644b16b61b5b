//! Messages on their way out: the durable outbox and its dispatcher, and the user notifications
//! (reset links, blocked-account notices) queued into it.

pub mod notify; // user notifications (reset link, blocked account) into the outbox
pub mod outbox; // durable message outbox: enqueue in the cause's transaction, dispatcher
pub mod senders; // which sender carries a message: the one choice
pub mod try_send; // the Management API's test sends of a provider or a template
