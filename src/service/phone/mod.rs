//! The tenant's phone delivery configuration: the one phone provider, message templates and
//! their bounded renderer, the coverage rule, and Guardian's Twilio view of the provider.

pub mod coverage; // the one "message types ⊆ delivery methods" check over the stored state
pub mod guardian_twilio; // Guardian's Twilio settings as a view of the tenant phone provider
pub mod providers; // the tenant phone provider: CRUD, test send, `active` for delivery
pub mod templates; // phone message templates: Management API use cases and `render` for senders
