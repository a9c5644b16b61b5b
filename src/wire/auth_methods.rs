//! `/api/v2/users/{id}/authentication-methods` bodies: one method to enrol (POST, and each
//! item of a PUT) and the PATCH of one. Which property each type needs, phone normalisation
//! and TOTP secret decoding stay with the service (`mfa::auth_method_input`), which words its
//! refusals as Auth0 does.

use crate::domain::json::type_name;
use crate::error::Error;
use crate::wire::parse::invalid;
use serde::Deserialize;
use serde_json::Value;

/// A method to enrol. `type` is checked by the service (some known types cannot be created
/// here, with their own message).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodBody {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub preferred_authentication_method: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub totp_secret: Option<String>,
}

impl MethodBody {
    /// The type-specific properties given (not `null`), by name.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("phone_number", self.phone_number.is_some()),
            (
                "preferred_authentication_method",
                self.preferred_authentication_method.is_some(),
            ),
            ("email", self.email.is_some()),
            ("totp_secret", self.totp_secret.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect()
    }
}

/// `PATCH …/authentication-methods/{id}`: `name` (`null` clears it) and, for phones,
/// `preferred_authentication_method`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodPatch {
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub preferred_authentication_method: Option<Option<String>>,
}

/// Most items a `PUT …/authentication-methods` can carry: one per kind it can express.
pub const MAX_PUT_ITEMS: usize = 3;

/// A `PUT …/authentication-methods` body: an array of at most [`MAX_PUT_ITEMS`] POST-shaped
/// items, each checked in order (the array's own bounds first, as Auth0's schema does).
pub fn method_list(body: Value) -> Result<Vec<MethodBody>, Error> {
    let Value::Array(items) = body else {
        return Err(invalid(format!(
            "'Expected type array but found type {}'.",
            type_name(&body)
        )));
    };
    if items.len() > MAX_PUT_ITEMS {
        return Err(invalid(format!(
            "'Array is too long ({}), maximum {MAX_PUT_ITEMS}'.",
            items.len()
        )));
    }
    items
        .into_iter()
        .map(|item| {
            if !item.is_object() {
                return Err(invalid(format!(
                    "'Expected type object but found type {}' on array item.",
                    type_name(&item)
                )));
            }
            super::parse::parse(item).map_err(invalid)
        })
        .collect()
}
