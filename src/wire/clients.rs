//! `/api/v2/clients`: the fields Auth0 gives a client created through the Management API
//! (recorded shapes). The create and patch bodies are still read field by field in
//! `service::tenant::clients` (issue 13 leaves them for a later step).

use crate::domain::grant_types;
use serde::Serialize;

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
