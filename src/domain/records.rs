//! The records storage reads and writes, as plain data: a user, an authenticator, a client
//! grant, a connection, a resource server, a phone provider, an event-log entry, and the
//! listing filters. They live in the domain (not in `store`) so that every layer can name
//! them — the HTTP layer renders them, services change them — without reaching storage;
//! `store` re-exports each beside the table functions that read and write it.

/// The one tenant this server hosts (Auth0's `tenant` field in wire shapes).
pub const TENANT_ID: &str = "default";

#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticatorRow {
    pub id: String,
    pub user_id: String,
    /// `phone`, `totp`, `recovery-code`, `email`.
    pub kind: String,
    pub confirmed: bool,
    pub name: Option<String>,
    pub phone_number: Option<String>,
    /// `sms` or `voice` for phones.
    pub preferred_method: Option<String>,
    pub secret: Option<String>,
    pub key_id: Option<String>,
    pub created_at: i64,
    pub enrolled_at: Option<i64>,
    pub last_auth_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct GrantRow {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Default, Clone)]
pub struct GrantFilter {
    pub audience: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub id: String,
    pub name: String,
    pub strategy: String,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Default, Clone)]
pub struct ConnectionFilter {
    /// Any of these strategies; empty means all.
    pub strategies: Vec<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub log_id: String,
    pub date: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub connection: Option<String>,
    pub ip: Option<String>,
    pub data: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct ProviderRow {
    pub id: String,
    pub name: String,
    pub disabled: bool,
    pub configuration: serde_json::Map<String, serde_json::Value>,
    pub credentials_sealed: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A role (Auth0 RBAC): a named bundle of permissions.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One permission: a scope an API (resource server) defines, by the API's identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PermissionRef {
    pub resource_server_identifier: String,
    pub permission_name: String,
}

/// A permission a user holds, with where it comes from: `None` directly, or the role.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldPermission {
    pub permission: PermissionRef,
    pub via_role: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct ResourceServerRow {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub is_system: bool,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub user_id: String,
    pub connection_id: String,
    pub connection: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub phone_verified: bool,
    pub username: Option<String>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub blocked: bool,
    pub password_hash: Option<String>,
    pub logins_count: i64,
    pub last_login: Option<i64>,
    pub last_ip: Option<String>,
    pub last_password_reset: Option<i64>,
    pub app_metadata: serde_json::Map<String, serde_json::Value>,
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
    /// Other attributes (multifactor, identities' extra fields) as a JSON object.
    pub data: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
    /// `phone_number` when it is a login identifier in its connection, else `None`; unique
    /// per connection (set by `service::users::manage`, see migration 0011).
    pub phone_identifier: Option<String>,
}

/// An Action's draft (`store::actions`). `data` holds the wire properties callsign keeps as
/// given (`supported_triggers`, `dependencies`, `runtime`, `modules`); `secrets_sealed` is the
/// sealed JSON list `[{name, value, updated_at}]`.
#[derive(Debug, Clone)]
pub struct ActionRow {
    pub id: String,
    pub name: String,
    pub trigger_id: String,
    pub code: String,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub secrets_sealed: String,
    pub deployed_version: Option<i64>,
    pub all_changes_deployed: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A deployed snapshot of an Action (immutable).
#[derive(Debug, Clone)]
pub struct ActionVersionRow {
    pub id: String,
    pub action_id: String,
    pub number: i64,
    pub code: String,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub secrets_sealed: String,
    pub created_at: i64,
}

/// An Action bound to a trigger, at `position` in the trigger's order.
#[derive(Debug, Clone)]
pub struct ActionBindingRow {
    pub id: String,
    pub trigger_id: String,
    pub position: i64,
    pub action_id: String,
    pub display_name: String,
    pub created_at: i64,
    pub updated_at: i64,
}
