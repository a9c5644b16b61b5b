//! The hosted login's steps, between `/authorize` and the code: a login transaction per
//! request (`store::login_txns`), bound to the browser that started it (a cookie value whose
//! SHA-256 the row keeps) and carrying a CSRF token that every step replaces with one
//! conditional UPDATE, so a form posts once and a replayed or forged post changes nothing.
//!
//! Each step uses the rules the API grants use, never copies of them: the password is
//! `login::first_factor` (brute force, blocks, custom databases and their MFA phones); then
//! the post-login Actions and the one MFA decision (`mfa::policy::decide`); phone enrolment
//! is the MFA API's `associate` and its confirmation `mfa_grants::verify_oob`; challenges are
//! `mfa::api::challenge` and the `verify_*` checks of the MFA grants (attempt limits, send
//! budgets, one-time use); signup and forgotten passwords are `users::signup` and
//! `users::passwords::request_change`. A step that completes the login opens (or upgrades)
//! the SSO session and mints the code (`authorize::issue_code`).
//!
//! No HTTP here: `http::pages::login` renders the steps and sets the cookies.

use crate::crypto;
use crate::ctx::Ctx;
use crate::domain::claims::Custom;
use crate::domain::{grant_types, phone};
use crate::error::{Error, OAuthKind, Result};
use crate::service::actions::run::{RedirectContext, Suspended};
use crate::service::events::logs::{self, LogEvent};
use crate::service::mfa::api::{self as mfa_api, Associate, Bearer};
use crate::service::mfa::policy::{self as mfa_policy, Decision};
use crate::service::mfa::token::{self as mfa_token, MfaToken};
use crate::service::oauth::authorize::{self, AuthRequest, Granted, Reply};
use crate::service::oauth::{login, mfa_grants, sessions};
use crate::service::tenant::catalog::ClientAuth;
use crate::service::tenant::connections::Connection;
use crate::service::users::{passwords, signup};
use crate::store::{self, users::UserRow};
use crate::wire::mfa::{Associated, Challenge};
use serde::{Deserialize, Serialize};

/// How long a login transaction waits for the user.
pub const TXN_TTL_MS: i64 = 30 * 60 * 1000;
/// The least time between two codes sent from the challenge page (the MFA API's buckets
/// apply on top).
pub const RESEND_AFTER_MS: i64 = 30 * 1000;

/// Where a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Password (or signup, or forgotten password).
    Login,
    /// Choose a phone number to enrol.
    MfaEnroll,
    /// Type the code sent to the phone being enrolled.
    MfaEnrollCode,
    /// Type a code (SMS/voice, TOTP) or use a recovery code.
    MfaChallenge,
    /// A recovery code is shown once; the user confirms they saved it.
    RecoverySave,
    /// The password-reset email (or SMS) was asked for; nothing more to do here.
    ResetSent,
    /// A post-login Action sent the browser elsewhere (`api.redirect.sendUserTo`); the login
    /// resumes at `/continue`.
    Redirected,
    /// Passwordless SMS: type the code sent to the number.
    PasswordlessCode,
}

/// A message for the next page, by key (the page translates it) with optional detail text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn notice(key: &str) -> Option<Notice> {
    Some(Notice {
        key: key.into(),
        detail: None,
    })
}

/// The second factors the challenge page offers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factors {
    /// The enrolled phone, masked, and its authenticator id (`dev_…`).
    pub phone: Option<(String, String)>,
    pub totp: bool,
    pub recovery_code: bool,
    /// Whether voice calls are enabled for the phone factor (so "call me instead" works).
    pub voice: bool,
    pub sms: bool,
}

/// What a transaction holds (the `data` column). Sealed values stay sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TxnData {
    pub request: AuthRequest,
    pub step: Step,
    #[serde(default)]
    pub notice: Option<Notice>,
    /// The identifier typed on the login form (shown back after a wrong password).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub factors: Factors,
    /// The masked number a code was sent to, and the channel.
    #[serde(default)]
    pub sent_to: Option<(String, String)>,
    /// When the last code was sent (ms).
    #[serde(default)]
    pub sent_at: Option<i64>,
    /// Whether a recovery code is waiting to be shown (it stays sealed in `recovery_sealed`).
    #[serde(default)]
    pub recovery_pending: bool,
    #[serde(default)]
    recovery_sealed: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    mfa_token: Option<String>,
    #[serde(default)]
    oob_code: Option<String>,
    /// When the password was proved (ms).
    #[serde(default)]
    auth_time: Option<i64>,
    #[serde(default)]
    custom: Option<Custom>,
    /// An SSO session that only lacks the second factor.
    #[serde(default)]
    session_hash: Option<String>,
    /// "Remember this browser" was ticked with the code (kept while the recovery code shows).
    #[serde(default)]
    remember: bool,
    /// The flow a post-login Action suspended with a redirect.
    #[serde(default)]
    suspended: Option<Suspended>,
    /// A second factor was already completed in the SSO session this login runs in.
    #[serde(default)]
    mfa_done: bool,
    /// The first factor was a passwordless SMS code (`amr` and the Actions' methods say `sms`).
    #[serde(default)]
    passwordless: bool,
    /// Whether this login may offer "remember this browser": the node's setting
    /// (`[hosted] mfa_remember_days` > 0) unless an Action's `api.multifactor.enable` said
    /// `allowRememberBrowser: false`.
    #[serde(default)]
    pub remember_allowed: bool,
}

