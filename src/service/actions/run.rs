//! Running the bound Actions of a trigger: each deployed action in binding order, in the
//! sandbox, with the trigger's `event` and `api`. What the scripts ask for comes back as
//! recorded calls, read into typed commands (`wire::action_events`) and applied here after
//! all have run: MFA (`domain::actions::ActionMfa`), token claims and scopes (`claims::Custom`),
//! metadata (persisted once), or a denial. An action that throws, times out, or calls the
//! `api` wrongly stops the login with `extensibility_error`; the tenant log keeps why, with
//! the console output. What a trigger runs comes from the per-node catalog (no query when
//! nothing changed).

use super::manage::open_secrets;
use super::{handler_of, limits, ops_of};
use crate::clock::iso;
use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::actions::ActionMfa;
use crate::domain::claims::Custom;
use crate::domain::records::TENANT_ID;
use crate::error::{OAuthError, OAuthKind, Result};
use crate::sandbox::Invocation;
pub use crate::sandbox::protocol::RedirectContext;
use crate::service::events::logs::{self, LogEvent};
use crate::service::tenant::catalog::ClientAuth;
use crate::service::tenant::connections::Connection;
use crate::store::{self, users::UserRow};
use crate::wire::action_events::{self as ev, PostLoginCommand};
use crate::wire::{logs::ActionFailed, to_json};
use serde_json::{Map, Value};

const POST_LOGIN: &str = "post-login";

/// The login a post-login run is for.
pub struct PostLoginInput<'a> {
    pub user: &'a UserRow,
    pub client: &'a ClientAuth,
    pub connection: &'a Connection,
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
    /// `event.transaction.protocol` (`oauth2-password`, `oauth2-resource-owner`, …).
    pub protocol: &'a str,
    pub audience: Option<&'a str>,
    pub scope: Option<&'a str>,
    /// `event.authentication.methods`: `(name, type)`, e.g. `("pwd", None)`, `("mfa",
    /// Some("phone"))`.
    pub methods: &'a [(&'a str, Option<&'a str>)],
    /// The log entry's shared fields.
    pub base: &'a LogEvent,
    /// A browser login that may redirect (`api.redirect`; the hosted login); `None` for the
    /// API grants, where `sendUserTo` fails the login.
    pub redirect: Option<RedirectContext>,
    /// Resuming after a redirect: where the flow stopped and what it had decided.
    pub resume: Option<&'a Suspended>,
}

/// A flow suspended by `api.redirect.sendUserTo`: the URL to send the browser to (with the
/// query and `state` added), the action that redirected (its position and id, checked when
/// the flow resumes at its `onContinuePostLogin`), and what the actions before had decided.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Suspended {
    pub url: String,
    pub at: usize,
    pub action_id: String,
    pub mfa: ActionMfa,
    pub custom: Custom,
    pub remember_browser: Option<bool>,
}

/// What the post-login Actions of one login asked for.
#[derive(Debug, Default)]
pub struct PostLoginEffects {
    pub mfa: ActionMfa,
    pub custom: Custom,
    /// Whether any action ran (no claims to add otherwise).
    pub ran: bool,
    /// The execution record of this run (`GET /actions/executions/{id}`), when any ran.
    pub execution_id: Option<String>,
    /// `allowRememberBrowser` of the last `api.multifactor.enable` (hosted login): `None`
    /// when no Action called it, so the tenant's setting decides.
    pub remember_browser: Option<bool>,
    /// The flow stopped for a redirect (`api.redirect.sendUserTo`).
    pub suspended: Option<Suspended>,
}

fn extensibility(action: &str) -> crate::error::Error {
    OAuthError::new(
        OAuthKind::Extensibility,
        format!("The Action '{action}' failed; the tenant logs say why."),
    )
    .into()
}

/// `event.connection` of a connection.
fn connection_event(c: &Connection) -> ev::Connection {
    ev::Connection {
        id: c.id.clone(),
        name: c.name.clone(),
        strategy: c.strategy.clone(),
        metadata: c
            .attrs
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    }
}

