//! `/api/v2/client-grants` bodies and the grant as Auth0 shows it. The grant's options
//! (organization use, subject type, authorization details, all scopes) are typed here and
//! stored as given; `scope` is a set (duplicates dropped by the service, order kept).

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OrganizationUsage {
    Deny,
    Allow,
    Require,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SubjectType {
    Client,
    User,
}

/// The options a grant carries besides its client, audience and scope.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GrantOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_usage: Option<OrganizationUsage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_any_organization: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<SubjectType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details_types: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_all_scopes: Option<bool>,
}

/// `POST /client-grants`. (The options are spelled out rather than flattened: serde cannot
/// refuse unknown fields through a flattened struct.)
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Create {
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
    #[serde(default)]
    pub organization_usage: Option<OrganizationUsage>,
    #[serde(default)]
    pub allow_any_organization: Option<bool>,
    #[serde(default)]
    pub subject_type: Option<SubjectType>,
    #[serde(default)]
    pub authorization_details_types: Option<Vec<Value>>,
    #[serde(default)]
    pub allow_all_scopes: Option<bool>,
}

/// `PATCH /client-grants/{id}`: a new scope and/or options (given ones replace stored ones).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    #[serde(default)]
    pub scope: Option<Vec<String>>,
    #[serde(default)]
    pub organization_usage: Option<OrganizationUsage>,
    #[serde(default)]
    pub allow_any_organization: Option<bool>,
    #[serde(default)]
    pub subject_type: Option<SubjectType>,
    #[serde(default)]
    pub authorization_details_types: Option<Vec<Value>>,
    #[serde(default)]
    pub allow_all_scopes: Option<bool>,
}

impl Create {
    pub fn options(&self) -> GrantOptions {
        GrantOptions {
            organization_usage: self.organization_usage,
            allow_any_organization: self.allow_any_organization,
            subject_type: self.subject_type,
            authorization_details_types: self.authorization_details_types.clone(),
            allow_all_scopes: self.allow_all_scopes,
        }
    }
}

impl Patch {
    pub fn options(&self) -> GrantOptions {
        GrantOptions {
            organization_usage: self.organization_usage,
            allow_any_organization: self.allow_any_organization,
            subject_type: self.subject_type,
            authorization_details_types: self.authorization_details_types.clone(),
            allow_all_scopes: self.allow_all_scopes,
        }
    }
}

/// A grant on the wire. `subject_type` reads `client` when none was stored (Auth0's default).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClientGrant {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
    pub subject_type: SubjectType,
    #[serde(flatten)]
    pub options: GrantOptions,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse::parse;
    use serde_json::json;

    #[test]
    fn bodies() {
        let c: Create = parse(json!({"client_id": "c", "audience": "a", "scope": ["x"], "organization_usage": "allow"})).unwrap();
        assert_eq!(
            Value::Object(crate::wire::to_object(&c.options())),
            json!({"organization_usage": "allow"})
        );
        assert_eq!(
            parse::<Create>(json!({"client_id": "c", "audience": "a", "scope": "x"})).unwrap_err(),
            "'Expected type array but found type string' on property scope."
        );
        assert_eq!(
            parse::<Patch>(json!({"subject_type": "robot"})).unwrap_err(),
            "'No enum match for: \"robot\"' on property subject_type."
        );
        assert_eq!(
            parse::<Patch>(json!({"audience": "x"})).unwrap_err(),
            "'Additional properties not allowed: audience'."
        );
    }
}