impl TxnData {
    fn new(request: AuthRequest) -> Self {
        TxnData {
            request,
            step: Step::Login,
            notice: None,
            username: None,
            factors: Factors::default(),
            sent_to: None,
            sent_at: None,
            recovery_pending: false,
            recovery_sealed: None,
            user_id: None,
            mfa_token: None,
            oob_code: None,
            auth_time: None,
            custom: None,
            session_hash: None,
            remember: false,
            remember_allowed: false,
            suspended: None,
            mfa_done: false,
            passwordless: false,
        }
    }
}

/// An open transaction.
#[derive(Debug, Clone)]
pub struct Txn {
    /// The `state` of the page URLs.
    pub id: String,
    id_hash: String,
    pub csrf: String,
    pub data: TxnData,
}

/// What `/authorize` leads to.
pub enum Begin {
    /// Answer the application now (an SSO login's code, or an error).
    Reply(Reply),
    /// Show the pages of transaction `state`.
    Pages { state: String },
}

/// What a step leads to.
pub enum Outcome {
    /// Show the transaction's current page.
    Page,
    /// The login is complete: answer the application, setting the session cookie when a new
    /// session was opened.
    Done {
        reply: Reply,
        session: Option<String>,
        /// A "remember this browser" cookie value, when the user asked for it.
        remember: Option<String>,
    },
    /// The post was stale (a replayed or foreign form, or another tab got there first).
    Stale,
}

fn hash(s: &str) -> String {
    crypto::sha256_hex(s.as_bytes())
}

fn to_json(d: &TxnData) -> Result<String> {
    serde_json::to_string(d).map_err(Error::internal)
}

/// `/authorize` after the request was validated: an SSO session answers at once (after the
/// post-login Actions and the MFA decision); otherwise a transaction for the pages.
pub async fn begin(
    ctx: &Ctx,
    request: AuthRequest,
    browser: &str,
    session_cookie: Option<&str>,
    remember_cookie: Option<&str>,
    ip: &str,
    user_agent: Option<&str>,
) -> Result<Begin> {
    let live = match request.prompt.as_deref() {
        Some("login") => None,
        _ => sessions::live(ctx, session_cookie).await?,
    };
    let now = ctx.clock.now_ms();
    let fresh = |l: &sessions::Live| match request.max_age {
        // max_age=0 asks for the password every time, as prompt=login does.
        Some(m) => m > 0 && now - l.row.auth_time <= m.saturating_mul(1000),
        None => true,
    };
    if let Some(l) = live.filter(fresh) {
        let mut data = TxnData::new(request.clone());
        data.auth_time = Some(l.row.auth_time);
        data.session_hash = Some(l.id_hash.clone());
        data.user_id = Some(l.user.user_id.clone());
        let mfa_done = l.row.mfa_time.is_some();
        data.mfa_done = mfa_done;
        let state = crypto::random_token();
        let flow = Flow {
            state: &state,
            ip,
            ua: user_agent,
            remember_cookie,
            resume: None,
        };
        match after_password(ctx, &mut data, &l.user, &flow).await? {
            After::Reply(r) => return Ok(Begin::Reply(r)),
            After::Complete { mfa } => {
                let reply = finish_code(ctx, &data, &l.user.user_id, mfa || mfa_done).await?;
                return Ok(Begin::Reply(reply));
            }
            After::SecondFactor | After::Redirect if request.prompt_none() => {
                return Ok(Begin::Reply(Reply::error(
                    &request,
                    "interaction_required",
                    "The login needs the user's interaction",
                )));
            }
            After::SecondFactor | After::Redirect => {
                return create(ctx, state, data, browser).await;
            }
        }
    }
    if request.prompt_none() {
        return Ok(Begin::Reply(Reply::error(
            &request,
            "login_required",
            "Login required",
        )));
    }
    create(ctx, crypto::random_token(), TxnData::new(request), browser).await
}

async fn create(ctx: &Ctx, id: String, data: TxnData, browser: &str) -> Result<Begin> {
    let now = ctx.clock.now_ms();
    store::login_txns::insert(
        &ctx.db,
        &hash(&id),
        &hash(browser),
        &crypto::random_token(),
        &to_json(&data)?,
        now,
        now + TXN_TTL_MS,
    )
    .await?;
    Ok(Begin::Pages { state: id })
}

/// The transaction `state`, if it is live and was started by this browser.
pub async fn open(ctx: &Ctx, state: &str, browser: Option<&str>) -> Result<Option<Txn>> {
    let Some(browser) = browser.filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    if state.is_empty() || state.len() > 128 {
        return Ok(None);
    }
    let id_hash = hash(state);
    let Some(row) = store::login_txns::live(&ctx.db, &id_hash, ctx.clock.now_ms()).await? else {
        return Ok(None);
    };
    if !crypto::ct_eq(row.browser_hash.as_bytes(), hash(browser).as_bytes()) {
        return Ok(None);
    }
    let data: TxnData = serde_json::from_str(&row.data).map_err(Error::internal)?;
    Ok(Some(Txn {
        id: state.to_string(),
        id_hash,
        csrf: row.csrf,
        data,
    }))
}