/// Applies `key: value` to a metadata map as Auth0 does: `null` deletes the key.
fn set_key(m: &mut Map<String, Value>, key: String, value: Value) {
    if value.is_null() {
        m.remove(&key);
    } else {
        m.insert(key, value);
    }
}

/// Why an action's run did not yield commands: the failure kind (`timeout`, `threw`, …), the
/// message, and the console output.
pub(crate) struct Failed {
    pub kind: String,
    pub message: String,
    pub logs: String,
}

/// Runs one bound action with `event` and reads what it recorded with `read` (the trigger's
/// command type). A script failure or a wrongly called `api` method is a [`Failed`].
pub(crate) async fn invoke<C>(
    ctx: &Ctx,
    trigger: &str,
    v: &crate::store::actions::ActionVersionRow,
    event: &impl serde::Serialize,
    read: fn(&ev::Recorded) -> std::result::Result<C, String>,
) -> std::result::Result<Vec<C>, Failed> {
    invoke_as(ctx, trigger, handler_of(trigger), v, event, read, None).await
}

/// [`invoke`] with another handler (`onContinuePostLogin`) and the redirect context.
async fn invoke_as<C>(
    ctx: &Ctx,
    trigger: &str,
    handler: &str,
    v: &crate::store::actions::ActionVersionRow,
    event: &impl serde::Serialize,
    read: fn(&ev::Recorded) -> std::result::Result<C, String>,
    redirect: Option<RedirectContext>,
) -> std::result::Result<Vec<C>, Failed> {
    let out = ctx
        .sandbox
        .run(&Invocation {
            code: v.code.clone(),
            handler: handler.into(),
            event: to_json(event),
            ops: ops_of(trigger).iter().map(|s| s.to_string()).collect(),
            limits: limits(ctx),
            allow_hosts: ctx.config.sandbox.allow_hosts.clone(),
            cache: ctx.action_cache.entries(&v.action_id, ctx.clock.now_ms()),
            now_ms: ctx.clock.now_ms(),
            redirect,
        })
        .await;
    let failed = |kind: String, message: String| Failed {
        kind,
        message,
        logs: out.logs.clone(),
    };
    if let Some(f) = &out.failure {
        let kind = to_json(&f.kind).as_str().unwrap_or_default().to_string();
        return Err(failed(kind, f.message.clone()));
    }
    ctx.action_cache
        .apply(&v.action_id, &out.recorded, ctx.clock.now_ms());
    out.recorded
        .iter()
        .filter(|r| !r.op.starts_with("cache."))
        .map(read)
        .collect::<std::result::Result<Vec<C>, String>>()
        .map_err(|m| failed("threw".into(), format!("TypeError: {m}")))
}

/// The tenant log entry of a failed action (`kind`: the entry type of the flow it stopped).
pub(crate) fn log_failed(
    ctx: &Ctx,
    base: &LogEvent,
    kind: &'static str,
    trigger: &str,
    action: &str,
    f: &Failed,
) {
    logs::record(
        ctx,
        LogEvent {
            kind,
            description: Some(format!("Action '{action}' failed: {}", f.message)),
            details: Some(to_json(&ActionFailed {
                action,
                trigger,
                kind: &f.kind,
                message: &f.message,
                logs: &f.logs,
            })),
            ..base.clone()
        },
    );
}

/// What ran for one flow, written in the background once the flow is decided (so no request
/// waits for it) and readable through `GET /actions/executions/{id}`.
pub(crate) struct Execution {
    pub id: String,
    trigger: &'static str,
    results: Vec<crate::wire::actions::ExecutionResult>,
}

impl Execution {
    pub fn new(trigger: &'static str) -> Execution {
        Execution {
            id: crypto::random_hex(16),
            trigger,
            results: vec![],
        }
    }

