//! Tenant settings (`/api/v2/tenants/settings`): a document of Auth0's settings with PATCH
//! merging top-level keys (`null` removes one). A few keys that callsign acts on are typed.

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store;
use serde_json::{Map, Value, json};

pub fn defaults(friendly_name: &str) -> Map<String, Value> {
    json!({
        "friendly_name": friendly_name,
        "picture_url": "",
        "support_email": "",
        "support_url": "",
        "allowed_logout_urls": [],
        "session_lifetime": 168,
        "idle_session_lifetime": 72,
        "sandbox_version": "22",
        "enabled_locales": ["en"],
        "default_directory": "Username-Password-Authentication",
        "flags": {"enable_client_connections": false, "revoke_refresh_token_grant": false, "disable_clickjack_protection_headers": false},
        "universal_login": {},
        "error_page": {},
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

const KNOWN: &[&str] = &[
    "change_password",
    "guardian_mfa_page",
    "default_audience",
    "default_directory",
    "error_page",
    "device_flow",
    "default_token_quota",
    "flags",
    "friendly_name",
    "picture_url",
    "support_email",
    "support_url",
    "allowed_logout_urls",
    "session_lifetime",
    "idle_session_lifetime",
    "ephemeral_session_lifetime",
    "idle_ephemeral_session_lifetime",
    "sandbox_version",
    "legacy_sandbox_version",
    "default_redirection_uri",
    "enabled_locales",
    "session_cookie",
    "sessions",
    "oidc_logout",
    "customize_mfa_in_postlogin_action",
    "allow_organization_name_in_authentication_api",
    "acr_values_supported",
    "mtls",
    "pushed_authorization_requests_supported",
    "authorization_response_iss_parameter_supported",
    "mfa_show_factor_list_on_enrollment",
    "universal_login",
    "sandbox_versions_available",
];

pub async fn get(ctx: &Ctx) -> Result<Map<String, Value>> {
    store::tenant::get(&ctx.db)
        .await?
        .ok_or_else(|| Error::internal("tenant not bootstrapped"))
}

pub async fn update(ctx: &Ctx, patch: Map<String, Value>) -> Result<Map<String, Value>> {
    for (k, v) in &patch {
        if !KNOWN.contains(&k.as_str()) {
            return Err(Error::invalid_body(format!(
                "Payload validation error: Additional properties not allowed: {k}"
            )));
        }
        let ok = match k.as_str() {
            "friendly_name"
            | "picture_url"
            | "support_email"
            | "support_url"
            | "default_audience"
            | "default_directory"
            | "sandbox_version"
            | "default_redirection_uri" => v.is_string() || v.is_null(),
            "session_lifetime"
            | "idle_session_lifetime"
            | "ephemeral_session_lifetime"
            | "idle_ephemeral_session_lifetime" => v.is_number(),
            "allowed_logout_urls" | "enabled_locales" | "acr_values_supported" => {
                v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
            }
            "flags"
            | "session_cookie"
            | "sessions"
            | "universal_login"
            | "error_page"
            | "change_password"
            | "guardian_mfa_page"
            | "device_flow"
            | "oidc_logout"
            | "mtls"
            | "default_token_quota" => v.is_object() || v.is_null(),
            _ => true,
        };
        if !ok {
            return Err(Error::invalid_body(format!(
                "Payload validation error: Invalid value for property {k}"
            )));
        }
    }
    if let Some(Value::Object(sc)) = patch.get("session_cookie")
        && !sc
            .get("mode")
            .and_then(Value::as_str)
            .is_some_and(|m| m == "persistent" || m == "non-persistent")
    {
        return Err(Error::invalid_body(
            "Payload validation error: session_cookie.mode must be persistent or non-persistent",
        ));
    }
    let mut tx = ctx.db.begin().await?;
    let mut settings = store::tenant::get(&mut tx)
        .await?
        .ok_or_else(|| Error::internal("tenant not bootstrapped"))?;
    for (k, v) in patch {
        if k == "flags" {
            // flags merge key by key, as Auth0 does
            if let (Some(Value::Object(cur)), Value::Object(new)) = (settings.get_mut("flags"), &v)
            {
                for (fk, fv) in new {
                    cur.insert(fk.clone(), fv.clone());
                }
                continue;
            }
        }
        if v.is_null() {
            settings.remove(&k);
        } else {
            settings.insert(k, v);
        }
    }
    store::tenant::update(&mut tx, &settings, ctx.clock.now_ms()).await?;
    store::bump_epoch(&mut tx).await?;
    tx.commit().await?;
    Ok(settings)
}