/// Where to start again after a transaction expired: its application's
/// `initiate_login_uri` (https only, as Auth0 requires), while the expired row is still there.
pub async fn restart_url(ctx: &Ctx, state: &str) -> Result<Option<String>> {
    if state.is_empty() || state.len() > 128 {
        return Ok(None);
    }
    let Some(data) = store::login_txns::data_any(&ctx.db, &hash(state)).await? else {
        return Ok(None);
    };
    let Ok(d) = serde_json::from_str::<TxnData>(&data) else {
        return Ok(None);
    };
    Ok(authorize::client_urls(ctx, &d.request.client_id)
        .await?
        .and_then(|(_, u)| u.initiate_login_uri)
        .filter(|u| u.starts_with("https://")))
}

/// Clears the notice once a page showed it (no CSRF change: showing is not a step).
pub async fn shown(ctx: &Ctx, t: &Txn) -> Result<()> {
    if t.data.notice.is_some() {
        let mut d = t.data.clone();
        d.notice = None;
        store::login_txns::advance(&ctx.db, &t.id_hash, &t.csrf, &t.csrf, &to_json(&d)?).await?;
    }
    Ok(())
}

/// The recovery code waiting to be shown, opened (shown on the page, then forgotten once the
/// user confirms).
pub fn recovery_code(ctx: &Ctx, t: &Txn) -> Option<String> {
    t.data
        .recovery_sealed
        .as_deref()
        .and_then(|s| ctx.secrets.open_string(s).ok())
}

/// Saves `d` as the next state of a transaction this request claimed (its token rotates
/// again; a concurrent change since the claim wins and this one is dropped).
async fn advance(ctx: &Ctx, t: &Txn, d: &TxnData) -> Result<bool> {
    store::login_txns::advance(
        &ctx.db,
        &t.id_hash,
        &t.csrf,
        &crypto::random_token(),
        &to_json(d)?,
    )
    .await
    .map_err(Into::into)
}

/// Claims the step (the CSRF token is spent) before doing anything with side effects.
async fn claim(ctx: &Ctx, t: &Txn, given: &str) -> Result<Option<Txn>> {
    let next = crypto::random_token();
    if given.is_empty() || !crypto::ct_eq(t.csrf.as_bytes(), given.as_bytes()) {
        return Ok(None);
    }
    if !store::login_txns::advance(&ctx.db, &t.id_hash, &t.csrf, &next, &to_json(&t.data)?).await? {
        return Ok(None);
    }
    Ok(Some(Txn {
        csrf: next.clone(),
        ..t.clone()
    }))
}

/// [`claim`] for a step that may only be taken at one of `steps`.
async fn claim_at(ctx: &Ctx, t: &Txn, given: &str, steps: &[Step]) -> Result<Option<Txn>> {
    if !steps.contains(&t.data.step) {
        return Ok(None);
    }
    claim(ctx, t, given).await
}

/// Saves `d` after a claimed step (under the token the claim set).
async fn save(ctx: &Ctx, t: &Txn, mut d: TxnData, n: Option<Notice>) -> Result<Outcome> {
    d.notice = n;
    advance(ctx, t, &d).await?;
    Ok(Outcome::Page)
}

fn log_base(r: &AuthRequest, c: Option<&Connection>, ip: &str, ua: Option<&str>) -> LogEvent {
    LogEvent {
        client_id: Some(r.client_id.clone()),
        client_name: Some(r.client_name.clone()),
        connection: c.map(|c| c.name.clone()),
        connection_id: c.map(|c| c.id.clone()),
        strategy: c.map(|c| c.strategy.clone()),
        strategy_type: c.map(|_| "database".into()),
        ip: Some(ip.to_string()),
        user_agent: ua.map(str::to_string),
        ..Default::default()
    }
}

enum After {
    Reply(Reply),
    Complete {
        mfa: bool,
    },
    SecondFactor,
    /// A post-login Action redirects the browser (the transaction's page sends it on).
    Redirect,
}

/// The login's request context for [`after_password`].
struct Flow<'a> {
    /// The transaction id (the `state` a redirect carries).
    state: &'a str,
    ip: &'a str,
    ua: Option<&'a str>,
    remember_cookie: Option<&'a str>,
    /// Resuming at `/continue`: its parameters.
    resume: Option<&'a std::collections::BTreeMap<String, String>>,
}

async fn client_of(ctx: &Ctx, r: &AuthRequest) -> Result<std::sync::Arc<ClientAuth>> {
    ctx.catalog
        .client(ctx, &r.client_id)
        .await?
        .ok_or_else(|| Error::internal("the client of a login transaction is gone"))
}

