//! Management API v2 handlers, one file per resource, plus helpers shared by them:
//! offset/checkpoint list responses and `fields`/`include_fields` projection.

pub mod actions;
pub mod authentication_methods;
pub mod client_grants;
pub mod clients;
pub mod code_keys;
pub mod connections;
pub mod guardian;
pub mod guardian_enrollments;
pub mod keys;
pub mod logs;
pub mod phone_lookup_stream;
pub mod phone_lookups;
pub mod phone_messages;
pub mod phone_providers;
pub mod phone_templates;
pub mod resource_servers;
pub mod roles;
pub mod tenant;
pub mod user_blocks;
pub mod users;

use crate::ctx::Ctx;
use crate::error::Error;
use crate::http::errors::MgmtError;
use crate::http::extract::Query;
use axum::Router;
use axum::routing::{delete, get, patch, post, put};
use serde_json::{Map, Value, json};

pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/actions/actions", get(actions::list).post(actions::create))
        .route(
            "/actions/actions/{id}",
            get(actions::get)
                .patch(actions::update)
                .delete(actions::delete),
        )
        .route("/actions/actions/{id}/deploy", post(actions::deploy))
        .route("/actions/actions/{id}/test", post(actions::test))
        .route(
            "/actions/actions/{id}/callsign-translate-phone-message",
            post(actions::translate_phone_message),
        )
        .route("/actions/actions/{id}/versions", get(actions::versions))
        .route(
            "/actions/actions/{id}/versions/{vid}",
            get(actions::version),
        )
        .route(
            "/actions/actions/{id}/versions/{vid}/deploy",
            post(actions::deploy_version),
        )
        .route("/actions/triggers", get(actions::triggers))
        .route("/actions/executions/{id}", get(actions::execution))
        .route(
            "/actions/triggers/{trigger}/bindings",
            get(actions::bindings).patch(actions::replace_bindings),
        )
        .route("/clients", get(clients::list).post(clients::create))
        .route(
            "/clients/{id}",
            get(clients::get)
                .patch(clients::update)
                .delete(clients::delete),
        )
        .route("/clients/{id}/rotate-secret", post(clients::rotate_secret))
        .route(
            "/client-grants",
            get(client_grants::list).post(client_grants::create),
        )
        .route(
            "/client-grants/{id}",
            get(client_grants::get)
                .patch(client_grants::update)
                .delete(client_grants::delete),
        )
        .route(
            "/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/connections/{id}",
            get(connections::get)
                .patch(connections::update)
                .delete(connections::delete),
        )
        .route(
            "/connections/{id}/clients",
            get(connections::clients).patch(connections::set_clients),
        )
        .route("/connections/{id}/status", get(connections::status))
        .route("/connections/{id}/users", delete(connections::delete_user))
        .route(
            "/resource-servers",
            get(resource_servers::list).post(resource_servers::create),
        )
        .route(
            "/resource-servers/{id}",
            get(resource_servers::get)
                .patch(resource_servers::update)
                .delete(resource_servers::delete),
        )
        .route("/tenants/settings", get(tenant::get).patch(tenant::update))
        .merge(role_routes())
        .route(code_keys::PATH, get(code_keys::list))
        .route("/keys/callsign-code-hmac/rotate", post(code_keys::rotate))
        .route("/keys/signing", get(keys::list))
        .route("/keys/signing/rotate", post(keys::rotate))
        .route("/keys/signing/{kid}", get(keys::get))
        .route("/keys/signing/{kid}/revoke", put(keys::revoke))
        .route("/logs", get(logs::list))
        .route("/logs/{id}", get(logs::get))
        .route("/users/{id}/logs", get(logs::user_logs))
        .route("/phone-lookups/{number}", get(phone_lookups::get))
        .route("/phone-messages", get(phone_messages::list))
        .route(phone_lookup_stream::PATH, get(phone_lookup_stream::stream))
        .route(
            phone_lookup_stream::OLD_PATH,
            get(phone_lookup_stream::stream_deprecated),
        )
        .route("/phone-messages/stats", get(phone_messages::stats))
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route(
            "/users/{id}/sessions",
            axum::routing::delete(users::delete_sessions),
        )
        .route("/users-by-email", get(users::by_email))
        .route(
            "/tickets/password-change",
            post(users::password_change_ticket),
        )
        .route(
            "/user-blocks",
            get(user_blocks::get_by_identifier).delete(user_blocks::delete_by_identifier),
        )
        .route(
            "/user-blocks/{id}",
            get(user_blocks::get).delete(user_blocks::delete),
        )
        .route(
            "/branding/phone/providers",
            get(phone_providers::list).post(phone_providers::create),
        )
        .route(
            "/branding/phone/providers/{id}",
            get(phone_providers::get)
                .patch(phone_providers::update)
                .delete(phone_providers::delete),
        )
        .route(
            "/branding/phone/providers/{id}/try",
            post(phone_providers::try_send),
        )
        .route(
            "/branding/phone/templates",
            get(phone_templates::list).post(phone_templates::create),
        )
        .route(
            "/branding/phone/templates/{id}",
            get(phone_templates::get)
                .patch(phone_templates::update)
                .delete(phone_templates::delete),
        )
        .route(
            "/branding/phone/templates/{id}/reset",
            patch(phone_templates::reset),
        )
        .route(
            "/branding/phone/templates/{id}/try",
            post(phone_templates::try_send),
        )
        .merge(guardian_routes())
        .merge(mfa_admin_routes())
}

