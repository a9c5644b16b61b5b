//! The Management API write audit: a middleware on `/api/v2` that records every POST, PATCH,
//! PUT and DELETE as a `sapi` (success), `fapi` (failure) or `api_limit` (429) event through
//! the batched event log. It records the method, path, status and the calling client, never a
//! request or response body (bodies carry secrets: client secrets, passwords, keys).
//!
//! The caller is known only inside the handler (the `Mgmt<R>` extractor verifies the token), so
//! the middleware leaves an empty [`CallerSlot`] in the request's extensions and the extractor
//! fills it once the token checks out; an unauthenticated write is recorded without a client.

use crate::ctx::Ctx;
use crate::service::events::logs::{self, LogEvent};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;
use std::sync::{Arc, OnceLock};

/// Where `Mgmt<R>` leaves the verified caller's client id for the audit middleware.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<String>>);

impl CallerSlot {
    pub fn set(&self, client_id: String) {
        let _ = self.0.set(client_id);
    }
    fn get(&self) -> Option<String> {
        self.0.get().cloned()
    }
}

/// "Create a client", "Update a client grant", "Rotate a client secret", … from the route.
pub fn describe(method: &Method, template: &str) -> String {
    let template = template.strip_prefix("/api/v2").unwrap_or(template);
    let last = template
        .split('/')
        .rfind(|s| !s.is_empty() && !s.starts_with('{'))
        .unwrap_or("resource");
    match (method.as_str(), last) {
        ("POST", "rotate-secret") => return "Rotate a client secret".into(),
        ("POST", "rotate") => return "Rotate the signing key".into(),
        ("PUT", "revoke") => return "Revoke a signing key".into(),
        (_, "settings") => return "Update tenant settings".into(),
        _ => {}
    }
    // Assignments read as what they do to whom (Auth0's wording for these log entries).
    let assignment = match (method.as_str(), template) {
        ("POST", "/roles/{id}/users") => Some("Assign users to a role"),
        ("POST", "/roles/{id}/permissions") => Some("Add permissions to a role"),
        ("DELETE", "/roles/{id}/permissions") => Some("Remove permissions from a role"),
        ("POST", "/users/{id}/roles") => Some("Assign roles to a user"),
        ("DELETE", "/users/{id}/roles") => Some("Remove roles from a user"),
        ("POST", "/users/{id}/permissions") => Some("Assign permissions to a user"),
        ("DELETE", "/users/{id}/permissions") => Some("Remove permissions from a user"),
        _ => None,
    };
    if let Some(a) = assignment {
        return a.into();
    }
    let verb = match method.as_str() {
        "POST" => "Create",
        "PATCH" | "PUT" => "Update",
        "DELETE" => "Delete",
        other => other,
    };
    let noun = last.strip_suffix('s').unwrap_or(last).replace('-', " ");
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{verb} {article} {noun}")
}

pub async fn mgmt_writes(State(ctx): State<Ctx>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    if !matches!(
        method,
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    ) {
        return next.run(req).await;
    }
    let path = format!("/api/v2{}", req.uri().path());
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let ip = crate::http::client_addr::ClientAddr::of(req.extensions())
        .0
        .map(|i| i.to_string());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let slot = CallerSlot::default();
    req.extensions_mut().insert(slot.clone());

    let resp = next.run(req).await;

    let status = resp.status().as_u16();
    let client_id = slot.get();
    let client_name = match &client_id {
        Some(id) => ctx
            .catalog
            .client(&ctx, id)
            .await
            .ok()
            .flatten()
            .map(|c| c.name.clone()),
        None => None,
    };
    let kind = match status {
        429 => "api_limit",
        s if s < 400 => "sapi",
        _ => "fapi",
    };
    logs::record(
        &ctx,
        LogEvent {
            kind,
            description: Some(describe(&method, &template)),
            client_id,
            client_name,
            ip,
            user_agent,
            details: Some(json!({
                "request": {"method": method.as_str().to_ascii_lowercase(), "path": path},
                "response": {"statusCode": status},
            })),
            ..Default::default()
        },
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_name_the_resource() {
        assert_eq!(
            describe(&Method::POST, "/api/v2/clients"),
            "Create a client"
        );
        assert_eq!(
            describe(&Method::PATCH, "/client-grants/{id}"),
            "Update a client grant"
        );
        assert_eq!(
            describe(
                &Method::DELETE,
                "/api/v2/users/{id}/authentication-methods/{amid}"
            ),
            "Delete an authentication method"
        );
        assert_eq!(
            describe(&Method::POST, "/api/v2/clients/{id}/rotate-secret"),
            "Rotate a client secret"
        );
        assert_eq!(
            describe(&Method::PATCH, "/api/v2/tenants/settings"),
            "Update tenant settings"
        );
        assert_eq!(
            describe(&Method::POST, "/api/v2/users/{id}/roles"),
            "Assign roles to a user"
        );
        assert_eq!(describe(&Method::DELETE, "/roles/{id}"), "Delete a role");
    }
}