/// After the first factor (or an SSO session): the post-login Actions and the MFA decision.
/// Sets up the MFA step in `d` when a second factor is needed.
async fn after_password(
    ctx: &Ctx,
    d: &mut TxnData,
    user: &UserRow,
    flow: &Flow<'_>,
) -> Result<After> {
    let (ip, ua, remember_cookie, mfa_done) = (flow.ip, flow.ua, flow.remember_cookie, d.mfa_done);
    let r = d.request.clone();
    let client = client_of(ctx, &r).await?;
    let Some(c) = authorize::connection(ctx, &r).await? else {
        return Ok(After::Reply(Reply::error(
            &r,
            "invalid_request",
            "The connection is not enabled for this application.",
        )));
    };
    let base = LogEvent {
        user_id: Some(user.user_id.clone()),
        user_name: user.email.clone().or(user.username.clone()),
        ..log_base(&r, Some(&c), ip, ua)
    };
    let first = if d.passwordless { "sms" } else { "pwd" };
    let methods: &[(&str, Option<&str>)] = if mfa_done {
        &[(first, None), ("mfa", None)]
    } else {
        &[(first, None)]
    };
    let actions = match crate::service::actions::run::post_login(
        ctx,
        &crate::service::actions::run::PostLoginInput {
            user,
            client: &client,
            connection: &c,
            ip,
            user_agent: ua,
            protocol: "oidc-basic-profile",
            audience: r.audience.as_deref(),
            scope: Some(&r.scope),
            methods,
            base: &base,
            redirect: Some(RedirectContext {
                state: flow.state.to_string(),
                sub: user.user_id.clone(),
                iss: ctx.issuer.to_string(),
                ip: ip.to_string(),
                params: flow.resume.cloned().unwrap_or_default(),
            }),
            resume: if flow.resume.is_some() {
                d.suspended.as_ref()
            } else {
                None
            },
        },
    )
    .await
    {
        Ok(a) => a,
        Err(Error::OAuth(e)) => {
            return Ok(After::Reply(Reply::error(
                &r,
                e.kind.code(),
                &e.description,
            )));
        }
        Err(e) => return Err(e),
    };
    if let Some(sus) = actions.suspended {
        d.step = Step::Redirected;
        d.user_id = Some(user.user_id.clone());
        d.suspended = Some(sus);
        return Ok(After::Redirect);
    }
    d.suspended = None;
    d.custom = actions.ran.then_some(actions.custom.clone());
    d.remember_allowed =
        ctx.config.hosted.mfa_remember_days > 0 && actions.remember_browser != Some(false);
    let decision = mfa_policy::decide(
        ctx,
        &mfa_policy::Login {
            action: &actions.mfa,
            user,
            client: &client,
            audience: r.audience.as_deref(),
            scope: Some(&r.scope),
            grant_type: grant_types::AUTHORIZATION_CODE,
        },
    )
    .await;
    let decision = match decision {
        Ok(x) => x,
        Err(Error::OAuth(e)) => {
            return Ok(After::Reply(Reply::error(
                &r,
                e.kind.code(),
                &e.description,
            )));
        }
        Err(e) => return Err(e),
    };
    let Decision::Required { enroll, .. } = decision else {
        return Ok(After::Complete { mfa: false });
    };
    if mfa_done {
        return Ok(After::Complete { mfa: true });
    }
    if !enroll && d.remember_allowed && sessions::remembered(ctx, remember_cookie, &user.user_id) {
        return Ok(After::Complete { mfa: true });
    }
    logs::record(
        ctx,
        LogEvent {
            kind: "mfar",
            description: Some("Multifactor authentication required".into()),
            ..base
        },
    );
    d.mfa_token = Some(mfa_token::issue(
        ctx,
        &user.user_id,
        &r.client_id,
        r.audience.as_deref(),
        Some(&r.scope),
    )?);
    d.user_id = Some(user.user_id.clone());
    d.factors = factors(ctx, &user.user_id).await?;
    if enroll {
        if !d.factors.sms && !d.factors.voice {
            return Ok(After::Reply(Reply::error(
                &r,
                "access_denied",
                "Multifactor authentication is required, and no factor this page can enrol is enabled.",
            )));
        }
        d.step = Step::MfaEnroll;
    } else {
        d.step = Step::MfaChallenge;
        if d.factors.phone.is_some() {
            // The code goes out as the page appears, as on Auth0's.
            d.notice = send(ctx, d, None, ip).await?;
        }
    }
    Ok(After::SecondFactor)
}

/// The factors a user can complete a login with (and which phone channels are on).
async fn factors(ctx: &Ctx, user_id: &str) -> Result<Factors> {
    let all = store::authenticators::of_user(&ctx.db, user_id).await?;
    let mut mine: Vec<_> = mfa_policy::usable(&all);
    let pending = crate::service::mfa::store_phone::pending(ctx, user_id, &all).await?;
    mine.extend(pending);
    let channels = crate::service::mfa::guardian::message_types(ctx).await?;
    let sms_on = crate::service::mfa::guardian::factor_enabled(ctx, "sms").await?;
    Ok(Factors {
        phone: mine.iter().find(|a| a.kind == "phone").map(|a| {
            let masked = a
                .phone_number
                .as_deref()
                .and_then(|n| phone::normalize(n, None).ok())
                .map(|e| phone::mask(&e));
            (
                masked
                    .or(a.name.clone())
                    .unwrap_or_else(|| "your phone".into()),
                a.id.clone(),
            )
        }),
        totp: mine.iter().any(|a| a.kind == "totp"),
        recovery_code: all.iter().any(|a| a.kind == "recovery-code" && a.confirmed),
        sms: sms_on && channels.iter().any(|c| c == "sms"),
        voice: sms_on && channels.iter().any(|c| c == "voice"),
    })
}

fn token_of(ctx: &Ctx, d: &TxnData) -> Result<Option<MfaToken>> {
    Ok(d.mfa_token
        .as_deref()
        .and_then(|t| mfa_token::open(ctx, t, Some(&d.request.client_id)).ok()))
}

