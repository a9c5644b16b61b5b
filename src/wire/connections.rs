//! `/api/v2/connections` bodies: create and patch. The value rules (the name pattern, realm
//! and metadata bounds, the strategy's options) stay in `domain::connections`, which the
//! service applies to the typed body; `options` stays JSON (each strategy reads its own, and
//! the Deploy CLI round-trips many more). Also the `PATCH /connections/{id}/clients` list.

use crate::domain::connections::MAX_CLIENT_CHANGES;
use crate::domain::json::type_name;
use crate::error::Error;
use crate::wire::parse::invalid;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /api/v2/connections`: `name` and `strategy` are required; their values (the name
/// pattern, the known strategies) are checked with the other rules by
/// `domain::connections::check_body`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionCreate {
    pub name: String,
    pub strategy: String,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub options: Option<Map<String, Value>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled_clients: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub realms: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_domain_connection: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub show_as_button: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata: Option<Map<String, Value>>,
}

/// `PATCH /api/v2/connections/{id}`: a connection cannot be renamed or change strategy;
/// `display_name` and `metadata` may be cleared with `null`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub options: Option<Map<String, Value>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled_clients: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub realms: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_domain_connection: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub show_as_button: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata: Option<Option<Map<String, Value>>>,
}

/// One entry of `PATCH /connections/{id}/clients`: enable (`status: true`) or disable a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientChange {
    pub client_id: String,
    pub status: bool,
}

/// Parses a `PATCH /connections/{id}/clients` body: 1 to [`MAX_CLIENT_CHANGES`] objects with
/// exactly `client_id` (string) and `status` (boolean), in order; refusals worded as Auth0's.
pub fn client_changes(v: &Value) -> Result<Vec<ClientChange>, Error> {
    let wrong = |expected: &str, v: &Value, prop: &str| {
        invalid(format!(
            "'Expected type {expected} but found type {}' on property {prop}.",
            type_name(v)
        ))
    };
    let a = v.as_array().ok_or_else(|| wrong("array", v, "body"))?;
    if a.is_empty() {
        return Err(invalid("'Array is too short (0), minimum 1'.".into()));
    }
    if a.len() > MAX_CLIENT_CHANGES {
        return Err(invalid(format!(
            "'Array is too long ({}), maximum {MAX_CLIENT_CHANGES}'.",
            a.len()
        )));
    }
    a.iter()
        .map(|item| {
            let o = item
                .as_object()
                .ok_or_else(|| wrong("object", item, "body[]"))?;
            if let Some(k) = o.keys().find(|k| *k != "client_id" && *k != "status") {
                return Err(invalid(format!(
                    "'Additional properties not allowed: {k}'."
                )));
            }
            let id = o
                .get("client_id")
                .ok_or_else(|| invalid("'Missing required property: client_id'.".into()))?;
            let status = o
                .get("status")
                .ok_or_else(|| invalid("'Missing required property: status'.".into()))?;
            Ok(ClientChange {
                client_id: id
                    .as_str()
                    .ok_or_else(|| wrong("string", id, "client_id"))?
                    .to_string(),
                status: status
                    .as_bool()
                    .ok_or_else(|| wrong("boolean", status, "status"))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_change_lists() {
        let v = json!([{"client_id": "a", "status": true}, {"client_id": "b", "status": false}]);
        let got: Vec<(String, bool)> = client_changes(&v)
            .unwrap()
            .into_iter()
            .map(|c| (c.client_id, c.status))
            .collect();
        assert_eq!(got, vec![("a".into(), true), ("b".into(), false)]);
        assert!(client_changes(&json!([])).is_err());
        assert!(client_changes(&json!({})).is_err());
        assert!(client_changes(&json!([{"client_id": "a"}])).is_err());
        assert!(client_changes(&json!([{"client_id": "a", "status": "on"}])).is_err());
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"client_id": i.to_string(), "status": true}))
            .collect();
        assert!(client_changes(&Value::Array(many)).is_err());
    }
}
