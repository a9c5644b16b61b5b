//! What a running Action sees and what it asks for, in Auth0's shapes: the `event` object of
//! each trigger (serialised into the sandbox as JSON) and the `api` calls the sandbox recorded
//! (`{op, args}` in call order), read back into typed commands per trigger. A call the trigger
//! does not offer, or one with arguments of the wrong type, is an error naming the call, as
//! Node would throw a `TypeError` for it; the runner reports it as the Action's failure.

use crate::clock::iso;
use crate::domain::records::{AuthenticatorRow, UserRow};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `event.user` (post-login, registration, phone triggers).
#[derive(Debug, Clone, Serialize, Default)]
pub struct User {
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    pub phone_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_password_reset: Option<String>,
    pub app_metadata: Map<String, Value>,
    pub user_metadata: Map<String, Value>,
    pub identities: Vec<Identity>,
    /// Auth0's legacy list of enrolled MFA providers (`["guardian"]`).
    pub multifactor: Vec<String>,
    #[serde(rename = "enrolledFactors")]
    pub enrolled_factors: Vec<EnrolledFactor>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub connection: String,
    pub provider: String,
    pub user_id: String,
    #[serde(rename = "isSocial")]
    pub is_social: bool,
}

/// One entry of `event.user.enrolledFactors`: `phone` (with `options.preferredMethod`),
/// `otp` or `recovery-code`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EnrolledFactor {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

/// `event.client`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub metadata: Map<String, Value>,
}

/// `event.connection`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Connection {
    pub id: String,
    pub name: String,
    pub strategy: String,
    pub metadata: Map<String, Value>,
}

/// `event.request`. `geoip` is empty: callsign has no geolocation database.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Request {
    pub ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub geoip: Map<String, Value>,
    pub query: Map<String, Value>,
    pub body: Map<String, Value>,
}

/// `event.transaction` (post-login, credentials-exchange, pre-user-registration).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Transaction {
    pub id: String,
    pub locale: String,
    pub protocol: String,
    pub requested_scopes: Vec<String>,
    pub correlation_id: Option<String>,
}

/// `event.authentication.methods[]`.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    pub name: String,
    pub timestamp: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Authentication {
    pub methods: Vec<Method>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Authorization {
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Tenant {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Stats {
    pub logins_count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceServer {
    pub identifier: String,
}

/// The post-login `event`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PostLogin {
    pub user: User,
    pub client: Client,
    pub connection: Connection,
    pub request: Request,
    pub transaction: Transaction,
    pub authentication: Authentication,
    pub authorization: Authorization,
    pub tenant: Tenant,
    pub stats: Stats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_server: Option<ResourceServer>,
    pub secrets: BTreeMap<String, String>,
}

/// The credentials-exchange `event` (client_credentials grant).
#[derive(Debug, Clone, Serialize, Default)]
pub struct CredentialsExchange {
    pub client: Client,
    pub request: Request,
    pub transaction: Transaction,
    pub tenant: Tenant,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_server: Option<ResourceServer>,
    #[serde(rename = "accessToken")]
    pub access_token: AccessTokenView,
    pub secrets: BTreeMap<String, String>,
}

/// `event.accessToken` of credentials-exchange: the scopes about to be granted.
#[derive(Debug, Clone, Serialize, Default)]
pub struct AccessTokenView {
    pub scope: Vec<String>,
    #[serde(rename = "customClaims")]
    pub custom_claims: Map<String, Value>,
}

/// The pre- and post-user-registration `event`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Registration {
    pub user: User,
    pub connection: Connection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    pub request: Request,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<Transaction>,
    pub tenant: Tenant,
    pub secrets: BTreeMap<String, String>,
}

/// `event.notification` of custom-phone-provider (the Unified Phone Experience).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Notification {
    /// `otp_verify`, `otp_enroll`, `blocked_account`, `change_password`, `password_breach`.
    pub message_type: String,
    /// `text` or `voice`.
    pub delivery_method: String,
    pub as_text: String,
    pub as_voice: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    pub recipient: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// The custom-phone-provider `event`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PhoneProvider {
    pub notification: Notification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    pub tenant: Tenant,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    pub secrets: BTreeMap<String, String>,
}

/// `event.message_options` of the legacy send-phone-message trigger.
#[derive(Debug, Clone, Serialize, Default)]
pub struct MessageOptions {
    pub recipient: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `sms` or `voice`.
    pub message_type: String,
    /// `enrollment` or `second-factor-authentication`.
    pub action: String,
}

/// The send-phone-message `event`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SendPhoneMessage {
    pub message_options: MessageOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    pub tenant: Tenant,
    pub secrets: BTreeMap<String, String>,
}