/// Sends a code to the enrolled phone (`channel`: `sms`, `voice`, or the phone's own);
/// records the challenge in `d`; returns the notice for the page.
async fn send(
    ctx: &Ctx,
    d: &mut TxnData,
    channel: Option<&str>,
    ip: &str,
) -> Result<Option<Notice>> {
    let Some(t) = token_of(ctx, d)? else {
        return Ok(notice("expired"));
    };
    let Some((masked, dev)) = d.factors.phone.clone() else {
        return Ok(notice("no_phone"));
    };
    let aid = channel.map(|c| format!("{c}|{dev}"));
    match mfa_api::challenge(ctx, &t, Some("oob"), aid.as_deref(), ip).await {
        Ok(Challenge::Oob { oob_code, .. }) => {
            d.oob_code = Some(oob_code);
            d.sent_at = Some(ctx.clock.now_ms());
            d.sent_to = Some((masked, channel.unwrap_or("sms").to_string()));
            Ok(None)
        }
        Ok(Challenge::Otp {}) => Ok(None),
        Err(Error::OAuth(e)) => Ok(Some(step_notice(&e))),
        Err(e) => Err(e),
    }
}

/// The readable text of a `/dbconnections` error (a password-strength error's `message`).
fn legacy_text(e: &crate::error::LegacyError) -> String {
    e.extra
        .get("message")
        .and_then(|m| m.as_str())
        .or(e.description.as_str())
        .unwrap_or("The request was refused.")
        .to_string()
}

fn step_notice(e: &crate::error::OAuthError) -> Notice {
    let key = match e.kind {
        OAuthKind::InvalidGrant => "wrong_code",
        OAuthKind::ChallengeExpired | OAuthKind::MfaTokenExpired => "code_expired",
        OAuthKind::TooManyAttempts => "too_many_attempts",
        OAuthKind::BadPhoneNumber => "bad_phone",
        _ => "failed",
    };
    Notice {
        key: key.into(),
        detail: Some(e.description.clone()),
    }
}

/// `/continue?state=…`: the browser is back from a post-login Action's redirect. The action
/// that redirected runs its `onContinuePostLogin` with the request's parameters, then the
/// rest of the flow as after a password (the later Actions, the MFA decision). A transaction
/// resumes once.
pub async fn resume(
    ctx: &Ctx,
    t: &Txn,
    params: &std::collections::BTreeMap<String, String>,
    ip: &str,
    ua: Option<&str>,
) -> Result<Outcome> {
    // No form here (the browser comes back from another site): the transaction's current
    // token is the one spent, so it still resumes once.
    let csrf = t.csrf.clone();
    let Some(t) = claim_at(ctx, t, &csrf, &[Step::Redirected]).await? else {
        return Ok(Outcome::Stale);
    };
    let d = t.data.clone();
    let Some(user) = store::users::get(&ctx.db, d.user_id.as_deref().unwrap_or(""))
        .await?
        .filter(|u| !u.blocked)
    else {
        store::login_txns::delete(&ctx.db, &t.id_hash).await?;
        return Ok(Outcome::Done {
            reply: Reply::error(&d.request, "access_denied", "The user is blocked or gone."),
            session: None,
            remember: None,
        });
    };
    let flow = Flow {
        state: &t.id,
        ip,
        ua,
        remember_cookie: None,
        resume: Some(params),
    };
    proceed(ctx, &t, d, &user, &flow).await
}

/// After the first factor (or back from a redirect): the Actions and the MFA decision, then
/// the application's answer, or the next page.
async fn proceed(
    ctx: &Ctx,
    t: &Txn,
    mut d: TxnData,
    user: &UserRow,
    flow: &Flow<'_>,
) -> Result<Outcome> {
    match after_password(ctx, &mut d, user, flow).await? {
        After::Reply(reply) => {
            store::login_txns::delete(&ctx.db, &t.id_hash).await?;
            Ok(Outcome::Done {
                reply,
                session: None,
                remember: None,
            })
        }
        After::Complete { mfa } => {
            let mfa = mfa || d.mfa_done;
            complete(ctx, t, &d, user, mfa, false, flow.ip, flow.ua).await
        }
        After::SecondFactor | After::Redirect => {
            let n = d.notice.clone();
            save(ctx, t, d, n).await
        }
    }
}

/// Where a redirected transaction sends the browser.
pub fn redirect_target(t: &Txn) -> Option<&str> {
    (t.data.step == Step::Redirected)
        .then(|| t.data.suspended.as_ref().map(|s| s.url.as_str()))
        .flatten()
}

/// The login form: `username` and `password` on the request's connection.
#[allow(clippy::too_many_arguments)]
pub async fn password(
    ctx: &Ctx,
    t: &Txn,
    csrf: &str,
    username: &str,
    password: &str,
    remember_cookie: Option<&str>,
    ip: &str,
    ua: Option<&str>,
) -> Result<Outcome> {
    let Some(t) = claim_at(ctx, t, csrf, &[Step::Login]).await? else {
        return Ok(Outcome::Stale);
    };
    let mut d = t.data.clone();
    d.username = Some(username.chars().take(320).collect());
    if username.trim().is_empty() || password.is_empty() {
        return save(ctx, &t, d, notice("missing_fields")).await;
    }
    let r = d.request.clone();
    let Some(c) = authorize::connection(ctx, &r)
        .await?
        .filter(Connection::is_database)
    else {
        return save(ctx, &t, d, notice("failed")).await;
    };
    let base = LogEvent {
        user_name: Some(username.to_string()),
        ..log_base(&r, Some(&c), ip, ua)
    };
    let user = match login::first_factor(ctx, &c, username, password, ip, &base).await {
        Ok(u) => u,
        Err(Error::OAuth(e)) => {
            let key = match e.kind {
                OAuthKind::TooManyAttempts => "too_many_logins",
                OAuthKind::Blocked => "blocked",
                OAuthKind::Extensibility => "failed",
                _ => "wrong_credentials",
            };
            return save(ctx, &t, d, notice(key)).await;
        }
        Err(e) => return Err(e),
    };
    d.auth_time = Some(ctx.clock.now_ms());
    d.user_id = Some(user.user_id.clone());
    let flow = Flow {
        state: &t.id,
        ip,
        ua,
        remember_cookie,
        resume: None,
    };
    proceed(ctx, &t, d, &user, &flow).await
}