/// Guardian configuration; the phone factor's settings answer under `phone/` and the legacy
/// `sms/` alias alike.
fn guardian_routes() -> Router<Ctx> {
    let mut r = Router::new()
        .route("/guardian/factors", get(guardian::factors))
        .route("/guardian/factors/{name}", put(guardian::put_factor))
        .route(
            "/guardian/factors/phone/message-types",
            get(guardian::message_types).put(guardian::put_message_types),
        )
        .route(
            "/guardian/policies",
            get(guardian::policies).put(guardian::put_policies),
        );
    for f in ["phone", "sms"] {
        r = r
            .route(
                &format!("/guardian/factors/{f}/selected-provider"),
                get(guardian::selected_provider).put(guardian::put_selected_provider),
            )
            .route(
                &format!("/guardian/factors/{f}/providers/twilio"),
                get(guardian::twilio).put(guardian::put_twilio),
            )
            .route(
                &format!("/guardian/factors/{f}/templates"),
                get(guardian::templates).put(guardian::put_templates),
            );
    }
    r
}

/// Roles, their permissions and members, and a user's roles and direct permissions.
fn role_routes() -> Router<Ctx> {
    Router::new()
        .route("/roles", get(roles::list).post(roles::create))
        .route(
            "/roles/{id}",
            get(roles::get).patch(roles::update).delete(roles::delete),
        )
        .route(
            "/roles/{id}/permissions",
            get(roles::permissions)
                .post(roles::add_permissions)
                .delete(roles::remove_permissions),
        )
        .route(
            "/roles/{id}/users",
            get(roles::users).post(roles::assign_users),
        )
        .route(
            "/users/{id}/roles",
            get(roles::user_roles)
                .post(roles::assign_user_roles)
                .delete(roles::remove_user_roles),
        )
        .route(
            "/users/{id}/permissions",
            get(roles::user_permissions)
                .post(roles::add_user_permissions)
                .delete(roles::remove_user_permissions),
        )
}

