//! The one error type services return, by meaning rather than by surface. Each variant has a
//! stable code (`Error::code`) for logs and tests; `http::errors` renders it per surface
//! (OAuth body, Management "Boom" body). Internal details stay in the log, never in a response.

use std::fmt;

/// What went wrong in an Authentication-API call, by meaning. Each kind has the one wire
/// `error` code Auth0 answers with it; the HTTP layer (`http::errors`) chooses the status.
/// Auth0 reuses a code under different statuses (`access_denied` is 401 for a failed client
/// authentication and 403 for a refusal; `expired_token` is 401 for an `mfa_token` and 403
/// for an `oob_code`), which is why kinds are named by meaning, not by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthKind {
    /// The request is malformed or misses a parameter.
    InvalidRequest,
    /// The `grant_type` is not one callsign serves.
    UnsupportedGrantType,
    /// The client's credentials are missing or wrong.
    ClientUnauthenticated,
    /// The caller is known but the request is refused (audience, factor, enrolment, scope).
    Denied,
    /// The grant's material (password, code, refresh token, mfa_token) is wrong or unknown.
    InvalidGrant,
    /// A one-time challenge (`oob_code`) is past its lifetime.
    ChallengeExpired,
    /// The `mfa_token` is past its lifetime.
    MfaTokenExpired,
    /// Too many attempts or sends: brute-force protection and the SMS budgets.
    TooManyAttempts,
    /// The client may not use this grant or connection.
    UnauthorizedClient,
    /// A requested scope is not allowed.
    InvalidScope,
    /// The user is blocked.
    Blocked,
    /// The bearer token of the MFA API is missing or invalid.
    InvalidToken,
    /// A challenge asks for a factor the user has not enrolled.
    AssociationRequired,
    /// None of the challenge types asked for can be served.
    UnsupportedChallengeType,
    /// Passwordless: the connection is unknown, disabled for the client, or refuses signups.
    BadConnection,
    /// Passwordless: the phone number is missing or not a number.
    BadPhoneNumber,
    /// An Action failed (threw, timed out, asked for something invalid).
    Extensibility,
}

impl OAuthKind {
    /// The wire `error` code Auth0 answers with.
    pub fn code(self) -> &'static str {
        match self {
            OAuthKind::InvalidRequest => "invalid_request",
            OAuthKind::UnsupportedGrantType => "unsupported_grant_type",
            OAuthKind::ClientUnauthenticated | OAuthKind::Denied => "access_denied",
            OAuthKind::InvalidGrant => "invalid_grant",
            OAuthKind::ChallengeExpired | OAuthKind::MfaTokenExpired => "expired_token",
            OAuthKind::TooManyAttempts => "too_many_attempts",
            OAuthKind::UnauthorizedClient => "unauthorized_client",
            OAuthKind::InvalidScope => "invalid_scope",
            OAuthKind::Blocked => "unauthorized",
            OAuthKind::InvalidToken => "invalid_token",
            OAuthKind::AssociationRequired => "association_required",
            OAuthKind::UnsupportedChallengeType => "unsupported_challenge_type",
            OAuthKind::BadConnection => "bad.connection",
            OAuthKind::BadPhoneNumber => "bad.phone_number",
            OAuthKind::Extensibility => "extensibility_error",
        }
    }
}

/// An Authentication-API error (`{"error": ..., "error_description": ...}`), produced by the
/// token and MFA services: a kind and the description Auth0 gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub kind: OAuthKind,
    pub description: String,
}

impl OAuthError {
    pub fn new(kind: OAuthKind, description: impl Into<String>) -> Self {
        OAuthError {
            kind,
            description: description.into(),
        }
    }
    /// The wire `error` code.
    pub fn error(&self) -> &'static str {
        self.kind.code()
    }
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthKind::InvalidRequest, description)
    }
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(OAuthKind::InvalidGrant, description)
    }
    pub fn denied(description: impl Into<String>) -> Self {
        Self::new(OAuthKind::Denied, description)
    }
    pub fn access_denied_unauthorized() -> Self {
        Self::new(OAuthKind::ClientUnauthenticated, "Unauthorized")
    }
}