/// The signup form: a new user on the request's connection, then logged in.
#[allow(clippy::too_many_arguments)]
pub async fn signup(
    ctx: &Ctx,
    t: &Txn,
    csrf: &str,
    email: &str,
    password: &str,
    remember_cookie: Option<&str>,
    ip: &str,
    ua: Option<&str>,
) -> Result<Outcome> {
    let Some(t) = claim_at(ctx, t, csrf, &[Step::Login]).await? else {
        return Ok(Outcome::Stale);
    };
    let mut d = t.data.clone();
    d.username = Some(email.chars().take(320).collect());
    if email.trim().is_empty() || password.is_empty() {
        return save(ctx, &t, d, notice("missing_fields")).await;
    }
    let r = d.request.clone();
    let made = signup::signup(
        ctx,
        signup::Signup {
            client_id: r.client_id.clone(),
            connection: r.connection.clone(),
            email: Some(email.trim().to_string()),
            username: None,
            phone_number: None,
            password: password.to_string(),
            given_name: None,
            family_name: None,
            name: None,
            nickname: None,
            picture: None,
            user_metadata: Default::default(),
            ip: ip.to_string(),
            user_agent: ua.map(str::to_string),
        },
    )
    .await;
    let user = match made {
        Ok(u) => u,
        Err(Error::Legacy(e)) => {
            let n = Notice {
                key: "signup_failed".into(),
                detail: Some(legacy_text(&e)),
            };
            return save(ctx, &t, d, Some(n)).await;
        }
        Err(Error::OAuth(e)) => {
            let n = Notice {
                key: "signup_failed".into(),
                detail: Some(e.description.clone()),
            };
            return save(ctx, &t, d, Some(n)).await;
        }
        Err(e) => return Err(e),
    };
    d.auth_time = Some(ctx.clock.now_ms());
    d.user_id = Some(user.user_id.clone());
    let flow = Flow {
        state: &t.id,
        ip,
        ua,
        remember_cookie,
        resume: None,
    };
    proceed(ctx, &t, d, &user, &flow).await
}

/// "Forgot your password?": asks for the reset link as `/dbconnections/change_password` does
/// (the same answer whether or not the account exists).
pub async fn forgot(ctx: &Ctx, t: &Txn, csrf: &str, email: &str) -> Result<Outcome> {
    let Some(t) = claim_at(ctx, t, csrf, &[Step::Login]).await? else {
        return Ok(Outcome::Stale);
    };
    let mut d = t.data.clone();
    if email.trim().is_empty() {
        return save(ctx, &t, d, notice("missing_fields")).await;
    }
    let r = d.request.clone();
    match passwords::request_change(ctx, &r.client_id, &r.connection, Some(email.trim()), None)
        .await
    {
        Ok(_) => {}
        Err(Error::Legacy(e)) => {
            let n = Notice {
                key: "failed".into(),
                detail: Some(legacy_text(&e)),
            };
            return save(ctx, &t, d, Some(n)).await;
        }
        Err(e) => return Err(e),
    }
    d.step = Step::ResetSent;
    d.username = Some(email.trim().chars().take(320).collect());
    save(ctx, &t, d, None).await
}

/// Back to the login form (from the reset-sent page, or to sign in as someone else).
pub async fn restart(ctx: &Ctx, t: &Txn, csrf: &str) -> Result<Outcome> {
    let Some(t) = claim(ctx, t, csrf).await? else {
        return Ok(Outcome::Stale);
    };
    let mut d = TxnData::new(t.data.request.clone());
    d.username = t.data.username.clone();
    save(ctx, &t, d, None).await
}

/// The enrolment form: the phone number (with the country chosen) and the channel.
pub async fn enroll(
    ctx: &Ctx,
    t: &Txn,
    csrf: &str,
    country: &str,
    number: &str,
    channel: &str,
    ip: &str,
) -> Result<Outcome> {
    let Some(t) = claim_at(ctx, t, csrf, &[Step::MfaEnroll, Step::MfaEnrollCode]).await? else {
        return Ok(Outcome::Stale);
    };
    let mut d = t.data.clone();
    d.step = Step::MfaEnroll;
    let Some(tok) = token_of(ctx, &d)? else {
        return save(ctx, &t, d, notice("expired")).await;
    };
    let region = Some(country).filter(|c| c.len() == 2);
    let e164 = match phone::normalize(number, region.or(ctx.config.default_region.as_deref())) {
        Ok(p) => p,
        Err(_) => return save(ctx, &t, d, notice("bad_phone")).await,
    };
    let channel = if channel == "voice" && d.factors.voice {
        "voice"
    } else if d.factors.sms {
        "sms"
    } else {
        "voice"
    };
    let asked = mfa_api::associate(
        ctx,
        &Bearer::Mfa(tok.clone()),
        &d.request.client_id,
        &Associate {
            authenticator_types: vec!["oob".into()],
            oob_channels: vec![channel.into()],
            phone_number: Some(e164.as_str().to_string()),
        },
        ip,
    )
    .await;
    match asked {
        Ok(Associated::Oob {
            oob_code,
            recovery_codes,
            ..
        }) => {
            d.oob_code = Some(oob_code);
            d.sent_at = Some(ctx.clock.now_ms());
            d.sent_to = Some((phone::mask(&e164), channel.to_string()));
            d.recovery_sealed = recovery_codes
                .and_then(|c| c.into_iter().next())
                .map(|c| ctx.secrets.seal(c.as_bytes()));
            d.step = Step::MfaEnrollCode;
            save(ctx, &t, d, None).await
        }
        Ok(Associated::Otp { .. }) => save(ctx, &t, d, notice("failed")).await,
        Err(Error::OAuth(e)) => save(ctx, &t, d, Some(step_notice(&e))).await,
        Err(Error::Invalid { message, .. }) => {
            let n = Notice {
                key: "bad_phone".into(),
                detail: Some(message),
            };
            save(ctx, &t, d, Some(n)).await
        }
        Err(e) => Err(e),
    }
}

