//! Extractors: `Mgmt<R>` authenticates a Management API bearer token and checks the scope
//! requirement `R` (so each handler's signature shows what it needs); `MgmtBody` and
//! `AuthParams` read JSON or form bodies into Auth0-shaped errors instead of axum's plain text;
//! `Query` keeps repeated query keys (`strategy=a&strategy=b`).

use crate::ctx::Ctx;
use crate::domain::claims::AccessClaims;
pub use crate::domain::json::type_name as json_type;
use crate::domain::scopes::Required;
use crate::error::{Error, OAuthError, OAuthKind};
use crate::http::errors::{AuthError, MgmtError};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde_json::{Map, Value};
use std::marker::PhantomData;

pub const BODY_LIMIT: usize = 1024 * 1024;

pub struct Mgmt<R: Required> {
    pub claims: AccessClaims,
    _r: PhantomData<R>,
}

impl<R: Required> Mgmt<R> {
    pub fn has_scope(&self, s: &str) -> bool {
        self.claims.has_any_scope(&[s])
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_token(&parts.headers)
}

/// The token of an `Authorization: Bearer …` header, if there is one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

impl<R: Required> FromRequestParts<Ctx> for Mgmt<R> {
    type Rejection = MgmtError;
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(Error::Unauthenticated {
            message: "Missing authentication".into(),
        })?;
        let claims = ctx.keys.verify(ctx, token, &ctx.mgmt_audience()).await?;
        if let Some(slot) = parts.extensions.get::<crate::http::audit::CallerSlot>() {
            let sub = claims.sub.strip_suffix("@clients").unwrap_or(&claims.sub);
            slot.set(claims.azp.clone().unwrap_or_else(|| sub.to_string()));
        }
        // Only a client-credentials token issued to a client may call the Management API:
        // a user token (password, MFA, passwordless, refresh grants) for this audience carries
        // at most the current-user scopes, which no endpoint here accepts; one minted before
        // that rule, or by any other path, is refused the same way (Auth0's 403 body).
        if !is_client_token(&claims) || !claims.has_any_scope(R::ANY_OF) {
            return Err(Error::InsufficientScope {
                expected: R::ANY_OF,
            }
            .into());
        }
        Ok(Mgmt {
            claims,
            _r: PhantomData,
        })
    }
}

/// Issued by the client-credentials grant to a client: `gty` says so and `sub` is
/// `<azp>@clients`.
pub fn is_client_token(claims: &AccessClaims) -> bool {
    claims.gty.as_deref() == Some("client-credentials")
        && claims
            .azp
            .as_deref()
            .is_some_and(|azp| claims.sub == crate::domain::claims::client_subject(azp))
}

/// The claims of `token` when it verifies as a Management API client token (what the
/// limiter keys its per-client bucket by); `None` for anything else. Cheap for garbage: a
/// cached token is one hash lookup, an unparsable one fails before any cryptography, and an
/// unknown `kid` never forces more than the key ring's rate-limited reload.
pub async fn client_claims(ctx: &Ctx, token: &str) -> Option<AccessClaims> {
    ctx.keys
        .verify(ctx, token, &ctx.mgmt_audience())
        .await
        .ok()
        .filter(is_client_token)
}

/// Whether `token` still passes what `Mgmt<R>` checked when a stream opened: it verifies
/// (signature by a still-published key, `exp`/`nbf` against the clock), it is a client token,
/// and it holds one of `any_of`. Live feeds re-ask this on every keep-alive and event.
pub async fn token_allows(ctx: &Ctx, token: &str, any_of: &[&str]) -> bool {
    client_claims(ctx, token)
        .await
        .is_some_and(|c| c.has_any_scope(any_of))
}

/// All query pairs in order, repeated keys kept.
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
    pub fn bool(&self, k: &str) -> Result<Option<bool>, MgmtError> {
        match self.get(k) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(Error::invalid_query(format!(
                "Query validation error: 'Expected type boolean but found type string' on property {k}."
            ))
            .into()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = MgmtError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map(Query)
            .map_err(|_| {
                Error::invalid_query("Query validation error: invalid query string").into()
            })
    }
}

async fn read_body(req: Request) -> Result<(Option<String>, bytes::Bytes), Error> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let body = super::body::read(req.into_body(), BODY_LIMIT).await?;
    Ok((ct, body))
}

/// A Management API JSON object body. An empty body reads as `{}`.
pub struct MgmtBody(pub Map<String, Value>);

impl FromRequest<Ctx> for MgmtBody {
    type Rejection = MgmtError;
    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        match MgmtJson::from_request(req, ctx).await?.0 {
            Value::Null => Ok(MgmtBody(Map::new())),
            Value::Object(m) => Ok(MgmtBody(m)),
            other => Err(Error::invalid_body(format!(
                "Payload validation error: 'Expected type object but found type {}'.",
                json_type(&other)
            ))
            .into()),
        }
    }
}

/// A Management API object body parsed into a `wire` type (`wire::parse::body`: Auth0's
/// validation wording). An empty body reads as `{}`, as for [`MgmtBody`].
pub struct Typed<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<Ctx> for Typed<T> {
    type Rejection = MgmtError;
    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let MgmtBody(b) = MgmtBody::from_request(req, ctx).await?;
        Ok(Typed(crate::wire::parse::body(Value::Object(b))?))
    }
}

/// Like [`Typed`], but an empty body reads as `null` and is refused as not an object (the
/// guardian endpoints answer it so).
pub struct TypedStrict<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<Ctx> for TypedStrict<T> {
    type Rejection = MgmtError;
    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let MgmtJson(b) = MgmtJson::from_request(req, ctx).await?;
        Ok(TypedStrict(crate::wire::parse::body(b)?))
    }
}

