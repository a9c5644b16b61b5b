//! Multi-factor authentication: the one "does this login need MFA" policy (where a post-login
//! Action will decide), the sealed `mfa_token`, the MFA API, one-time codes and their HMAC keys,
//! recovery codes, operators' factor administration, Guardian enrolments and configuration.

pub mod admin; // operators managing a user's MFA factors; `sync_multifactor`
pub mod api; // the MFA API: associate, challenge, list and remove authenticators
pub mod auth_method_input; // validation of operator-enrolled authentication methods
pub mod codes; // one-time and recovery codes: CSPRNG, HMAC under rotatable keys, constant-time checks
pub mod enrollments; // Guardian enrolments (list, get, delete) and enrolment tickets
pub mod guardian; // tenant MFA configuration: factors, message types, policies, templates
pub mod otp; // one-time codes by SMS/voice: buckets, attempts, one-winner consumption
pub mod policy; // the one "does this login need MFA" decision
pub mod recovery_codes; // operator-issued recovery codes, stored only as HMACs
pub mod store_phone; // MFA phones a custom database owns: enrolled and re-enrolled at login
pub mod token; // the sealed, short-lived mfa_token