/// "Send another code" / "Call me instead" on the challenge page.
pub async fn resend(ctx: &Ctx, t: &Txn, csrf: &str, channel: &str, ip: &str) -> Result<Outcome> {
    let Some(t) = claim_at(ctx, t, csrf, &[Step::MfaChallenge]).await? else {
        return Ok(Outcome::Stale);
    };
    let mut d = t.data.clone();
    let now = ctx.clock.now_ms();
    if d.sent_at.is_some_and(|s| now - s < RESEND_AFTER_MS) {
        return save(ctx, &t, d, notice("wait_resend")).await;
    }
    let ch = match channel {
        "voice" if d.factors.voice => Some("voice"),
        "sms" if d.factors.sms => Some("sms"),
        _ => None,
    };
    let n = send(ctx, &mut d, ch, ip).await?;
    let n = n.or(notice("sent"));
    save(ctx, &t, d, n).await
}

/// Passwordless SMS, first step: the number (with the country chosen) gets a login code
/// (`passwordless::send_code`: the number's, the address's and the application's budgets).
pub async fn passwordless_start(
    ctx: &Ctx,
    t: &Txn,
    csrf: &str,
    country: &str,
    number: &str,
    ip: &str,
) -> Result<Outcome> {
    let steps = [Step::Login, Step::PasswordlessCode];
    let Some(t) = claim_at(ctx, t, csrf, &steps).await? else {
        return Ok(Outcome::Stale);
    };
    let mut d = t.data.clone();
    let Some(c) = authorize::connection(ctx, &d.request)
        .await?
        .filter(|c| c.strategy == "sms")
    else {
        return save(ctx, &t, d, notice("failed")).await;
    };
    let region = Some(country).filter(|c| c.len() == 2);
    let Ok(e164) = phone::normalize(number, region.or(ctx.config.default_region.as_deref())) else {
        return save(ctx, &t, d, notice("bad_phone")).await;
    };
    match crate::service::oauth::passwordless::send_code(
        ctx,
        &d.request.client_id,
        &c,
        e164.as_str(),
        ip,
    )
    .await
    {
        Ok(to) => {
            d.step = Step::PasswordlessCode;
            d.username = Some(to);
            d.sent_to = Some((phone::mask(&e164), "sms".into()));
            d.sent_at = Some(ctx.clock.now_ms());
            save(ctx, &t, d, None).await
        }
        Err(Error::OAuth(e)) => {
            let n = match e.kind {
                OAuthKind::BadConnection => Notice {
                    key: "signup_failed".into(),
                    detail: Some(e.description.clone()),
                },
                _ => step_notice(&e),
            };
            save(ctx, &t, d, Some(n)).await
        }
        Err(e) => Err(e),
    }
}

/// Passwordless SMS, second step: the code; then the login proceeds as after a password.
pub async fn passwordless_verify(
    ctx: &Ctx,
    t: &Txn,
    csrf: &str,
    code: &str,
    ip: &str,
    ua: Option<&str>,
) -> Result<Outcome> {
    let Some(t) = claim_at(ctx, t, csrf, &[Step::PasswordlessCode]).await? else {
        return Ok(Outcome::Stale);
    };
    let mut d = t.data.clone();
    let Some(c) = authorize::connection(ctx, &d.request)
        .await?
        .filter(|c| c.strategy == "sms")
    else {
        return save(ctx, &t, d, notice("failed")).await;
    };
    let number = d.username.clone().unwrap_or_default();
    let checked = crate::service::oauth::passwordless::verify_code(
        ctx,
        &d.request.client_id,
        &c,
        &number,
        code.trim(),
    )
    .await;
    let user = match checked {
        Ok(u) => u,
        Err(Error::OAuth(e)) if e.kind == OAuthKind::Blocked => {
            return save(ctx, &t, d, notice("blocked")).await;
        }
        Err(Error::OAuth(e)) => return save(ctx, &t, d, Some(step_notice(&e))).await,
        Err(e) => return Err(e),
    };
    d.passwordless = true;
    d.auth_time = Some(ctx.clock.now_ms());
    d.user_id = Some(user.user_id.clone());
    d.step = Step::Login;
    let flow = Flow {
        state: &t.id,
        ip,
        ua,
        remember_cookie: None,
        resume: None,
    };
    proceed(ctx, &t, d, &user, &flow).await
}

