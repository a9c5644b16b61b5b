//! `/api/v2/guardian/*` configuration: factors, the phone factor's message types, selected
//! provider, Twilio settings and templates (each under `phone/` and its legacy `sms/` alias),
//! and MFA policies. Enrollments and tickets live elsewhere. Bodies parse into `wire::guardian`
//! types (Auth0's validation messages); the rules are `service::mfa::guardian`'s; the Twilio settings are a view of the tenant phone provider
//! (`service::phone::guardian_twilio`), so `auth_token` always reads as `null`.

use crate::ctx::Ctx;
use crate::domain::scopes::*;
use crate::http::errors::MgmtError;
use crate::http::extract::{Mgmt, TypedArray, TypedStrict};
use crate::service::{mfa::guardian as svc, phone::guardian_twilio};
use crate::wire::guardian::{
    Factor, FactorState, MessageType, MessageTypes, Policy, ProviderChoice, SelectedProvider,
    Templates, TwilioSettings, TwilioUpdate,
};
use axum::Json;
use axum::extract::{Path, State};

pub async fn factors(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<Vec<Factor>>, MgmtError> {
    let list = svc::factors(&ctx)
        .await?
        .into_iter()
        .map(|(name, enabled)| Factor {
            name: name.to_string(),
            enabled,
            trial_expired: false,
        })
        .collect();
    Ok(Json(list))
}

pub async fn put_factor(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    Path(name): Path<String>,
    TypedStrict(f): TypedStrict<FactorState>,
) -> Result<Json<FactorState>, MgmtError> {
    svc::update_factor(&ctx, &name, f.enabled).await?;
    Ok(Json(f))
}

/// Stored message types are always Auth0's (the service writes only those).
fn message_types_of(types: Vec<String>) -> MessageTypes {
    MessageTypes {
        message_types: types
            .iter()
            .filter_map(|t| match t.as_str() {
                "sms" => Some(MessageType::Sms),
                "voice" => Some(MessageType::Voice),
                _ => None,
            })
            .collect(),
    }
}

pub async fn message_types(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<MessageTypes>, MgmtError> {
    Ok(Json(message_types_of(svc::message_types(&ctx).await?)))
}

pub async fn put_message_types(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    TypedStrict(m): TypedStrict<MessageTypes>,
) -> Result<Json<MessageTypes>, MgmtError> {
    let types = svc::update_message_types(&ctx, &m.message_types).await?;
    Ok(Json(message_types_of(types)))
}

/// The service answers with one of Auth0's three names.
fn provider_of(p: &str) -> SelectedProvider {
    SelectedProvider {
        provider: match p {
            "twilio" => ProviderChoice::Twilio,
            "phone-message-hook" => ProviderChoice::PhoneMessageHook,
            _ => ProviderChoice::Auth0,
        },
    }
}

pub async fn selected_provider(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<SelectedProvider>, MgmtError> {
    Ok(Json(provider_of(&svc::selected_provider(&ctx).await?)))
}

pub async fn put_selected_provider(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    TypedStrict(s): TypedStrict<SelectedProvider>,
) -> Result<Json<SelectedProvider>, MgmtError> {
    Ok(Json(provider_of(
        &svc::update_selected_provider(&ctx, s.provider).await?,
    )))
}

fn twilio_wire(v: guardian_twilio::TwilioView) -> TwilioSettings {
    TwilioSettings {
        from: v.from,
        messaging_service_sid: v.messaging_service_sid,
        auth_token: None,
        sid: v.sid,
    }
}

pub async fn twilio(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<TwilioSettings>, MgmtError> {
    Ok(Json(twilio_wire(guardian_twilio::get(&ctx).await?)))
}

pub async fn put_twilio(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    TypedStrict(u): TypedStrict<TwilioUpdate>,
) -> Result<Json<TwilioSettings>, MgmtError> {
    Ok(Json(twilio_wire(
        guardian_twilio::put(&ctx, u.normalised()).await?,
    )))
}

pub async fn templates(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadGuardianFactors>,
) -> Result<Json<Templates>, MgmtError> {
    let (e, v) = svc::templates(&ctx).await?;
    Ok(Json(Templates {
        enrollment_message: e,
        verification_message: v,
    }))
}

pub async fn put_templates(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateGuardianFactors>,
    TypedStrict(t): TypedStrict<Templates>,
) -> Result<Json<Templates>, MgmtError> {
    Ok(Json(svc::update_templates(&ctx, t).await?))
}

pub async fn policies(
    State(ctx): State<Ctx>,
    _: Mgmt<ReadMfaPolicies>,
) -> Result<Json<Vec<String>>, MgmtError> {
    Ok(Json(svc::policies(&ctx).await?))
}

pub async fn put_policies(
    State(ctx): State<Ctx>,
    _: Mgmt<UpdateMfaPolicies>,
    TypedArray(p): TypedArray<Vec<Policy>>,
) -> Result<Json<Vec<String>>, MgmtError> {
    Ok(Json(svc::update_policies(&ctx, &p).await?))
}