impl User {
    /// `event.user` of a stored user and their authenticators (confirmed ones only; a phone
    /// says how it prefers to be reached, as Auth0's `enrolledFactors` entries do).
    pub fn of(u: &UserRow, factors: &[AuthenticatorRow]) -> User {
        let (provider, id) = u.user_id.split_once('|').unwrap_or(("auth0", &u.user_id));
        let enrolled_factors: Vec<EnrolledFactor> = factors
            .iter()
            .filter(|a| a.confirmed)
            .map(|a| EnrolledFactor {
                kind: match a.kind.as_str() {
                    "totp" => "otp".to_string(),
                    k => k.to_string(),
                },
                options: (a.kind == "phone").then(|| {
                    serde_json::json!({
                        "preferredMethod": a.preferred_method.as_deref().unwrap_or("sms")
                    })
                }),
            })
            .collect();
        let multifactor = if enrolled_factors.iter().any(|f| f.kind != "recovery-code") {
            vec!["guardian".to_string()]
        } else {
            vec![]
        };
        User {
            user_id: u.user_id.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            username: u.username.clone(),
            phone_number: u.phone_number.clone(),
            phone_verified: u.phone_verified,
            name: u.name.clone(),
            nickname: u.nickname.clone(),
            given_name: u.given_name.clone(),
            family_name: u.family_name.clone(),
            picture: u.picture.clone(),
            created_at: iso(u.created_at),
            updated_at: iso(u.updated_at),
            last_password_reset: u.last_password_reset.map(iso),
            app_metadata: u.app_metadata.clone(),
            user_metadata: u.user_metadata.clone(),
            identities: vec![Identity {
                connection: u.connection.clone(),
                provider: provider.to_string(),
                user_id: id.to_string(),
                is_social: false,
            }],
            multifactor,
            enrolled_factors,
        }
    }
}

/// The `api` methods each trigger offers (besides `api.cache`), as the sandbox's recorder
/// exposes them; a call to any other throws a `TypeError` in the script, as in Node.
pub const POST_LOGIN_OPS: &[&str] = &[
    "access.deny",
    "multifactor.enable",
    "authentication.challengeWith",
    "authentication.challengeWithAny",
    "authentication.enrollWith",
    "authentication.enrollWithAny",
    "idToken.setCustomClaim",
    "accessToken.setCustomClaim",
    "accessToken.addScope",
    "accessToken.removeScope",
    "user.setAppMetadata",
    "user.setUserMetadata",
    "redirect.sendUserTo",
];
pub const CREDENTIALS_EXCHANGE_OPS: &[&str] = &["access.deny", "accessToken.setCustomClaim"];
pub const PRE_REGISTRATION_OPS: &[&str] = &[
    "access.deny",
    "validation.error",
    "user.setAppMetadata",
    "user.setUserMetadata",
];
pub const POST_REGISTRATION_OPS: &[&str] = &[];
pub const POST_CHANGE_PASSWORD_OPS: &[&str] = &[];
pub const PHONE_PROVIDER_OPS: &[&str] = &["notification.drop", "notification.retry"];
pub const SEND_PHONE_MESSAGE_OPS: &[&str] = &[];

/// One `api` call as the sandbox recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recorded {
    pub op: String,
    #[serde(default)]
    pub args: Vec<Value>,
}

/// An MFA factor named by `challengeWith` / `enrollWith`: `{type, options?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub kind: String,
    /// For `phone`: `preferredMethod` (`sms`, `voice` or `both`).
    pub preferred_method: Option<String>,
}

/// What a post-login Action asked for, in call order.
#[derive(Debug, Clone, PartialEq)]
pub enum PostLoginCommand {
    Deny(String),
    /// `api.multifactor.enable(provider, {allowRememberBrowser})`.
    Multifactor {
        provider: String,
        /// `allowRememberBrowser` (Auth0's default: false).
        allow_remember_browser: bool,
    },
    /// `challengeWith` (one factor + `additionalFactors`) or `challengeWithAny`.
    Challenge(Vec<Factor>),
    /// `enrollWith` or `enrollWithAny`.
    Enroll(Vec<Factor>),
    IdTokenClaim(String, Value),
    AccessTokenClaim(String, Value),
    AddScope(String),
    RemoveScope(String),
    /// `null` deletes the key.
    AppMetadata(String, Value),
    UserMetadata(String, Value),
    /// `api.redirect.sendUserTo(url, {query})`: an absolute http(s) URL and the query
    /// parameters to add (the login's `state` is added too).
    Redirect {
        url: String,
        query: Vec<(String, String)>,
    },
}

