//! Guardian enrolments on the wire: `GET /api/v2/users/{id}/enrollments`,
//! `GET|DELETE /api/v2/guardian/enrollments/{id}`, `POST /api/v2/guardian/enrollments/ticket`
//! and `DELETE /api/v2/users/{id}/authenticators`. An enrolment is a phone or TOTP
//! authenticator seen through the older Guardian API: `id` is the bare `dev_…` id (the
//! `sms|dev_…` spelling is accepted too), phone numbers are masked. Rules live in
//! `service::mfa::enrollments` and `service::mfa::admin`.

use crate::clock::iso;
use crate::ctx::Ctx;
use crate::domain::auth_methods::{self as am, Kind};
use crate::domain::records::AuthenticatorRow;
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, Typed};
use crate::service::{mfa::admin as mfa_admin, mfa::enrollments as svc};
use crate::wire::guardian::TicketCreated;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

/// The enrolment object. Auth0's phone example is unrecorded (spec 6.3): callsign shows a
/// phone as `type`/`auth_method` `sms` (the Guardian factor is `sms` whatever the message
/// type) and TOTP as `type` `totp`, `auth_method` `authenticator`. `identifier` (a push
/// device's id) never applies, so it is omitted.
pub fn wire(a: &AuthenticatorRow) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(a.id));
    o.insert(
        "status".into(),
        json!(if a.confirmed { "confirmed" } else { "pending" }),
    );
    let (t, method) = match Kind::parse(&a.kind) {
        Some(Kind::Phone) => ("sms", "sms"),
        Some(Kind::Totp) => ("totp", "authenticator"),
        _ => (a.kind.as_str(), a.kind.as_str()),
    };
    o.insert("type".into(), json!(t));
    if let Some(n) = &a.name {
        o.insert("name".into(), json!(n));
    }
    if Kind::parse(&a.kind) == Some(Kind::Phone)
        && let Some(p) = &a.phone_number
    {
        o.insert("phone_number".into(), json!(am::mask_stored_phone(p)));
    }
    o.insert("auth_method".into(), json!(method));
    if let Some(t) = a.enrolled_at {
        o.insert("enrolled_at".into(), json!(iso(t)));
    }
    if let Some(t) = a.last_auth_at {
        o.insert("last_auth".into(), json!(iso(t)));
    }
    Value::Object(o)
}

pub async fn user_enrollments(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadUsers>,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let rows = svc::enrollments(&ctx, &user_id).await?;
    Ok(Json(Value::Array(rows.iter().map(wire).collect())))
}

pub async fn get(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianEnrollments>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(wire(&svc::enrollment(&ctx, &id).await?)))
}

pub async fn delete(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteGuardianEnrollments>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    svc::delete_enrollment(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 200 `{"ticket_id", "ticket_url"}` (Auth0 answers 200, not 201).
pub async fn ticket(
    State(ctx): State<Ctx>,
    _: Mgmt<CreateGuardianEnrollmentTickets>,
    Typed(b): Typed<crate::wire::guardian::TicketRequest>,
) -> Result<Json<TicketCreated>, MgmtError> {
    let t = svc::create(&ctx, b).await?;
    Ok(Json(TicketCreated {
        ticket_id: t.id,
        ticket_url: t.url,
    }))
}

/// Removes every MFA factor of the user (recovery code included).
pub async fn delete_authenticators(
    State(ctx): State<Ctx>,
    _: Mgmt<DeleteGuardianEnrollments>,
    Path(user_id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    mfa_admin::delete_all(&ctx, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
