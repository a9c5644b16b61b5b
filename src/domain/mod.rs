//! Pure rules and types: no I/O, no async, no framework types (checked by the architecture test).

pub mod claims; // access-token claims as Auth0 shapes them
pub mod grant_types; // OAuth grant type names and which ones a client may hold
pub mod paging; // Management API pagination: offset, totals, checkpoint; the 1000-record cap
pub mod phone; // the one phone-number normaliser (E.164), region codes, Auth0's masking
pub mod scopes; // Management API scopes and the per-endpoint requirement markers