/// What a credentials-exchange Action asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum CredentialsCommand {
    /// `api.access.deny(code, reason)`; `code` is `invalid_scope`, `invalid_request` or
    /// `server_error` (a lone argument is the reason, answered as `access_denied`).
    Deny {
        code: Option<String>,
        reason: String,
    },
    AccessTokenClaim(String, Value),
}

/// What a pre-user-registration Action asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistrationCommand {
    /// `api.access.deny(reason, userMessage)` and `api.validation.error(code, message)`:
    /// (the log's reason, what the user is told).
    Deny {
        reason: String,
        user_message: String,
    },
    AppMetadata(String, Value),
    UserMetadata(String, Value),
}

/// What a custom-phone-provider Action asked for (`api.notification.*`; the last call wins).
#[derive(Debug, Clone, PartialEq)]
pub enum NotificationCommand {
    /// A permanent failure: logged, never retried.
    Drop(String),
    /// A transient failure: retried by the outbox.
    Retry(String),
}

/// Auth0 truncates notification reasons to this many characters.
const REASON_CHARS: usize = 1024;

fn str_arg(r: &Recorded, i: usize, what: &str) -> Result<String, String> {
    match r.args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(format!("api.{}: {what} must be a string", r.op)),
    }
}

fn opt_str_arg(r: &Recorded, i: usize) -> Option<String> {
    r.args.get(i).and_then(Value::as_str).map(str::to_string)
}

fn any_arg(r: &Recorded, i: usize) -> Value {
    r.args.get(i).cloned().unwrap_or(Value::Null)
}