    pub fn push(&mut self, action: &str, started_ms: i64, ended_ms: i64, failed: Option<&Failed>) {
        self.results.push(crate::wire::actions::ExecutionResult {
            action_name: action.to_string(),
            error: failed.map(|f| crate::wire::actions::ExecutionError {
                id: f.kind.clone(),
                msg: f.message.clone(),
            }),
            started_at: iso(started_ms),
            ended_at: iso(ended_ms),
        });
    }

    pub fn save(self, ctx: &Ctx) {
        let now = ctx.clock.now_ms();
        let row = crate::store::actions::ExecutionRow {
            id: self.id,
            trigger_id: self.trigger.to_string(),
            status: "final".into(),
            results: to_json(&self.results),
            created_at: now,
            updated_at: now,
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            if let Err(e) = store::actions::insert_execution(&ctx.db, &row).await {
                tracing::warn!(error = %e, "writing an action execution failed");
            }
        });
    }
}

/// An action's secrets as `event.secrets`.
pub(crate) fn secrets_of(
    ctx: &Ctx,
    v: &crate::store::actions::ActionVersionRow,
) -> Result<std::collections::BTreeMap<String, String>> {
    Ok(open_secrets(ctx, &v.secrets_sealed)?
        .into_iter()
        .map(|s| (s.name, s.value))
        .collect())
}

/// Whether any post-login Action is bound (a catalog read, no query once cached): callers
/// that would have to load something only the Actions need check this first.
pub async fn post_login_bound(ctx: &Ctx) -> Result<bool> {
    Ok(!ctx.catalog.bound_actions(ctx, POST_LOGIN).await?.is_empty())
}

