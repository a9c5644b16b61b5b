//! One error renderer per surface. `MgmtError` renders Auth0's Management ("Boom") body
//! `{statusCode, error, message, errorCode?}`; `AuthError` renders the Authentication API's
//! OAuth body `{error, error_description}`. Internal failures are logged with the request's
//! span (which carries the request id) and shown to the client only as a generic 5xx.

use crate::error::{Error, OAuthKind};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn log_internal(e: &Error) {
    match e {
        Error::Internal(m) => tracing::error!(error = %m, "internal error"),
        Error::Unavailable(m) => tracing::error!(error = %m, "dependency unavailable"),
        _ => {}
    }
}

fn retry_headers(r: &mut Response, retry_after: u64, limit: u64, reset: i64) {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        h.insert(header::RETRY_AFTER, v);
    }
    if let Ok(v) = HeaderValue::from_str(&limit.to_string()) {
        h.insert("x-ratelimit-limit", v);
    }
    h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
    if let Ok(v) = HeaderValue::from_str(&reset.to_string()) {
        h.insert("x-ratelimit-reset", v);
    }
}

/// Management API error body.
pub struct MgmtError(pub Error);

impl From<Error> for MgmtError {
    fn from(e: Error) -> Self {
        MgmtError(e)
    }
}

pub fn mgmt_body(status: StatusCode, message: &str, error_code: Option<&str>) -> Value {
    let mut b = json!({"statusCode": status.as_u16(), "error": reason(status), "message": message});
    if let Some(c) = error_code {
        b["errorCode"] = json!(c);
    }
    b
}

impl IntoResponse for MgmtError {
    fn into_response(self) -> Response {
        let e = self.0;
        log_internal(&e);
        let (status, body) = match &e {
            Error::NotFound {
                message,
                error_code,
            } => (
                StatusCode::NOT_FOUND,
                mgmt_body(StatusCode::NOT_FOUND, message, *error_code),
            ),
            Error::Conflict {
                message,
                error_code,
            } => (
                StatusCode::CONFLICT,
                mgmt_body(StatusCode::CONFLICT, message, Some(error_code)),
            ),
            Error::Invalid {
                message,
                error_code,
            } => (
                StatusCode::BAD_REQUEST,
                mgmt_body(StatusCode::BAD_REQUEST, message, Some(error_code)),
            ),
            Error::Unauthenticated { message } => {
                let mut b = mgmt_body(StatusCode::UNAUTHORIZED, message, None);
                if message != "Missing authentication" {
                    b["attributes"] = json!({"error": message});
                }
                (StatusCode::UNAUTHORIZED, b)
            }
            Error::Forbidden {
                message,
                error_code,
            } => (
                StatusCode::FORBIDDEN,
                mgmt_body(StatusCode::FORBIDDEN, message, Some(error_code)),
            ),
            Error::InsufficientScope { .. } => (
                StatusCode::FORBIDDEN,
                mgmt_body(
                    StatusCode::FORBIDDEN,
                    &e.to_string(),
                    Some("insufficient_scope"),
                ),
            ),
            Error::OAuth(o) => {
                let s = oauth_status(o.kind);
                (s, mgmt_body(s, &o.description, Some(o.error())))
            }
            Error::MfaRequired { .. } => (
                StatusCode::FORBIDDEN,
                mgmt_body(
                    StatusCode::FORBIDDEN,
                    "Multifactor authentication required",
                    Some("mfa_required"),
                ),
            ),
            Error::Legacy(l) => {
                let s = legacy_status(l);
                let m = l
                    .description
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| l.code.to_string());
                (s, mgmt_body(s, &m, Some(l.code)))
            }
            Error::RateLimited {
                retry_after_secs,
                limit,
                reset_unix,
            } => {
                let mut r = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    mgmt_body(
                        StatusCode::TOO_MANY_REQUESTS,
                        "Global limit has been reached",
                        Some("too_many_requests"),
                    ),
                );
                retry_headers(&mut r, *retry_after_secs, *limit, *reset_unix);
                return r;
            }
            Error::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                mgmt_body(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("Payload content length greater than maximum allowed: {limit}"),
                    None,
                ),
            ),
            Error::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                mgmt_body(
                    StatusCode::REQUEST_TIMEOUT,
                    "Request body was not received in time",
                    None,
                ),
            ),
            Error::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                mgmt_body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An internal server error occurred",
                    None,
                ),
            ),
            Error::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                mgmt_body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service temporarily unavailable",
                    None,
                ),
            ),
        };
        json_response(status, body)
    }
}

/// Authentication API (OAuth) error body.
pub struct AuthError(pub Error);

impl From<Error> for AuthError {
    fn from(e: Error) -> Self {
        AuthError(e)
    }
}
impl From<crate::error::OAuthError> for AuthError {
    fn from(e: crate::error::OAuthError) -> Self {
        AuthError(Error::OAuth(e))
    }
}