/// Users' MFA factors: authentication methods, Guardian enrolments and tickets.
fn mfa_admin_routes() -> Router<Ctx> {
    use authentication_methods as am;
    use guardian_enrollments as ge;
    Router::new()
        .route(
            "/users/{id}/authentication-methods",
            get(am::list)
                .post(am::create)
                .put(am::replace)
                .delete(am::delete_all),
        )
        .route(
            "/users/{id}/authentication-methods/{amid}",
            get(am::get).patch(am::update).delete(am::delete),
        )
        .route(
            "/users/{id}/recovery-code-regeneration",
            post(am::regenerate_recovery_code),
        )
        .route("/users/{id}/enrollments", get(ge::user_enrollments))
        .route(
            "/users/{id}/authenticators",
            delete(ge::delete_authenticators),
        )
        .route("/guardian/enrollments/ticket", post(ge::ticket))
        .route(
            "/guardian/enrollments/{id}",
            get(ge::get).delete(ge::delete),
        )
}

/// `fields` (comma-separated) with `include_fields` (default true) applied to one object.
pub fn project(mut v: Value, q: &Query) -> Result<Value, MgmtError> {
    let Some(fields) = q.get("fields").filter(|f| !f.is_empty()) else {
        return Ok(v);
    };
    let include = q.bool("include_fields")?.unwrap_or(true);
    let list: Vec<&str> = fields.split(',').map(str::trim).collect();
    if let Value::Object(m) = &mut v {
        m.retain(|k, _| list.contains(&k.as_str()) == include);
    }
    Ok(v)
}

/// A list response in the shape the request's paging asks for: checkpoint `{<key>: […],
/// next?}`, offset a bare array or, with `include_totals`, the wrapper object.
pub fn list_response(
    items: Vec<Value>,
    key: &str,
    p: &crate::domain::paging::Paging,
    total: Option<u64>,
    next: Option<String>,
) -> Value {
    match p {
        crate::domain::paging::Paging::Checkpoint { .. } => {
            let mut o = Map::new();
            o.insert(key.into(), Value::Array(items));
            if let Some(n) = next {
                o.insert("next".into(), json!(n));
            }
            Value::Object(o)
        }
        crate::domain::paging::Paging::Offset {
            page,
            per_page,
            include_totals,
        } => offset_response(
            items,
            key,
            *page,
            *per_page,
            *include_totals,
            total.unwrap_or(0),
        ),
    }
}

/// Offset-mode list response: a bare array, or with `include_totals` the wrapper object.
pub fn offset_response(
    items: Vec<Value>,
    key: &str,
    page: u32,
    per_page: u32,
    include_totals: bool,
    total: u64,
) -> Value {
    if include_totals {
        let mut o = Map::new();
        o.insert("start".into(), json!(page as u64 * per_page as u64));
        o.insert("limit".into(), json!(per_page));
        o.insert("length".into(), json!(items.len()));
        o.insert("total".into(), json!(total));
        o.insert(key.into(), Value::Array(items));
        Value::Object(o)
    } else {
        Value::Array(items)
    }
}

pub fn paging(q: &Query, checkpoint_ok: bool) -> Result<crate::domain::paging::Paging, MgmtError> {
    crate::domain::paging::Paging::parse(&q.0, checkpoint_ok).map_err(|e| {
        let (m, c) = e.parts();
        MgmtError(Error::Invalid {
            message: m,
            error_code: c,
        })
    })
}

/// Pages an in-memory list (applications, APIs: hundreds per tenant, not millions).
pub fn page_slice(all: Vec<Value>, key: &str, q: &Query) -> Result<Value, MgmtError> {
    match paging(q, false)? {
        crate::domain::paging::Paging::Offset {
            page,
            per_page,
            include_totals,
        } => {
            let (start, limit) = crate::domain::paging::Paging::window(page, per_page);
            let total = all.len() as u64;
            let items: Vec<Value> = all
                .into_iter()
                .skip(start as usize)
                .take(limit as usize)
                .collect();
            Ok(offset_response(
                items,
                key,
                page,
                per_page,
                include_totals,
                total,
            ))
        }
        crate::domain::paging::Paging::Checkpoint { .. } => {
            Err(Error::invalid_query("checkpoint paging is not supported here").into())
        }
    }
}
