//! The call-centre features: phone lookup over the trigger-maintained index, inbound calls and
//! SMS with their live feed and webhook, and the agent console's sessions.

pub mod console; // agent console sessions: agent-only sign-in with brute-force rules, CSRF
pub mod inbound; // Twilio inbound calls/SMS: verify, look up, store once, publish (feed + webhook)
pub mod lookup; // call-centre phone lookup over the trigger-maintained phone index