/// The status Auth0 answers an Authentication-API error with, by its kind.
pub fn oauth_status(kind: OAuthKind) -> StatusCode {
    match kind {
        OAuthKind::InvalidRequest
        | OAuthKind::UnsupportedGrantType
        | OAuthKind::BadConnection
        | OAuthKind::BadPhoneNumber
        | OAuthKind::Extensibility => StatusCode::BAD_REQUEST,
        OAuthKind::ClientUnauthenticated
        | OAuthKind::MfaTokenExpired
        | OAuthKind::Blocked
        | OAuthKind::InvalidToken
        | OAuthKind::UnsupportedChallengeType => StatusCode::UNAUTHORIZED,
        OAuthKind::Denied
        | OAuthKind::InvalidGrant
        | OAuthKind::ChallengeExpired
        | OAuthKind::UnauthorizedClient
        | OAuthKind::InvalidScope
        | OAuthKind::AssociationRequired => StatusCode::FORBIDDEN,
        OAuthKind::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
    }
}

pub fn oauth_body(error: &str, description: &str) -> Value {
    json!({"error": error, "error_description": description})
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let e = self.0;
        log_internal(&e);
        if let Error::MfaRequired {
            mfa_token,
            requirements,
        } = &e
        {
            let mut b = oauth_body("mfa_required", "Multifactor authentication required");
            b["mfa_token"] = json!(mfa_token);
            b["mfa_requirements"] = requirements.clone();
            let mut r = json_response(StatusCode::FORBIDDEN, b);
            r.headers_mut()
                .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            return r;
        }
        let (status, error, desc): (StatusCode, &str, String) = match &e {
            Error::OAuth(o) => (oauth_status(o.kind), o.error(), o.description.clone()),
            Error::MfaRequired { .. } => (
                StatusCode::FORBIDDEN,
                "mfa_required",
                "Multifactor authentication required".into(),
            ),
            Error::Legacy(l) => (
                legacy_status(l),
                l.code,
                l.description
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| l.code.to_string()),
            ),
            Error::Invalid { message, .. } => {
                (StatusCode::BAD_REQUEST, "invalid_request", message.clone())
            }
            Error::NotFound { message, .. } => {
                (StatusCode::NOT_FOUND, "not_found", message.clone())
            }
            Error::Conflict { message, .. } => (StatusCode::CONFLICT, "conflict", message.clone()),
            Error::Unauthenticated { message } => {
                (StatusCode::UNAUTHORIZED, "invalid_token", message.clone())
            }
            Error::Forbidden { message, .. } => {
                (StatusCode::FORBIDDEN, "access_denied", message.clone())
            }
            Error::InsufficientScope { .. } => {
                (StatusCode::FORBIDDEN, "insufficient_scope", e.to_string())
            }
            Error::RateLimited {
                retry_after_secs,
                limit,
                reset_unix,
            } => {
                let mut r = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    oauth_body(
                        "too_many_requests",
                        "Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.",
                    ),
                );
                retry_headers(&mut r, *retry_after_secs, *limit, *reset_unix);
                return r;
            }
            Error::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("Request body larger than maximum allowed: {limit}"),
            ),
            Error::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request",
                "Request body was not received in time".into(),
            ),
            Error::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "An internal server error occurred".into(),
            ),
            Error::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Service temporarily unavailable".into(),
            ),
        };
        let mut r = json_response(status, oauth_body(error, &desc));
        r.headers_mut()
            .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        r
    }
}

/// `/dbconnections/*` error body (the legacy family): `{name, code, description, statusCode}`
/// plus any extra fields; other errors are mapped into that family by meaning.
pub struct LegacyHttpError(pub Error);

impl From<Error> for LegacyHttpError {
    fn from(e: Error) -> Self {
        LegacyHttpError(e)
    }
}
impl From<crate::error::LegacyError> for LegacyHttpError {
    fn from(e: crate::error::LegacyError) -> Self {
        LegacyHttpError(Error::Legacy(e))
    }
}

/// The status of a `/dbconnections/*` error, by its name: `ForbiddenError` is 403; every
/// other name callsign uses (bad requests, password policy failures) is 400.
fn legacy_status(l: &crate::error::LegacyError) -> StatusCode {
    match l.name {
        "ForbiddenError" => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for LegacyHttpError {
    fn into_response(self) -> Response {
        let e = self.0;
        log_internal(&e);
        let l = match e {
            Error::Legacy(l) => l,
            Error::Invalid { message, .. } => {
                crate::error::LegacyError::bad_request("invalid_request", message)
            }
            Error::RateLimited { .. }
            | Error::Internal(_)
            | Error::Unavailable(_)
            | Error::PayloadTooLarge { .. }
            | Error::RequestTimeout => {
                return AuthError(e).into_response();
            }
            other => {
                let r = MgmtError(other).into_response();
                return r;
            }
        };
        let status = legacy_status(&l);
        let mut body = serde_json::Map::new();
        body.insert("name".into(), json!(l.name));
        body.insert("code".into(), json!(l.code));
        body.insert("description".into(), l.description);
        for (k, v) in l.extra {
            body.insert(k, v);
        }
        body.insert("statusCode".into(), json!(status.as_u16()));
        json_response(status, Value::Object(body))
    }
}