/// Runs the post-login Actions. `Err` is the login's answer (a denial or a failed action);
/// metadata the actions set is persisted either way, as Auth0 does.
pub async fn post_login(ctx: &Ctx, input: &PostLoginInput<'_>) -> Result<PostLoginEffects> {
    let bound = ctx.catalog.bound_actions(ctx, POST_LOGIN).await?;
    let mut effects = PostLoginEffects::default();
    if bound.is_empty() {
        return Ok(effects);
    }
    effects.ran = true;
    let u = input.user;
    let authenticators = store::authenticators::of_user(&ctx.db, &u.user_id).await?;
    let roles = store::roles::roles_of_user(&ctx.db, &u.user_id).await?;
    let now = iso(ctx.clock.now_ms());
    let mut event = ev::PostLogin {
        user: ev::User::of(u, &authenticators),
        client: ev::Client {
            client_id: input.client.client_id.clone(),
            name: input.client.name.clone(),
            metadata: Map::new(),
        },
        connection: connection_event(input.connection),
        request: ev::Request {
            ip: input.ip.to_string(),
            method: "POST".into(),
            user_agent: input.user_agent.map(str::to_string),
            ..Default::default()
        },
        transaction: ev::Transaction {
            id: crypto::random_alnum(24),
            locale: "en".into(),
            protocol: input.protocol.to_string(),
            requested_scopes: input
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            correlation_id: None,
        },
        authentication: ev::Authentication {
            methods: input
                .methods
                .iter()
                .map(|(name, kind)| ev::Method {
                    name: name.to_string(),
                    timestamp: now.clone(),
                    kind: kind.map(str::to_string),
                })
                .collect(),
        },
        authorization: ev::Authorization {
            roles: roles.into_iter().map(|r| r.name).collect(),
        },
        tenant: ev::Tenant {
            id: TENANT_ID.into(),
        },
        stats: ev::Stats {
            logins_count: u.logins_count,
        },
        resource_server: input.audience.map(|a| ev::ResourceServer {
            identifier: a.to_string(),
        }),
        secrets: Default::default(),
    };
    let mut app_changes: Vec<(String, Value)> = vec![];
    let mut user_changes: Vec<(String, Value)> = vec![];
    let mut denied: Option<String> = None;
    let mut failed: Option<String> = None;
    let mut execution = Execution::new(POST_LOGIN);
    effects.execution_id = Some(execution.id.clone());
    // Resuming after a redirect: the same action again, at its onContinuePostLogin, with what
    // the flow had decided so far and the /continue request's parameters.
    let start = match input.resume {
        Some(r) => {
            if bound.get(r.at).map(|(_, v)| v.action_id.as_str()) != Some(r.action_id.as_str()) {
                return Err(OAuthError::new(
                    OAuthKind::Extensibility,
                    "The post-login Actions changed while the login waited for a redirect.",
                )
                .into());
            }
            effects.mfa = r.mfa.clone();
            effects.custom = r.custom.clone();
            effects.remember_browser = r.remember_browser;
            event.request.method = "GET".into();
            event.request.query = input
                .redirect
                .as_ref()
                .map(|c| {
                    c.params
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            r.at
        }
        None => 0,
    };
    for (i, (name, v)) in bound.iter().enumerate().skip(start) {
        event.secrets = secrets_of(ctx, v)?;
        let started = ctx.clock.now_ms();
        let continuing = input.resume.is_some() && i == start;
        let handler = if continuing {
            "onContinuePostLogin"
        } else {
            handler_of(POST_LOGIN)
        };
        let redirect = input.redirect.clone();
        let ran = invoke_as(
            ctx,
            POST_LOGIN,
            handler,
            v,
            &event,
            PostLoginCommand::read,
            redirect,
        )
        .await;
        // An action that redirected but has no onContinuePostLogin: nothing to resume there.
        if continuing && matches!(&ran, Err(f) if f.kind == "no_handler") {
            continue;
        }
        execution.push(name, started, ctx.clock.now_ms(), ran.as_ref().err());
        let cmds = match ran {
            Ok(c) => c,
            Err(f) => {
                log_failed(ctx, input.base, "f", POST_LOGIN, name, &f);
                failed = Some(name.clone());
                break;
            }
        };
        let mut redirect_to = None;
        for c in cmds {
            match c {
                PostLoginCommand::Redirect { url, query } => redirect_to = Some((url, query)),
                PostLoginCommand::Deny(r) => denied = Some(r),
                PostLoginCommand::Multifactor {
                    provider,
                    allow_remember_browser,
                } => {
                    effects.remember_browser = Some(allow_remember_browser);
                    effects.mfa = if provider == "none" {
                        ActionMfa::Bypass
                    } else {
                        ActionMfa::Enable(provider)
                    }
                }
                PostLoginCommand::Challenge(f) => {
                    effects.mfa = ActionMfa::Challenge(f.into_iter().map(|f| f.kind).collect())
                }
                PostLoginCommand::Enroll(f) => {
                    effects.mfa = ActionMfa::Enroll(f.into_iter().map(|f| f.kind).collect())
                }
                PostLoginCommand::IdTokenClaim(k, v) if ev::claim_allowed(&k) => {
                    effects.custom.id_token.insert(k, v);
                }
                PostLoginCommand::AccessTokenClaim(k, v) if ev::claim_allowed(&k) => {
                    effects.custom.access_token.insert(k, v);
                }
                PostLoginCommand::IdTokenClaim(..) | PostLoginCommand::AccessTokenClaim(..) => {}
                PostLoginCommand::AddScope(s) => effects.custom.add_scopes.push(s),
                PostLoginCommand::RemoveScope(s) => effects.custom.remove_scopes.push(s),
                PostLoginCommand::AppMetadata(k, v) => {
                    set_key(&mut event.user.app_metadata, k.clone(), v.clone());
                    app_changes.push((k, v));
                }
                PostLoginCommand::UserMetadata(k, v) => {
                    set_key(&mut event.user.user_metadata, k.clone(), v.clone());
                    user_changes.push((k, v));
                }
            }
        }
        if denied.is_some() {
            // Auth0: the flow stops after the action that denied.
            break;
        }
        if let Some((url, query)) = redirect_to {
            // Auth0: the flow is suspended once this action is done, and resumes here.
            let Some(rc) = &input.redirect else {
                let f = Failed {
                    kind: "threw".into(),
                    message: format!(
                        "api.redirect.sendUserTo: this login ({}) cannot redirect the user",
                        input.protocol
                    ),
                    logs: String::new(),
                };
                log_failed(ctx, input.base, "f", POST_LOGIN, name, &f);
                failed = Some(name.clone());
                break;
            };
            let mut u = url::Url::parse(&url).map_err(crate::error::Error::internal)?;
            u.query_pairs_mut()
                .extend_pairs(query.iter())
                .append_pair("state", &rc.state);
            effects.suspended = Some(Suspended {
                url: u.to_string(),
                at: i,
                action_id: v.action_id.clone(),
                mfa: effects.mfa.clone(),
                custom: effects.custom.clone(),
                remember_browser: effects.remember_browser,
            });
            break;
        }
    }
    execution.save(ctx);
    if failed.is_none() && !(app_changes.is_empty() && user_changes.is_empty()) {
        persist_metadata(ctx, &u.user_id, app_changes, user_changes).await?;
    }
    if let Some(name) = failed {
        return Err(extensibility(&name));
    }
    if let Some(reason) = denied {
        logs::record(
            ctx,
            LogEvent {
                kind: "f",
                description: Some(format!("Denied by a post-login Action: {reason}")),
                user_id: Some(u.user_id.clone()),
                ..input.base.clone()
            },
        );
        return Err(OAuthError::denied(reason).into());
    }
    Ok(effects)
}

/// Writes the metadata changes the actions asked for, in one transaction on a fresh read.
async fn persist_metadata(
    ctx: &Ctx,
    user_id: &str,
    app: Vec<(String, Value)>,
    user: Vec<(String, Value)>,
) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    let Some(mut row) = store::users::get_for_update(&mut tx, user_id).await? else {
        return Ok(());
    };
    for (k, v) in app {
        set_key(&mut row.app_metadata, k, v);
    }
    for (k, v) in user {
        set_key(&mut row.user_metadata, k, v);
    }
    row.updated_at = ctx.clock.now_ms();
    store::users::update(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(())
}

const CREDENTIALS_EXCHANGE: &str = "credentials-exchange";

/// Runs the credentials-exchange Actions of a `client_credentials` grant: the custom claims
/// they set for the access token, or the denial (`access.deny(code, reason)`: `invalid_scope`
/// and `invalid_request` keep their code, anything else is `access_denied`).
pub async fn credentials_exchange(
    ctx: &Ctx,
    client: &ClientAuth,
    audience: &str,
    scope: &str,
) -> Result<Map<String, Value>> {
    let bound = ctx.catalog.bound_actions(ctx, CREDENTIALS_EXCHANGE).await?;
    let mut claims = Map::new();
    if bound.is_empty() {
        return Ok(claims);
    }
    let base = LogEvent {
        client_id: Some(client.client_id.clone()),
        client_name: Some(client.name.clone()),
        audience: Some(audience.to_string()),
        ..Default::default()
    };
    let mut event = ev::CredentialsExchange {
        client: ev::Client {
            client_id: client.client_id.clone(),
            name: client.name.clone(),
            metadata: Map::new(),
        },
        request: ev::Request {
            method: "POST".into(),
            ..Default::default()
        },
        transaction: ev::Transaction {
            id: crypto::random_alnum(24),
            locale: "en".into(),
            protocol: "oauth2-client-credentials".into(),
            requested_scopes: scope.split_whitespace().map(str::to_string).collect(),
            correlation_id: None,
        },
        tenant: ev::Tenant {
            id: TENANT_ID.into(),
        },
        resource_server: Some(ev::ResourceServer {
            identifier: audience.to_string(),
        }),
        access_token: ev::AccessTokenView {
            scope: scope.split_whitespace().map(str::to_string).collect(),
            custom_claims: Map::new(),
        },
        secrets: Default::default(),
    };
    let mut execution = Execution::new(CREDENTIALS_EXCHANGE);
    for (name, v) in bound.iter() {
        event.secrets = secrets_of(ctx, v)?;
        let read = ev::CredentialsCommand::read;
        let started = ctx.clock.now_ms();
        let ran = invoke(ctx, CREDENTIALS_EXCHANGE, v, &event, read).await;
        execution.push(name, started, ctx.clock.now_ms(), ran.as_ref().err());
        let cmds = match ran {
            Ok(c) => c,
            Err(f) => {
                log_failed(ctx, &base, "feccft", CREDENTIALS_EXCHANGE, name, &f);
                execution.save(ctx);
                return Err(extensibility(name));
            }
        };
        for c in cmds {
            match c {
                ev::CredentialsCommand::Deny { code, reason } => {
                    let kind = match code.as_deref() {
                        Some("invalid_scope") => OAuthKind::InvalidScope,
                        Some("invalid_request") => OAuthKind::InvalidRequest,
                        _ => OAuthKind::Denied,
                    };
                    execution.save(ctx);
                    return Err(OAuthError::new(kind, reason).into());
                }
                ev::CredentialsCommand::AccessTokenClaim(k, v) if ev::claim_allowed(&k) => {
                    event
                        .access_token
                        .custom_claims
                        .insert(k.clone(), v.clone());
                    claims.insert(k, v);
                }
                ev::CredentialsCommand::AccessTokenClaim(..) => {}
            }
        }
    }
    execution.save(ctx);
    Ok(claims)
}

const PRE_REGISTRATION: &str = "pre-user-registration";
const POST_REGISTRATION: &str = "post-user-registration";
const POST_CHANGE_PASSWORD: &str = "post-change-password";

/// Where a registration comes from.
#[derive(Clone)]
pub struct Registering {
    pub client: Option<std::sync::Arc<ClientAuth>>,
    pub connection: Connection,
    pub ip: String,
    pub user_agent: Option<String>,
}

/// What pre-user-registration decided.
#[derive(Debug, PartialEq)]
pub enum RegistrationVerdict {
    /// Go on (metadata the actions set is already on the row).
    Allowed,
    /// `api.access.deny(reason, userMessage)` or `api.validation.error(code, message)`: what
    /// the person signing up is told.
    Denied(String),
    /// An action failed (logged); the signup stops.
    Failed(String),
}

fn registration_event(r: &Registering, user: &UserRow) -> ev::Registration {
    ev::Registration {
        user: ev::User::of(user, &[]),
        connection: connection_event(&r.connection),
        client: r.client.as_ref().map(|c| ev::Client {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            metadata: Map::new(),
        }),
        request: ev::Request {
            ip: r.ip.clone(),
            method: "POST".into(),
            user_agent: r.user_agent.clone(),
            ..Default::default()
        },
        transaction: None,
        tenant: ev::Tenant {
            id: TENANT_ID.into(),
        },
        secrets: Default::default(),
    }
}

fn registration_log(r: &Registering, user: &UserRow) -> LogEvent {
    LogEvent {
        client_id: r.client.as_ref().map(|c| c.client_id.clone()),
        client_name: r.client.as_ref().map(|c| c.name.clone()),
        connection: Some(r.connection.name.clone()),
        connection_id: Some(r.connection.id.clone()),
        user_name: user.email.clone().or(user.username.clone()),
        ip: (!r.ip.is_empty()).then(|| r.ip.clone()),
        ..Default::default()
    }
}

/// Runs the pre-user-registration Actions on the user about to be created: metadata they set
/// lands on `user`; a denial or a failure stops the signup (nothing is written).
pub async fn pre_user_registration(
    ctx: &Ctx,
    r: &Registering,
    user: &mut UserRow,
) -> Result<RegistrationVerdict> {
    let bound = ctx.catalog.bound_actions(ctx, PRE_REGISTRATION).await?;
    if bound.is_empty() {
        return Ok(RegistrationVerdict::Allowed);
    }
    let mut event = registration_event(r, user);
    let base = registration_log(r, user);
    for (name, v) in bound.iter() {
        event.secrets = secrets_of(ctx, v)?;
        let read = ev::RegistrationCommand::read;
        let cmds = match invoke(ctx, PRE_REGISTRATION, v, &event, read).await {
            Ok(c) => c,
            Err(f) => {
                log_failed(ctx, &base, "fs", PRE_REGISTRATION, name, &f);
                return Ok(RegistrationVerdict::Failed(name.clone()));
            }
        };
        for c in cmds {
            match c {
                ev::RegistrationCommand::Deny {
                    reason,
                    user_message,
                } => {
                    logs::record(
                        ctx,
                        LogEvent {
                            kind: "fs",
                            description: Some(format!(
                                "Denied by a pre-user-registration Action: {reason}"
                            )),
                            ..base.clone()
                        },
                    );
                    return Ok(RegistrationVerdict::Denied(user_message));
                }
                ev::RegistrationCommand::AppMetadata(k, v) => {
                    set_key(&mut event.user.app_metadata, k.clone(), v.clone());
                    set_key(&mut user.app_metadata, k, v);
                }
                ev::RegistrationCommand::UserMetadata(k, v) => {
                    set_key(&mut event.user.user_metadata, k.clone(), v.clone());
                    set_key(&mut user.user_metadata, k, v);
                }
            }
        }
    }
    Ok(RegistrationVerdict::Allowed)
}

/// Attempts of a background action (post-user-registration, post-change-password) before its
/// failure is logged for good.
const BACKGROUND_ATTEMPTS: u32 = 3;

/// Runs the post-user-registration Actions after the user is committed, in the background:
/// nothing waits for them and nothing they do changes the signup's answer (Auth0's
/// semantics). A failed action is tried again (3 attempts, 1 s apart) and then logged.
pub fn spawn_post_user_registration(ctx: &Ctx, r: Registering, user: UserRow) {
    spawn_background(ctx, POST_REGISTRATION, r, user);
}

/// Runs the post-change-password Actions after a password change is committed (a reset
/// ticket, the Management API), in the background as Auth0 does: `event.user`,
/// `event.connection`, `event.request`, `event.tenant`, `event.secrets`; its `api` has only
/// the cache. Retried and logged as post-user-registration.
pub fn spawn_post_change_password(ctx: &Ctx, r: Registering, user: UserRow) {
    spawn_background(ctx, POST_CHANGE_PASSWORD, r, user);
}

fn spawn_background(ctx: &Ctx, trigger: &'static str, r: Registering, user: UserRow) {
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let bound = match ctx.catalog.bound_actions(&ctx, trigger).await {
            Ok(b) if !b.is_empty() => b,
            _ => return,
        };
        let mut event = registration_event(&r, &user);
        let base = LogEvent {
            user_id: Some(user.user_id.clone()),
            ..registration_log(&r, &user)
        };
        let mut execution = Execution::new(trigger);
        for (name, v) in bound.iter() {
            let Ok(secrets) = secrets_of(&ctx, v) else {
                continue;
            };
            event.secrets = secrets;
            for attempt in 1..=BACKGROUND_ATTEMPTS {
                let started = ctx.clock.now_ms();
                let ran = invoke(&ctx, trigger, v, &event, ev::NoCommand::read).await;
                let last = ran.is_ok() || attempt == BACKGROUND_ATTEMPTS;
                if last {
                    execution.push(name, started, ctx.clock.now_ms(), ran.as_ref().err());
                }
                match ran {
                    Ok(_) => break,
                    Err(f) if last => log_failed(&ctx, &base, "w", trigger, name, &f),
                    Err(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
                }
            }
        }
        execution.save(&ctx);
    });
}
