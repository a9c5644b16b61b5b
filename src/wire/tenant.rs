//! The tenant's own documents: the bootstrap credentials file (`<data dir>/bootstrap-client.json`,
//! the operator interface of docs/operator.md) and the tenant settings (`/api/v2/tenants/settings`:
//! a new tenant's defaults and the PATCH body).

use super::present;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// The admin application's credentials, written once at first start (mode 0600). Fields in
/// alphabetical order, as the file has always had them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BootstrapCredentials<'a> {
    pub audience: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub issuer: &'a str,
}

/// The tenant settings a new tenant starts with (`GET /api/v2/tenants/settings`). The stored
/// document keeps any further field a PATCH set; these are only the first ones.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsDefaults<'a> {
    pub friendly_name: &'a str,
    pub picture_url: &'static str,
    pub support_email: &'static str,
    pub support_url: &'static str,
    pub allowed_logout_urls: [&'static str; 0],
    pub session_lifetime: u32,
    pub idle_session_lifetime: u32,
    pub sandbox_version: &'static str,
    pub enabled_locales: [&'static str; 1],
    pub default_directory: &'static str,
    pub flags: Flags,
    pub universal_login: Empty,
    pub error_page: Empty,
}

/// `flags` as a new tenant has them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Flags {
    pub enable_client_connections: bool,
    pub revoke_refresh_token_grant: bool,
    pub disable_clickjack_protection_headers: bool,
}

/// An empty JSON object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Empty {}

impl<'a> SettingsDefaults<'a> {
    pub fn new(friendly_name: &'a str) -> Self {
        SettingsDefaults {
            friendly_name,
            picture_url: "",
            support_email: "",
            support_url: "",
            allowed_logout_urls: [],
            session_lifetime: 168,
            idle_session_lifetime: 72,
            sandbox_version: "22",
            enabled_locales: ["en"],
            default_directory: "Username-Password-Authentication",
            flags: Flags::default(),
            universal_login: Empty {},
            error_page: Empty {},
        }
    }
}

/// `PATCH /api/v2/tenants/settings`: each field Auth0 knows, typed; `null` clears a field
/// (`Some(None)`), absence leaves it. Unknown fields are refused. Fields whose content
/// callsign does not interpret stay JSON.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub friendly_name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub picture_url: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub support_email: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub support_url: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_audience: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_directory: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub sandbox_version: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_redirection_uri: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_lifetime: Option<Number>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub idle_session_lifetime: Option<Number>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub ephemeral_session_lifetime: Option<Number>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub idle_ephemeral_session_lifetime: Option<Number>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_logout_urls: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled_locales: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub acr_values_supported: Option<Vec<String>>,
    /// Merged key by key into the stored flags, as Auth0 does.
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub flags: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_cookie: Option<Option<SessionCookie>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub sessions: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub universal_login: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_page: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub change_password: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub guardian_mfa_page: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_flow: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub oidc_logout: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub mtls: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_token_quota: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub legacy_sandbox_version: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub customize_mfa_in_postlogin_action: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_organization_name_in_authentication_api: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub pushed_authorization_requests_supported: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub authorization_response_iss_parameter_supported: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub mfa_show_factor_list_on_enrollment: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub sandbox_versions_available: Option<Value>,
}

/// `session_cookie`: its `mode` is one of two; other keys are kept as given.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SessionCookie {
    pub mode: CookieMode,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CookieMode {
    Persistent,
    NonPersistent,
}

/// The bootstrap admin application, as a `/api/v2/clients` body.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapClient {
    pub name: &'static str,
    pub app_type: &'static str,
    pub grant_types: [&'static str; 1],
    pub description: &'static str,
}