/// A Management API array body parsed into a `wire` type (`PUT /guardian/policies`).
pub struct TypedArray<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<Ctx> for TypedArray<T> {
    type Rejection = MgmtError;
    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let MgmtJson(b) = MgmtJson::from_request(req, ctx).await?;
        Ok(TypedArray(crate::wire::parse::array(b)?))
    }
}

/// A Management API JSON body of any type (arrays: `PATCH /connections/{id}/clients`).
/// An empty body reads as `null`.
pub struct MgmtJson(pub Value);

impl FromRequest<Ctx> for MgmtJson {
    type Rejection = MgmtError;
    async fn from_request(req: Request, _: &Ctx) -> Result<Self, Self::Rejection> {
        let (ct, body) = read_body(req).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(MgmtJson(Value::Null));
        }
        if ct.as_deref() != Some("application/json") {
            return Err(Error::Invalid {
                message: "Content-Type must be application/json".into(),
                error_code: "invalid_body",
            }
            .into());
        }
        serde_json::from_slice::<Value>(&body)
            .map(MgmtJson)
            .map_err(|_| Error::invalid_body("Invalid request payload JSON format").into())
    }
}

/// Authentication API parameters from a JSON or form body, plus HTTP Basic client credentials.
pub struct AuthParams {
    pub params: Map<String, Value>,
    pub basic: Option<(String, String)>,
}

impl AuthParams {
    /// A string parameter; present but not a string is a client error.
    /// The client's credentials, from the body (`client_id`/`client_secret`) or HTTP Basic.
    /// `exclusive` (the token endpoint): using both methods at once, or a body `client_id`
    /// other than Basic's, is refused. Otherwise (the MFA API, revocation) the body wins and
    /// Basic fills what it lacks.
    pub fn client_credentials(
        &self,
        exclusive: bool,
    ) -> Result<crate::service::oauth::token::ClientCredentials, AuthError> {
        use crate::service::oauth::token::ClientCredentials;
        let body_id = self.str("client_id")?.map(str::to_string);
        let body_secret = self.str("client_secret")?.map(str::to_string);
        match &self.basic {
            Some((id, secret)) if exclusive => {
                if body_secret.is_some() {
                    return Err(crate::error::OAuthError::invalid_request(
                        "Use only one client authentication method",
                    )
                    .into());
                }
                if body_id.as_deref().is_some_and(|b| b != id) {
                    return Err(crate::error::OAuthError::invalid_request(
                        "client_id does not match the Authorization header",
                    )
                    .into());
                }
                Ok(ClientCredentials {
                    client_id: Some(id.clone()),
                    client_secret: Some(secret.clone()),
                })
            }
            basic => Ok(ClientCredentials {
                client_id: body_id.or(basic.as_ref().map(|b| b.0.clone())),
                client_secret: body_secret.or(basic.as_ref().map(|b| b.1.clone())),
            }),
        }
    }

    pub fn str(&self, k: &str) -> Result<Option<&str>, AuthError> {
        match self.params.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(OAuthError::invalid_request(format!(
                "Invalid parameter: {k} must be a string"
            ))
            .into()),
        }
    }
    pub fn required(&self, k: &str) -> Result<&str, AuthError> {
        self.str(k)?.filter(|s| !s.is_empty()).ok_or_else(|| {
            OAuthError::invalid_request(format!("Missing required parameter: {k}")).into()
        })
    }
}

fn basic(parts: &axum::http::HeaderMap) -> Result<Option<(String, String)>, AuthError> {
    let Some(v) = parts
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || {
        AuthError::from(OAuthError::new(
            OAuthKind::ClientUnauthenticated,
            "Unauthorized",
        ))
    };
    let raw = crate::crypto::b64::decode(rest.trim()).ok_or_else(bad)?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let dec = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={}", s))
            .ok()
            .and_then(|v| v.into_iter().next())
            .map(|(_, v)| v)
    };
    Ok(Some((
        dec(id).ok_or_else(bad)?,
        dec(secret).ok_or_else(bad)?,
    )))
}

impl FromRequest<Ctx> for AuthParams {
    type Rejection = AuthError;
    async fn from_request(req: Request, _: &Ctx) -> Result<Self, Self::Rejection> {
        let basic = basic(req.headers())?;
        let (ct, body) = read_body(req).await?;
        let params = match ct.as_deref() {
            Some("application/json") => match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(OAuthError::invalid_request(
                        "Invalid JSON body: expected an object",
                    )
                    .into());
                }
            },
            Some("application/x-www-form-urlencoded") => {
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(&body).map_err(|_| {
                        AuthError::from(OAuthError::invalid_request("Invalid form body"))
                    })?;
                let mut m = Map::new();
                for (k, v) in pairs {
                    if m.insert(k.clone(), Value::String(v)).is_some() {
                        return Err(OAuthError::invalid_request(format!(
                            "Parameter {k} must not be repeated"
                        ))
                        .into());
                    }
                }
                m
            }
            _ => {
                return Err(OAuthError::invalid_request(
                    "Content-Type must be application/json or application/x-www-form-urlencoded",
                )
                .into());
            }
        };
        Ok(AuthParams { params, basic })
    }
}

/// The caller's IP address (brute-force protection, logs): what `http::client_addr` resolved
/// (the TCP peer, or the client a trusted proxy or trusted `auth0-forwarded-for` names).
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            crate::http::client_addr::ClientAddr::of(&parts.extensions).text(),
        ))
    }
}
