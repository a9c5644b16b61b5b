//! `GET /lo/reset?ticket=…` shows the form to choose a new password (with the connection's
//! policy spelled out); `POST /lo/reset` sets it. A weak password re-shows the form with the
//! unmet rules and leaves the ticket usable; a used, expired or unknown ticket gets a page
//! saying so. The ticket itself, a 256-bit secret posted back in the form, is what authorises
//! the change, so no other CSRF token is needed.

use super::{esc, page};
use crate::ctx::Ctx;
use crate::domain::password_policy;
use crate::http::extract::{ClientIp, Query};
use crate::service::users::passwords::{self, ResetError};
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

const TITLE: &str = "Change your password";

fn invalid() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This link cannot be used",
        "<p>This password reset link has expired or was already used. Ask for a new one from the \
         application you were signing in to.</p>",
    )
}

fn form(ticket: &str, who: &str, policy: &str, error: Option<&str>) -> String {
    let err = error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\" id=\"err\">{}</p>",
                esc(e)
            )
        })
        .unwrap_or_default();
    let described = if error.is_some() {
        "policy err"
    } else {
        "policy"
    };
    format!(
        "<p>Choose a new password for <strong>{who}</strong>.</p>{err}\
<form method=\"post\" action=\"/lo/reset\">\
<input type=\"hidden\" name=\"ticket\" value=\"{t}\">\
<input type=\"hidden\" name=\"username\" autocomplete=\"username\" value=\"{who}\">\
<label for=\"password\">New password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required aria-describedby=\"{described}\" autofocus>\
<label for=\"confirm\">Confirm new password</label>\
<input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required>\
<div id=\"policy\"><p>Your password must meet these rules:</p><pre>{p}</pre></div>\
<button type=\"submit\">Change password</button></form>",
        who = esc(who),
        t = esc(ticket),
        p = esc(policy),
    )
}

pub async fn show(State(ctx): State<Ctx>, q: Query) -> Response {
    let Some(ticket) = q
        .get("ticket")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
    else {
        return invalid();
    };
    match passwords::pending(&ctx, &ticket).await {
        Ok(Some(p)) => {
            let who = p
                .user
                .email
                .clone()
                .or(p.user.username.clone())
                .or(p.user.phone_number.clone())
                .unwrap_or_default();
            let policy = password_policy::describe(&p.connection.options);
            page(StatusCode::OK, TITLE, &form(&ticket, &who, &policy, None))
        }
        Ok(None) => invalid(),
        Err(e) => failure(e),
    }
}

fn failure(e: crate::error::Error) -> Response {
    tracing::error!(error = %e, "password reset page failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "<p>We could not change your password right now. Please try again in a moment.</p>",
    )
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn submit(
    State(ctx): State<Ctx>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    Form(f): Form<ResetForm>,
) -> Response {
    let pending = match passwords::pending(&ctx, &f.ticket).await {
        Ok(Some(p)) => p,
        Ok(None) => return invalid(),
        Err(e) => return failure(e),
    };
    let who = pending
        .user
        .email
        .clone()
        .or(pending.user.username.clone())
        .or(pending.user.phone_number.clone())
        .unwrap_or_default();
    let policy = password_policy::describe(&pending.connection.options);
    let again = |msg: &str| {
        page(
            StatusCode::BAD_REQUEST,
            TITLE,
            &form(&f.ticket, &who, &policy, Some(msg)),
        )
    };
    if f.password != f.confirm {
        return again("The two passwords do not match.");
    }
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    match passwords::reset(&ctx, &f.ticket, &f.password, &ip, ua).await {
        Ok(Some(next)) => {
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().insert(
                header::REFERRER_POLICY,
                axum::http::HeaderValue::from_static("no-referrer"),
            );
            r
        }
        Ok(None) => page(
            StatusCode::OK,
            "Password changed",
            "<p role=\"status\">Your password has been changed. You can now sign in with it.</p>",
        ),
        Err(ResetError::Invalid) => invalid(),
        Err(ResetError::Weak(v)) => again(&format!(
            "{}. Choose a password that meets the rules below.",
            v.text()
        )),
        Err(ResetError::Failed(e)) => failure(e),
    }
}