/// How a code is answered.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// The code sent by SMS or voice (enrolment or challenge).
    Phone(&'a str),
    Totp(&'a str),
    RecoveryCode(&'a str),
}

/// A code typed on the enrolment or challenge page.
#[allow(clippy::too_many_arguments)]
pub async fn verify(
    ctx: &Ctx,
    t: &Txn,
    csrf: &str,
    answer: Answer<'_>,
    remember: bool,
    ip: &str,
    ua: Option<&str>,
) -> Result<Outcome> {
    let Some(t) = claim_at(ctx, t, csrf, &[Step::MfaEnrollCode, Step::MfaChallenge]).await? else {
        return Ok(Outcome::Stale);
    };
    let mut d = t.data.clone();
    let Some(tok) = token_of(ctx, &d)? else {
        return save(ctx, &t, d, notice("expired")).await;
    };
    let checked = match answer {
        Answer::Phone(code) => {
            let Some(oob) = d.oob_code.clone() else {
                return save(ctx, &t, d, notice("no_code_sent")).await;
            };
            mfa_grants::verify_oob(ctx, &tok, &oob, Some(code.trim()))
                .await
                .map(|u| (u, None))
        }
        Answer::Totp(code) if d.step == Step::MfaChallenge => {
            mfa_grants::verify_otp(ctx, &tok, code.trim(), false)
                .await
                .map(|u| (u, None))
        }
        Answer::RecoveryCode(code) if d.step == Step::MfaChallenge => {
            mfa_grants::verify_recovery(ctx, &tok, code.trim())
                .await
                .map(|(u, next)| (u, Some(next)))
        }
        _ => return Ok(Outcome::Stale),
    };
    let (user, next) = match checked {
        Ok(x) => x,
        Err(Error::OAuth(e)) => return save(ctx, &t, d, Some(step_notice(&e))).await,
        Err(e) => return Err(e),
    };
    if let Some(next) = next {
        d.recovery_sealed = Some(ctx.secrets.seal(next.as_bytes()));
    }
    if d.recovery_sealed.is_some() {
        // Shown once, then the login completes when the user says they saved it.
        d.step = Step::RecoverySave;
        d.recovery_pending = true;
        d.oob_code = None;
        d.mfa_token = None;
        d.notice = None;
        d.remember = remember;
        advance(ctx, &t, &d).await?;
        return Ok(Outcome::Page);
    }
    complete(ctx, &t, &d, &user, true, remember, ip, ua).await
}

/// "I have saved my recovery code".
pub async fn saved(
    ctx: &Ctx,
    t: &Txn,
    csrf: &str,
    confirmed: bool,
    ip: &str,
    ua: Option<&str>,
) -> Result<Outcome> {
    let Some(t) = claim_at(ctx, t, csrf, &[Step::RecoverySave]).await? else {
        return Ok(Outcome::Stale);
    };
    if !confirmed {
        return save(ctx, &t, t.data.clone(), notice("confirm_saved")).await;
    }
    let d = t.data.clone();
    let Some(user) = store::users::get(&ctx.db, d.user_id.as_deref().unwrap_or("")).await? else {
        return Ok(Outcome::Stale);
    };
    complete(ctx, &t, &d, &user, true, d.remember, ip, ua).await
}

/// The login is complete: the session, the code, the log entry; the transaction is gone.
#[allow(clippy::too_many_arguments)]
async fn complete(
    ctx: &Ctx,
    t: &Txn,
    d: &TxnData,
    user: &UserRow,
    mfa: bool,
    remember: bool,
    ip: &str,
    ua: Option<&str>,
) -> Result<Outcome> {
    if store::login_txns::delete(&ctx.db, &t.id_hash).await? == 0 {
        return Ok(Outcome::Stale);
    }
    let auth_time = d.auth_time.unwrap_or_else(|| ctx.clock.now_ms());
    let session = match &d.session_hash {
        Some(h) => {
            if mfa {
                sessions::mark_mfa(ctx, h).await?;
            }
            None
        }
        None => Some(sessions::open(ctx, &user.user_id, auth_time, mfa).await?),
    };
    if d.session_hash.is_none() && !mfa {
        // A login without a second factor is recorded here; the MFA checks record theirs.
        let mut tx = ctx.db.begin().await?;
        store::users::record_login(&mut tx, &user.user_id, ctx.clock.now_ms(), Some(ip)).await?;
        tx.commit().await?;
    }
    let reply = finish_code(ctx, d, &user.user_id, mfa).await?;
    logs::record(
        ctx,
        LogEvent {
            kind: "s",
            description: Some("Successful login".into()),
            user_id: Some(user.user_id.clone()),
            user_name: user.email.clone().or(user.username.clone()),
            ..log_base(&d.request, None, ip, ua)
        },
    );
    let days = ctx.config.hosted.mfa_remember_days;
    let remember = if remember && mfa && days > 0 && d.remember_allowed {
        Some(sessions::remember(ctx, &user.user_id, days)?)
    } else {
        None
    };
    Ok(Outcome::Done {
        reply,
        session,
        remember,
    })
}

async fn finish_code(ctx: &Ctx, d: &TxnData, user_id: &str, mfa: bool) -> Result<Reply> {
    authorize::issue_code(
        ctx,
        Granted {
            request: &d.request,
            user_id,
            auth_time_ms: d.auth_time.unwrap_or_else(|| ctx.clock.now_ms()),
            mfa,
            custom: d.custom.clone(),
            first_factor: if d.passwordless { "sms" } else { "pwd" },
        },
    )
    .await
}
