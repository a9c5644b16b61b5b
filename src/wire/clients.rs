//! `/api/v2/clients`: the create and patch body, and the fields Auth0 gives a client created
//! through the Management API (recorded shapes). The rules across fields (a non-empty name,
//! known grant types, string metadata values, the secret's length) stay with the service.

use crate::domain::grant_types;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A new client's defaults, before the body's fields are laid over them.
#[derive(Debug, Clone, Serialize)]
pub struct ClientDefaults {
    pub is_first_party: bool,
    pub is_token_endpoint_ip_header_trusted: bool,
    pub oidc_conformant: bool,
    pub sso_disabled: bool,
    pub cross_origin_authentication: bool,
    pub custom_login_page_on: bool,
    pub callbacks: [&'static str; 0],
    pub allowed_origins: [&'static str; 0],
    pub web_origins: [&'static str; 0],
    pub allowed_logout_urls: [&'static str; 0],
    pub client_aliases: [&'static str; 0],
    pub allowed_clients: [&'static str; 0],
    pub grant_types: &'static [&'static str],
    pub token_endpoint_auth_method: &'static str,
    pub jwt_configuration: JwtConfiguration,
    pub refresh_token: RefreshTokenPolicy,
}

/// `jwt_configuration`: how ID tokens are signed and how long they live.
#[derive(Debug, Clone, Serialize)]
pub struct JwtConfiguration {
    pub alg: &'static str,
    pub lifetime_in_seconds: u32,
    pub secret_encoded: bool,
}

/// `refresh_token`: Auth0's refresh-token policy of a new client.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshTokenPolicy {
    pub expiration_type: &'static str,
    pub leeway: u32,
    pub infinite_token_lifetime: bool,
    pub infinite_idle_token_lifetime: bool,
    pub token_lifetime: u32,
    pub idle_token_lifetime: u32,
    pub rotation_type: &'static str,
}

impl Default for ClientDefaults {
    fn default() -> Self {
        ClientDefaults {
            is_first_party: true,
            is_token_endpoint_ip_header_trusted: false,
            oidc_conformant: true,
            sso_disabled: false,
            cross_origin_authentication: false,
            custom_login_page_on: true,
            callbacks: [],
            allowed_origins: [],
            web_origins: [],
            allowed_logout_urls: [],
            client_aliases: [],
            allowed_clients: [],
            grant_types: grant_types::CREATE_DEFAULTS,
            token_endpoint_auth_method: "client_secret_post",
            jwt_configuration: JwtConfiguration {
                alg: "RS256",
                lifetime_in_seconds: 36000,
                secret_encoded: false,
            },
            refresh_token: RefreshTokenPolicy {
                expiration_type: "non-expiring",
                leeway: 0,
                infinite_token_lifetime: true,
                infinite_idle_token_lifetime: true,
                token_lifetime: 2_592_000,
                idle_token_lifetime: 1_296_000,
                rotation_type: "non-rotating",
            },
        }
    }
}

/// `POST /api/v2/clients` and `PATCH /api/v2/clients/{id}`: every property Auth0 accepts,
/// typed; read-only ones (`client_id`, `tenant`, `global`, `signing_keys`) are refused like any
/// unknown property. `null` clears a string or object property; lists, booleans and `name` are
/// never `null`. Objects callsign does not interpret stay JSON. The body is stored as given
/// (`wire::to_object`), over [`ClientDefaults`] on create.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub callbacks: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub web_origins: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_aliases: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_clients: Option<Vec<String>>,
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
    pub grant_types: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_first_party: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub oidc_conformant: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub sso: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub sso_disabled: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub cross_origin_authentication: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_login_page_on: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_token_endpoint_ip_header_trusted: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub require_pushed_authorization_requests: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub require_proof_of_possession: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_url_template: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub skip_non_verifiable_callback_uri_confirmation_prompt: Option<bool>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub logo_uri: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_login_page: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_login_page_preview: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub form_template: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub initiate_login_uri: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub cross_origin_loc: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization_usage: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization_require_behavior: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub compliance_level: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub jwt_configuration: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub encryption_key: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub addons: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_metadata: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub mobile: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub native_social_login: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_token: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_organization: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_authentication_methods: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub signed_request_object: Option<Option<Map<String, Value>>>,
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
    pub oidc_backchannel_logout: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_transfer: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_quota: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub express_configuration: Option<Option<Map<String, Value>>>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_type: Option<AppType>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_endpoint_auth_method: Option<AuthMethod>,
    #[serde(
        default,
        deserialize_with = "super::given",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_secret: Option<String>,
    #[serde(
        default,
        deserialize_with = "super::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub par_request_expiry: Option<Option<i64>>,
}

/// `app_type`: Auth0's application types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum AppType {
    #[serde(rename = "native")]
    Native,
    #[serde(rename = "spa")]
    Spa,
    #[serde(rename = "regular_web")]
    RegularWeb,
    #[serde(rename = "non_interactive")]
    NonInteractive,
    #[serde(rename = "resource_server")]
    ResourceServer,
    #[serde(rename = "express_configuration")]
    ExpressConfiguration,
    #[serde(rename = "rms")]
    Rms,
    #[serde(rename = "box")]
    Box,
    #[serde(rename = "cloudbees")]
    Cloudbees,
    #[serde(rename = "concur")]
    Concur,
    #[serde(rename = "dropbox")]
    Dropbox,
    #[serde(rename = "mscrm")]
    Mscrm,
    #[serde(rename = "echosign")]
    Echosign,
    #[serde(rename = "egnyte")]
    Egnyte,
    #[serde(rename = "newrelic")]
    Newrelic,
    #[serde(rename = "office365")]
    Office365,
    #[serde(rename = "salesforce")]
    Salesforce,
    #[serde(rename = "sentry")]
    Sentry,
    #[serde(rename = "sharepoint")]
    Sharepoint,
    #[serde(rename = "slack")]
    Slack,
    #[serde(rename = "springcm")]
    Springcm,
    #[serde(rename = "zendesk")]
    Zendesk,
    #[serde(rename = "zoom")]
    Zoom,
    #[serde(rename = "sso_integration")]
    SsoIntegration,
    #[serde(rename = "oag")]
    Oag,
}

/// `token_endpoint_auth_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum AuthMethod {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "client_secret_post")]
    ClientSecretPost,
    #[serde(rename = "client_secret_basic")]
    ClientSecretBasic,
}