/// A `/dbconnections/*` error in Auth0's legacy body family:
/// `{"name", "code", "description", "statusCode", …extra}`. `description` is a string for most
/// errors and an object (the policy rules) for password-strength errors. The `name` says what
/// went wrong (`BadRequestError`, `ForbiddenError`, `PasswordStrengthError`, …); the HTTP layer
/// derives the status from it.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyError {
    pub name: &'static str,
    pub code: &'static str,
    pub description: serde_json::Value,
    /// Further top-level fields (`message`, `policy` for PasswordStrengthError).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl LegacyError {
    pub fn bad_request(code: &'static str, description: impl Into<String>) -> Self {
        LegacyError {
            name: "BadRequestError",
            code,
            description: serde_json::Value::String(description.into()),
            extra: serde_json::Map::new(),
        }
    }
    /// The operation is not allowed (Auth0's `ForbiddenError`, answered with 403).
    pub fn forbidden(code: &'static str, description: impl Into<String>) -> Self {
        LegacyError {
            name: "ForbiddenError",
            ..Self::bad_request(code, description)
        }
    }
}

#[derive(Debug)]
pub enum Error {
    /// 404. `error_code` is optional because Auth0 omits it on several resources.
    NotFound {
        message: String,
        error_code: Option<&'static str>,
    },
    /// 409.
    Conflict {
        message: String,
        error_code: &'static str,
    },
    /// 400: the request is well-formed but asks for something invalid.
    Invalid {
        message: String,
        error_code: &'static str,
    },
    /// 401: no or bad credentials.
    Unauthenticated { message: String },
    /// 403 for a reason other than scope.
    Forbidden {
        message: String,
        error_code: &'static str,
    },
    /// 403 `insufficient_scope`; the scopes listed are "any of".
    InsufficientScope { expected: &'static [&'static str] },
    /// An Authentication-API error with its exact status and body.
    OAuth(OAuthError),
    /// A `/dbconnections/*` error in the legacy body family.
    Legacy(LegacyError),
    /// 403 `mfa_required` with the `mfa_token` and `mfa_requirements` the client needs.
    MfaRequired {
        mfa_token: String,
        requirements: serde_json::Value,
    },
    /// 429 with the number of seconds after which a retry can succeed.
    RateLimited {
        retry_after_secs: u64,
        limit: u64,
        reset_unix: i64,
    },
    /// 413.
    PayloadTooLarge { limit: usize },
    /// 408: the request body did not arrive within the server's deadline.
    RequestTimeout,
    /// 5xx: a failure of ours (storage, a bug). The text goes to the log only.
    Internal(String),
    /// 503: a dependency (database) is unavailable.
    Unavailable(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn not_found(message: impl Into<String>, error_code: Option<&'static str>) -> Self {
        Error::NotFound {
            message: message.into(),
            error_code,
        }
    }
    pub fn invalid_body(message: impl Into<String>) -> Self {
        Error::Invalid {
            message: message.into(),
            error_code: "invalid_body",
        }
    }
    pub fn invalid_query(message: impl Into<String>) -> Self {
        Error::Invalid {
            message: message.into(),
            error_code: "invalid_query_string",
        }
    }
    pub fn conflict(message: impl Into<String>, error_code: &'static str) -> Self {
        Error::Conflict {
            message: message.into(),
            error_code,
        }
    }
    pub fn internal(e: impl fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }

    /// Stable code for logs, metrics and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::Conflict { .. } => "conflict",
            Error::Invalid { .. } => "invalid",
            Error::Unauthenticated { .. } => "unauthenticated",
            Error::Forbidden { .. } => "forbidden",
            Error::InsufficientScope { .. } => "insufficient_scope",
            Error::OAuth(e) => e.error(),
            Error::Legacy(e) => e.code,
            Error::MfaRequired { .. } => "mfa_required",
            Error::RateLimited { .. } => "rate_limited",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::RequestTimeout => "request_timeout",
            Error::Internal(_) => "internal",
            Error::Unavailable(_) => "unavailable",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { message, .. }
            | Error::Conflict { message, .. }
            | Error::Invalid { message, .. }
            | Error::Unauthenticated { message }
            | Error::Forbidden { message, .. } => f.write_str(message),
            Error::InsufficientScope { expected } => {
                write!(
                    f,
                    "Insufficient scope, expected any of: {}",
                    expected.join(",")
                )
            }
            Error::OAuth(e) => write!(f, "{}: {}", e.error(), e.description),
            Error::Legacy(e) => write!(f, "{}: {}", e.code, e.description),
            Error::MfaRequired { .. } => f.write_str("mfa_required"),
            Error::RateLimited { .. } => f.write_str("rate limited"),
            Error::PayloadTooLarge { limit } => write!(f, "payload larger than {limit} bytes"),
            Error::RequestTimeout => f.write_str("request body not received in time"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
            Error::Unavailable(m) => write!(f, "unavailable: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<OAuthError> for Error {
    fn from(e: OAuthError) -> Self {
        Error::OAuth(e)
    }
}

impl From<LegacyError> for Error {
    fn from(e: LegacyError) -> Self {
        Error::Legacy(e)
    }
}
