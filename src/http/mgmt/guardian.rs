//! `/api/v2/guardian/*` configuration: factors, the phone factor's message types, selected
//! provider, Twilio settings and templates (each under `phone/` and its legacy `sms/` alias),
//! and MFA policies. Enrollments and tickets live elsewhere. Bodies are validated by
//! `service::mfa::guardian`; the Twilio settings are a view of the tenant phone provider
//! (`service::phone::guardian_twilio`), so `auth_token` always reads as `null`.

use crate::ctx::Ctx;
use crate::domain::scopes::*;
use crate::error::Error;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, MgmtJson};
use crate::service::{mfa::guardian as svc, phone::guardian_twilio};
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

pub async fn factors(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<Value>, MgmtError> {
    let list: Vec<Value> = svc::factors(&ctx)
        .await?
        .into_iter()
        .map(|(name, enabled)| json!({"name": name, "enabled": enabled, "trial_expired": false}))
        .collect();
    Ok(Json(Value::Array(list)))
}

pub async fn put_factor(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    Path(name): Path<String>,
    MgmtJson(b): MgmtJson,
) -> Result<Json<Value>, MgmtError> {
    let enabled = match b.get("enabled") {
        Some(Value::Bool(e)) => *e,
        Some(_) => {
            return Err(Error::invalid_body(
                "Payload validation error: 'Expected type boolean' on property enabled",
            )
            .into());
        }
        None => {
            return Err(Error::invalid_body(
                "Payload validation error: 'Missing required property: enabled'",
            )
            .into());
        }
    };
    svc::update_factor(&ctx, &name, enabled).await?;
    Ok(Json(json!({"enabled": enabled})))
}

pub async fn message_types(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(
        json!({"message_types": svc::message_types(&ctx).await?}),
    ))
}

pub async fn put_message_types(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    MgmtJson(b): MgmtJson,
) -> Result<Json<Value>, MgmtError> {
    let types = svc::update_message_types(&ctx, &b).await?;
    Ok(Json(json!({"message_types": types})))
}

pub async fn selected_provider(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(
        json!({"provider": svc::selected_provider(&ctx).await?}),
    ))
}

pub async fn put_selected_provider(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    MgmtJson(b): MgmtJson,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(
        json!({"provider": svc::update_selected_provider(&ctx, &b).await?}),
    ))
}

fn twilio_wire(v: &guardian_twilio::TwilioView) -> Value {
    json!({"from": v.from, "messaging_service_sid": v.messaging_service_sid, "auth_token": null, "sid": v.sid})
}

pub async fn twilio(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(twilio_wire(&guardian_twilio::get(&ctx).await?)))
}

pub async fn put_twilio(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    MgmtJson(b): MgmtJson,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(twilio_wire(&guardian_twilio::put(&ctx, &b).await?)))
}

pub async fn templates(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<Value>, MgmtError> {
    let (e, v) = svc::templates(&ctx).await?;
    Ok(Json(
        json!({"enrollment_message": e, "verification_message": v}),
    ))
}

pub async fn put_templates(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    MgmtJson(b): MgmtJson,
) -> Result<Json<Value>, MgmtError> {
    let (e, v) = svc::update_templates(&ctx, &b).await?;
    Ok(Json(
        json!({"enrollment_message": e, "verification_message": v}),
    ))
}

pub async fn policies(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadMfaPolicies>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(json!(svc::policies(&ctx).await?)))
}

pub async fn put_policies(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateMfaPolicies>,
    MgmtJson(b): MgmtJson,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(json!(svc::update_policies(&ctx, &b).await?)))
}