fn factor(v: &Value, op: &str) -> Result<Factor, String> {
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("api.{op}: a factor must be an object with a string `type`"))?;
    Ok(Factor {
        kind: kind.to_string(),
        preferred_method: v
            .pointer("/options/preferredMethod")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// `challengeWith(factor, {additionalFactors})` → the factor then the additional ones;
/// `challengeWithAny([factors])` → the list.
fn factors(r: &Recorded, any: bool) -> Result<Vec<Factor>, String> {
    if any {
        let list = r
            .args
            .first()
            .and_then(Value::as_array)
            .ok_or_else(|| format!("api.{}: factors must be an array", r.op))?;
        return list.iter().map(|f| factor(f, &r.op)).collect();
    }
    let mut out = vec![factor(&any_arg(r, 0), &r.op)?];
    if let Some(more) = r
        .args
        .get(1)
        .and_then(|o| o.get("additionalFactors"))
        .and_then(Value::as_array)
    {
        for f in more {
            out.push(factor(f, &r.op)?);
        }
    }
    Ok(out)
}

fn unknown(r: &Recorded, trigger: &str) -> String {
    format!("api.{} is not a function in the {trigger} trigger", r.op)
}

impl PostLoginCommand {
    pub fn read(r: &Recorded) -> Result<Self, String> {
        Ok(match r.op.as_str() {
            "access.deny" => Self::Deny(str_arg(r, 0, "reason")?),
            "redirect.sendUserTo" => {
                let url = str_arg(r, 0, "url")?;
                match url::Url::parse(&url) {
                    Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {}
                    _ => {
                        return Err(format!(
                            "api.redirect.sendUserTo: {url} is not an absolute http(s) URL"
                        ));
                    }
                }
                let query = match r.args.get(1).and_then(|o| o.get("query")) {
                    None | Some(Value::Null) => vec![],
                    Some(Value::Object(m)) => m
                        .iter()
                        .map(|(k, v)| {
                            let v = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                    Some(_) => {
                        return Err(
                            "api.redirect.sendUserTo: options.query must be an object".into()
                        );
                    }
                };
                Self::Redirect { url, query }
            }
            "multifactor.enable" => Self::Multifactor {
                provider: str_arg(r, 0, "provider")?,
                allow_remember_browser: r
                    .args
                    .get(1)
                    .and_then(|o| o.get("allowRememberBrowser"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            "authentication.challengeWith" => Self::Challenge(factors(r, false)?),
            "authentication.challengeWithAny" => Self::Challenge(factors(r, true)?),
            "authentication.enrollWith" => Self::Enroll(factors(r, false)?),
            "authentication.enrollWithAny" => Self::Enroll(factors(r, true)?),
            "idToken.setCustomClaim" => Self::IdTokenClaim(str_arg(r, 0, "name")?, any_arg(r, 1)),
            "accessToken.setCustomClaim" => {
                Self::AccessTokenClaim(str_arg(r, 0, "name")?, any_arg(r, 1))
            }
            "accessToken.addScope" => Self::AddScope(str_arg(r, 0, "scope")?),
            "accessToken.removeScope" => Self::RemoveScope(str_arg(r, 0, "scope")?),
            "user.setAppMetadata" => Self::AppMetadata(str_arg(r, 0, "name")?, any_arg(r, 1)),
            "user.setUserMetadata" => Self::UserMetadata(str_arg(r, 0, "name")?, any_arg(r, 1)),
            _ => return Err(unknown(r, "post-login")),
        })
    }
}

impl CredentialsCommand {
    pub fn read(r: &Recorded) -> Result<Self, String> {
        Ok(match r.op.as_str() {
            "access.deny" => match (opt_str_arg(r, 0), opt_str_arg(r, 1)) {
                (Some(code), Some(reason)) => Self::Deny {
                    code: Some(code),
                    reason,
                },
                (Some(reason), None) => Self::Deny { code: None, reason },
                _ => return Err(format!("api.{}: reason must be a string", r.op)),
            },
            "accessToken.setCustomClaim" => {
                Self::AccessTokenClaim(str_arg(r, 0, "name")?, any_arg(r, 1))
            }
            _ => return Err(unknown(r, "credentials-exchange")),
        })
    }
}

impl RegistrationCommand {
    pub fn read(r: &Recorded) -> Result<Self, String> {
        Ok(match r.op.as_str() {
            "access.deny" => {
                let reason = str_arg(r, 0, "reason")?;
                Self::Deny {
                    user_message: opt_str_arg(r, 1).unwrap_or_else(|| reason.clone()),
                    reason,
                }
            }
            "validation.error" => {
                let code = str_arg(r, 0, "code")?;
                Self::Deny {
                    user_message: opt_str_arg(r, 1).unwrap_or_else(|| code.clone()),
                    reason: code,
                }
            }
            "user.setAppMetadata" => Self::AppMetadata(str_arg(r, 0, "name")?, any_arg(r, 1)),
            "user.setUserMetadata" => Self::UserMetadata(str_arg(r, 0, "name")?, any_arg(r, 1)),
            _ => return Err(unknown(r, "pre-user-registration")),
        })
    }
}

/// post-user-registration, post-change-password and send-phone-message offer no `api` method
/// (Auth0's have only the cache), so nothing they record is valid.
#[derive(Debug, Clone, PartialEq)]
pub enum NoCommand {}

impl NoCommand {
    pub fn read(r: &Recorded) -> Result<Self, String> {
        Err(unknown(r, "this"))
    }
}

impl NotificationCommand {
    pub fn read(r: &Recorded) -> Result<Self, String> {
        let reason = || -> String {
            opt_str_arg(r, 0)
                .unwrap_or_default()
                .chars()
                .take(REASON_CHARS)
                .collect()
        };
        Ok(match r.op.as_str() {
            "notification.drop" => Self::Drop(reason()),
            "notification.retry" => Self::Retry(reason()),
            _ => return Err(unknown(r, "custom-phone-provider")),
        })
    }
}

/// Claims an Action may not set, as Auth0 lists them: the registered JWT and OIDC claims and
/// those callsign itself sets. Auth0 ignores them silently; so does callsign (and logs it).
pub const RESTRICTED_CLAIMS: &[&str] = &[
    "acr",
    "act",
    "active",
    "amr",
    "at_hash",
    "ath",
    "attest",
    "aud",
    "auth_time",
    "authorization_details",
    "azp",
    "c_hash",
    "client_id",
    "cnf",
    "cnonce",
    "gty",
    "iat",
    "iss",
    "jti",
    "may_act",
    "nbf",
    "nonce",
    "org_id",
    "org_name",
    "permissions",
    "scope",
    "sid",
    "sub",
    "sub_jwk",
    "exp",
    "email",
    "email_verified",
    "name",
    "nickname",
    "picture",
    "given_name",
    "family_name",
    "phone_number",
    "phone_number_verified",
    "updated_at",
    "username",
];

/// Whether an Action may set this claim: not a restricted name and not in Auth0's own
/// namespaces (`https://*.auth0.com/`, `auth0.com`, `webtask.io`, `webtask.run`).
pub fn claim_allowed(name: &str) -> bool {
    if name.is_empty() || RESTRICTED_CLAIMS.contains(&name) {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    let host = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .map(|r| r.split('/').next().unwrap_or(""));
    match host {
        Some(h) => !["auth0.com", "webtask.io", "webtask.run"]
            .iter()
            .any(|d| h == *d || h.ends_with(&format!(".{d}"))),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(op: &str, args: Value) -> Recorded {
        serde_json::from_value(json!({"op": op, "args": args})).unwrap()
    }

    #[test]
    fn post_login_commands_read_back() {
        assert_eq!(
            PostLoginCommand::read(&rec("multifactor.enable", json!(["any", {}]))),
            Ok(PostLoginCommand::Multifactor {
                provider: "any".into(),
                allow_remember_browser: false
            })
        );
        assert_eq!(
            PostLoginCommand::read(&rec(
                "authentication.challengeWith",
                json!([{"type": "phone", "options": {"preferredMethod": "voice"}},
                       {"additionalFactors": [{"type": "otp"}]}])
            )),
            Ok(PostLoginCommand::Challenge(vec![
                Factor {
                    kind: "phone".into(),
                    preferred_method: Some("voice".into())
                },
                Factor {
                    kind: "otp".into(),
                    preferred_method: None
                }
            ]))
        );
        assert_eq!(
            PostLoginCommand::read(&rec("access.deny", json!([42]))),
            Err("api.access.deny: reason must be a string".into())
        );
        assert_eq!(
            PostLoginCommand::read(&rec(
                "redirect.sendUserTo",
                json!(["https://x.example/p", {"query": {"a": "1", "n": 2}}])
            )),
            Ok(PostLoginCommand::Redirect {
                url: "https://x.example/p".into(),
                query: vec![("a".into(), "1".into()), ("n".into(), "2".into())]
            })
        );
        assert_eq!(
            PostLoginCommand::read(&rec("redirect.sendUserTo", json!(["javascript:alert(1)"]))),
            Err(
                "api.redirect.sendUserTo: javascript:alert(1) is not an absolute http(s) URL"
                    .into()
            )
        );
    }

    #[test]
    fn every_offered_op_reads_back() {
        for op in POST_LOGIN_OPS {
            let args = if op.starts_with("authentication.") && op.ends_with("Any") {
                json!([[{"type": "phone"}]])
            } else if op.starts_with("authentication.") {
                json!([{"type": "phone"}])
            } else if *op == "redirect.sendUserTo" {
                json!(["https://x.example/"])
            } else {
                json!(["x", 1])
            };
            assert!(PostLoginCommand::read(&rec(op, args)).is_ok(), "{op}");
        }
        for op in CREDENTIALS_EXCHANGE_OPS {
            assert!(
                CredentialsCommand::read(&rec(op, json!(["x", "y"]))).is_ok(),
                "{op}"
            );
        }
        for op in PRE_REGISTRATION_OPS {
            assert!(
                RegistrationCommand::read(&rec(op, json!(["x", "y"]))).is_ok(),
                "{op}"
            );
        }
        for op in PHONE_PROVIDER_OPS {
            assert!(
                NotificationCommand::read(&rec(op, json!(["x"]))).is_ok(),
                "{op}"
            );
        }
    }

    #[test]
    fn notification_reasons_are_truncated() {
        let long = "x".repeat(5000);
        assert_eq!(
            NotificationCommand::read(&rec("notification.retry", json!([long]))),
            Ok(NotificationCommand::Retry("x".repeat(1024)))
        );
    }

    #[test]
    fn restricted_and_auth0_namespaced_claims_are_refused() {
        assert!(claim_allowed("https://example.com/roles"));
        assert!(claim_allowed("favourite_colour"));
        assert!(!claim_allowed("sub"));
        assert!(!claim_allowed("https://tenant.auth0.com/x"));
        assert!(!claim_allowed("https://auth0.com/x"));
        assert!(!claim_allowed(""));
    }
}
