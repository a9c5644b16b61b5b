//! Auth0's JSON, typed: the shapes of request bodies and answers as Rust types, and the one
//! parser that turns a JSON body into them with Auth0's validation messages. The HTTP layer
//! parses with it and renders with it; the Deploy CLI's import and export (a later issue) will
//! read and write the same types, which is why they live here rather than under `http/`.
//! Nothing here does I/O or reaches storage or services: it sits just above `domain`.
//!
//! Every request body is parsed here; services take the typed result (the architecture test
//! `services_take_typed_input_and_build_no_wire_json` keeps it so, and records the few service
//! functions whose JSON is the thing itself: metadata, stored documents, Liquid variables).

pub mod action_events; // what a running Action sees (`event`) and asks for (`api` calls)
pub mod actions; // /api/v2/actions/*: actions, versions, triggers, bindings, test runs
pub mod auth_methods; // /users/{id}/authentication-methods bodies
pub mod callcenter; // the live feed's inbound event and the call-centre webhook envelope
pub mod client_grants; // /api/v2/client-grants bodies and the grant as shown
pub mod clients; // /api/v2/clients create and patch bodies, a new client's defaults
pub mod connections; // /api/v2/connections create and patch bodies
pub mod guardian; // /api/v2/guardian/*: factors, message types, policies, templates, providers
pub mod jwks; // the published JSON Web Key Set and the JWT header
pub mod logs; // typed `details` of the event-log entries callsign writes
pub mod mfa; // the MFA API's answers: associate, challenge, the authenticator list
pub mod parse; // JSON → typed input, with Auth0's "Payload validation error" messages
pub mod passwordless; // /passwordless/start's answer
pub mod phone; // the phone provider and template test send (`…/try`) and its answer
pub mod resource_servers; // /api/v2/resource-servers bodies, Auth0's defaults
pub mod roles; // /api/v2/roles and users' roles and permissions: bodies and answers
pub mod tenant; // the bootstrap credentials file, tenant settings
pub mod tickets; // /api/v2/tickets/password-change: body, what the ticket keeps, answer
pub mod users; // /api/v2/users create and patch bodies

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// For `#[serde(default, deserialize_with = "present")]`: a field given as `null` reads as
/// `Some(Value::Null)`, not as absent, so a PATCH can clear a kept-as-given field.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// For `#[serde(default, deserialize_with = "given")]`: a field given, never `null` (a `null`
/// is refused with the field's type); absent reads as `None`.
pub(crate) fn given<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// For `#[serde(default, deserialize_with = "nullable")]`: a field given, possibly as `null`
/// (`Some(None)`, which a PATCH reads as "clear"); absent reads as `None`.
pub(crate) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A wire value as JSON. The wire types hold strings, numbers, booleans, options, string-keyed
/// maps and JSON values, which always serialise; were one ever not to, it reads as `null`.
pub fn to_json(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// A wire struct as a JSON object (a stored document, a template's variables); anything that
/// is not an object reads as empty.
pub fn to_object(v: &impl Serialize) -> Map<String, Value> {
    match to_json(v) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
