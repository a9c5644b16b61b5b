//! Pure rules and types: no I/O, no async, no framework types (checked by the architecture test).

pub mod actions; // what Actions decide that domain rules read (a post-login Action's MFA say)
pub mod auth_methods; // users' MFA factors: kinds, wire ids, TOTP secrets, masking, `multifactor`
pub mod claims; // access-token claims as Auth0 shapes them
pub mod connections; // connection strategies, body and options rules, defaults, secret options
pub mod forwarded; // trusted proxy CIDRs and the right-to-left X-Forwarded-For / Forwarded walk
pub mod grant_types; // OAuth grant type names and which ones a client may hold
pub mod inbound; // Twilio webhook signatures, empty TwiML, inbound channels, who is a phone agent
pub mod json; // JSON type names for validation messages
pub mod logs; // event log: the `q` search subset, secret scrubbing, time-sorted log ids
pub mod origins; // web origins of clients' URL fields (CORS, web_message)
pub mod outbound; // the SSRF policy: which addresses outbound requests may reach; the operator's allow-list
pub mod paging; // Management API pagination: offset, totals, checkpoint; the 1000-record cap
pub mod password_policy; // Auth0 password strength levels, dictionary and personal-info checks
pub mod phone; // the one phone-number normaliser (E.164), region codes, Auth0's masking
pub mod phone_provider; // tenant phone provider configuration/credentials validation (twilio, custom)
pub mod phone_rules; // MFA phone message types must be delivery methods of the active provider
pub mod phone_templates; // phone message templates: types, built-ins per locale, Liquid validation, parse-once renderer
pub mod records; // the records storage reads and writes (users, authenticators, grants, …) as plain data
pub mod scopes; // Management API scopes and the per-endpoint requirement markers
pub mod user_profile; // profile rules: email/username formats, defaults, metadata merge
pub mod user_query; // Auth0 user search: the `q` Lucene subset parsed to an AST, `sort`, limits
