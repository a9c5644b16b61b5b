//! Authentication and Management API behaviour on both backends: client_credentials in every
//! body/auth form, token claims, scope enforcement, expiry with a moved clock, pagination,
//! key rotation, refresh-token rotation and reuse detection, and snapshots of wire shapes.

use crate::support::{ADMIN_ID, ADMIN_SECRET, Backend, TestApp, backend_tests, keep_type};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

fn claims(token: &str) -> Value {
    crate::support::jwt_part(token, 1)
}

async fn client_credentials_json_form_and_basic(b: Backend) {
    let app = TestApp::new(b).await;
    let aud = app.ctx.mgmt_audience();
    let tok = app.admin_token().await;
    let c = claims(&tok);
    assert_eq!(c["iss"], "https://callsign.test/");
    assert_eq!(c["sub"], format!("{ADMIN_ID}@clients"));
    assert_eq!(c["aud"], aud.as_str());
    assert_eq!(c["gty"], "client-credentials");
    assert_eq!(c["azp"], ADMIN_ID);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        86400
    );
    assert!(
        c["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "read:clients")
    );

    let form = format!(
        "grant_type=client_credentials&client_id={ADMIN_ID}&client_secret={ADMIN_SECRET}&audience={}&scope=read:clients%20nope",
        urlencode(&aud)
    );
    let req = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (s, h, v) = app.send(req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        claims(v["access_token"].as_str().unwrap())["scope"],
        "read:clients"
    );
    assert!(
        v.get("scope").is_none(),
        "client_credentials responses carry no scope"
    );
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h.contains_key("x-ratelimit-limit")
            && h.contains_key("x-ratelimit-remaining")
            && h.contains_key("x-ratelimit-reset")
    );

    let basic = data_encoding::BASE64.encode(format!("{ADMIN_ID}:{ADMIN_SECRET}").as_bytes());
    let req = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {basic}"))
        .body(Body::from(format!(
            "grant_type=client_credentials&audience={}",
            urlencode(&aud)
        )))
        .unwrap();
    let (s, _, v) = app.send(req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
backend_tests!(client_credentials_json_form_and_basic);

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .unwrap()
        .trim_start_matches("x=")
        .to_string()
}

async fn token_errors_have_auth0_bodies(b: Backend) {
    let app = TestApp::new(b).await;
    let aud = app.ctx.mgmt_audience();
    let cases = vec![
        (
            json!({"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": "wrong", "audience": aud}),
            401,
            "access_denied",
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x", "audience": aud}),
            401,
            "access_denied",
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET, "audience": "https://unknown.api/"}),
            403,
            "access_denied",
        ),
        (
            json!({"grant_type": "urn:nope", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET}),
            400,
            "unsupported_grant_type",
        ),
        (json!({"client_id": ADMIN_ID}), 400, "invalid_request"),
        (
            json!({"grant_type": "client_credentials", "client_secret": "x"}),
            400,
            "invalid_request",
        ),
        (
            json!({"grant_type": "refresh_token", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET}),
            400,
            "invalid_request",
        ),
        (
            json!({"grant_type": "refresh_token", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET, "refresh_token": "x"}),
            403,
            "unauthorized_client",
        ),
    ];
    for (body, status, error) in cases {
        let (s, v) = app.token_json(body.clone()).await;
        assert_eq!(s.as_u16(), status, "{body} -> {v}");
        assert_eq!(v["error"], error, "{body} -> {v}");
        assert!(v["error_description"].is_string());
    }
    // a client with an API but no grant
    let tok = app.admin_token().await;
    let c = app
        .create_client(
            &tok,
            json!({"name": "m2m", "grant_types": ["client_credentials"]}),
        )
        .await;
    let (s, v) = app.client_token(&c, &aud).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    insta::assert_json_snapshot!("no_client_grant", v, {".error_description" => keep_type("[desc]")});
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("You need to create a \"client-grant\" associated to this API.")
    );
    // a client without the grant type
    let c = app
        .create_client(
            &tok,
            json!({"name": "spa", "app_type": "spa", "grant_types": ["implicit"]}),
        )
        .await;
    let (s, v) = app.client_token(&c, &aud).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        v,
        json!({"error": "unauthorized_client", "error_description": "Grant type 'client_credentials' not allowed for the client."})
    );
}
backend_tests!(token_errors_have_auth0_bodies);

async fn management_tokens_are_verified_and_scoped(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let (s, _, v) = app.mgmt("GET", "/clients", "", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        v,
        json!({"statusCode": 401, "error": "Unauthorized", "message": "Missing authentication"})
    );
    let mut parts: Vec<String> = tok.split('.').map(str::to_string).collect();
    // forged payload
    let mut c = claims(&tok);
    c["scope"] = json!("read:clients create:clients");
    c["sub"] = json!("evil@clients");
    parts[1] = data_encoding::BASE64URL_NOPAD.encode(c.to_string().as_bytes());
    let forged = parts.join(".");
    let (s, _, v) = app.mgmt("GET", "/clients", &forged, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    insta::assert_json_snapshot!("invalid_token", v);
    // alg none and HS256 with the public key material
    for alg in ["none", "HS256"] {
        let h = data_encoding::BASE64URL_NOPAD
            .encode(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
        let t = format!(
            "{h}.{}.{}",
            parts[1],
            if alg == "none" { "" } else { "c2ln" }
        );
        let (s, _, _) = app.mgmt("GET", "/clients", &t, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "alg {alg}");
    }
    // expired: move the clock past exp
    app.ctx.clock.advance_ms(86_401_000);
    let (s, _, v) = app.mgmt("GET", "/clients", &tok, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    // insufficient scope: a client granted only read:clients
    let tok = app.admin_token().await;
    let c = app
        .create_client(
            &tok,
            json!({"name": "reader", "grant_types": ["client_credentials"]}),
        )
        .await;
    let (s, _, _) = app
        .mgmt("POST", "/client-grants", &tok, Some(json!({"client_id": c["client_id"], "audience": app.ctx.mgmt_audience(), "scope": ["read:clients"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, v) = app.client_token(&c, &app.ctx.mgmt_audience()).await;
    let reader = v["access_token"].as_str().unwrap().to_string();
    let (s, _, _) = app.mgmt("GET", "/clients", &reader, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, v) = app
        .mgmt("POST", "/client-grants", &reader, Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        v,
        json!({"statusCode": 403, "error": "Forbidden", "message": "Insufficient scope, expected any of: create:client_grants", "errorCode": "insufficient_scope"})
    );
    // a token for another audience is not a Management token
    let (s, _, _) = app
        .mgmt("POST", "/resource-servers", &tok, Some(json!({"identifier": "https://api.test/", "name": "api", "scopes": [{"value": "x"}]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.mgmt(
        "POST",
        "/client-grants",
        &tok,
        Some(json!({"client_id": ADMIN_ID, "audience": "https://api.test/", "scope": ["x"]})),
    )
    .await;
    let (_, v) = app
        .token_json(json!({"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET, "audience": "https://api.test/"}))
        .await;
    let other = v["access_token"].as_str().unwrap();
    assert_eq!(claims(other)["scope"], "x");
    let (s, _, _) = app.mgmt("GET", "/clients", other, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
backend_tests!(management_tokens_are_verified_and_scoped);

/// The verified-token cache (service::tenant::keys) answers exactly as a fresh verification would:
/// only for the audience the token was verified for, and never past `exp`.
async fn verified_token_cache_keeps_audience_and_expiry(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let aud = app.ctx.mgmt_audience();
    let first = app.ctx.keys.verify(&app.ctx, &tok, &aud).await.unwrap();
    let again = app.ctx.keys.verify(&app.ctx, &tok, &aud).await.unwrap();
    assert_eq!(first, again);
    assert!(
        app.ctx
            .keys
            .verify(&app.ctx, &tok, "https://other.example/api")
            .await
            .is_err(),
        "a token cached for one audience is not accepted for another"
    );
    // One changed byte in the signature: a different cache key, and a failed verification.
    let mut bad = tok.clone().into_bytes();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    assert!(app.ctx.keys.verify(&app.ctx, &bad, &aud).await.is_err());
    app.ctx.clock.advance_ms((first.exp - first.iat + 1) * 1000);
    let err = app.ctx.keys.verify(&app.ctx, &tok, &aud).await.unwrap_err();
    assert!(err.to_string().contains("Expired"), "{err}");
}
backend_tests!(verified_token_cache_keeps_audience_and_expiry);

async fn pagination_modes_and_cap(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    for i in 0..5 {
        let (s, _, _) = app
            .mgmt(
                "POST",
                "/clients",
                &tok,
                Some(json!({"name": format!("app{i}")})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, _, v) = app.mgmt("GET", "/clients", &tok, None).await;
    assert_eq!(v.as_array().unwrap().len(), 6);
    let (_, _, v) = app
        .mgmt(
            "GET",
            "/clients?page=1&per_page=4&include_totals=true",
            &tok,
            None,
        )
        .await;
    assert_eq!(
        (
            v["start"].as_u64(),
            v["limit"].as_u64(),
            v["total"].as_u64()
        ),
        (Some(4), Some(4), Some(6))
    );
    assert_eq!(v["clients"].as_array().unwrap().len(), 2);
    let (_, _, v) = app
        .mgmt(
            "GET",
            "/clients?page=5&per_page=4&include_totals=true",
            &tok,
            None,
        )
        .await;
    assert_eq!(v["clients"], json!([]));
    let (s, _, v) = app.mgmt("GET", "/clients?per_page=1000", &tok, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("'Value 1000 is greater than maximum 100' on property per_page")
    );
    let (s, _, v) = app
        .mgmt("GET", "/clients?page=10&per_page=100", &tok, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("invalid_paging", v);
    let (_, _, v) = app
        .mgmt(
            "GET",
            "/clients?fields=client_id,name&include_fields=true",
            &tok,
            None,
        )
        .await;
    assert_eq!(v[0].as_object().unwrap().len(), 2);
    // checkpoint over client grants
    let clients = app.mgmt("GET", "/clients", &tok, None).await.2;
    for c in clients
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["client_id"] != ADMIN_ID)
    {
        let (s, _, v) = app
            .mgmt("POST", "/client-grants", &tok, Some(json!({"client_id": c["client_id"], "audience": app.ctx.mgmt_audience(), "scope": ["read:users"]})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/client-grants",
            &tok,
            Some(json!({"client_id": ADMIN_ID, "audience": app.ctx.mgmt_audience(), "scope": []})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let mut seen = Vec::new();
    let mut from = String::new();
    loop {
        let (_, _, v) = app
            .mgmt(
                "GET",
                &format!("/client-grants?take=2&from={from}"),
                &tok,
                None,
            )
            .await;
        for g in v["client_grants"].as_array().unwrap() {
            seen.push(g["id"].as_str().unwrap().to_string());
        }
        match v.get("next").and_then(Value::as_str) {
            Some(n) => from = n.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    seen.dedup();
    assert_eq!(seen.len(), 6);
    let (_, _, v) = app
        .mgmt(
            "GET",
            "/client-grants?include_totals=true&per_page=2",
            &tok,
            None,
        )
        .await;
    assert_eq!(v["total"], 6);
}
backend_tests!(pagination_modes_and_cap);

async fn crud_shapes_and_system_api(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let (s, _, c) = app
        .mgmt("POST", "/clients", &tok, Some(json!({"name": "web", "app_type": "regular_web", "callbacks": ["https://a.test/cb"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    insta::assert_json_snapshot!("client_created", c, {".client_id" => keep_type("[id]"), ".client_secret" => keep_type("[secret]")});
    let id = c["client_id"].as_str().unwrap();
    let (_, _, v) = app
        .mgmt(
            "PATCH",
            &format!("/clients/{id}"),
            &tok,
            Some(json!({"name": "web2", "web_origins": ["https://a.test"]})),
        )
        .await;
    assert_eq!(
        (v["name"].as_str(), v["callbacks"][0].as_str()),
        (Some("web2"), Some("https://a.test/cb"))
    );
    let (_, _, r) = app
        .mgmt("POST", &format!("/clients/{id}/rotate-secret"), &tok, None)
        .await;
    assert_ne!(r["client_secret"], c["client_secret"]);
    let (s, _, v) = app
        .mgmt(
            "POST",
            "/clients",
            &tok,
            Some(json!({"name": "x", "bogus": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorCode"], "invalid_body");
    let (s, _, _) = app
        .mgmt("DELETE", &format!("/clients/{id}"), &tok, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, v) = app.mgmt("GET", &format!("/clients/{id}"), &tok, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("client_not_found", v);

    let (_, _, list) = app.mgmt("GET", "/resource-servers", &tok, None).await;
    let sys = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_system"] == true)
        .unwrap()
        .clone();
    assert_eq!(sys["name"], "Auth0 Management API");
    assert_eq!(sys["identifier"], app.ctx.mgmt_audience());
    let (s, _, _) = app
        .mgmt(
            "DELETE",
            &format!("/resource-servers/{}", sys["id"].as_str().unwrap()),
            &tok,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (_, _, t) = app.mgmt("GET", "/tenants/settings", &tok, None).await;
    assert_eq!(t["friendly_name"], "callsign.test");
    let (_, _, t) = app
        .mgmt(
            "PATCH",
            "/tenants/settings",
            &tok,
            Some(json!({"friendly_name": "Acme", "flags": {"x": true}})),
        )
        .await;
    assert_eq!(t["friendly_name"], "Acme");
    assert_eq!(t["flags"]["revoke_refresh_token_grant"], false);
    assert_eq!(t["flags"]["x"], true);

    // Bad settings: the typed boundary's words (wire::tenant::SettingsPatch), nothing changed.
    let bodies = [
        json!({"unknown_setting": 1}),
        json!({"friendly_name": 7}),
        json!({"session_lifetime": "long"}),
        json!({"session_lifetime": null}),
        json!({"enabled_locales": ["en", 3]}),
        json!({"flags": []}),
        json!({"session_cookie": {"mode": "forever"}}),
        json!({"session_cookie": {}}),
    ];
    let seen = app
        .refusals("PATCH", "/tenants/settings", &tok, &bodies)
        .await;
    insta::assert_json_snapshot!("tenant_settings_validation_messages", seen);
    let (_, _, after) = app.mgmt("GET", "/tenants/settings", &tok, None).await;
    assert_eq!(after, t);
    // null clears a field; a session cookie mode is kept with the other keys given
    let (s, _, t) = app
        .mgmt(
            "PATCH",
            "/tenants/settings",
            &tok,
            Some(
                json!({"support_url": null, "session_cookie": {"mode": "non-persistent", "x": 1}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert!(t.get("support_url").is_none(), "{t}");
    assert_eq!(
        t["session_cookie"],
        json!({"mode": "non-persistent", "x": 1})
    );
}
backend_tests!(crud_shapes_and_system_api);

#[tokio::test]
async fn discovery_and_jwks() {
    let app = TestApp::new(crate::support::Backend::Sqlite).await;
    let (s, _, d) = app
        .send(
            Request::get("/.well-known/openid-configuration")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    insta::assert_json_snapshot!("discovery", d);
    let (_, _, j) = app
        .send(
            Request::get("/.well-known/jwks.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let keys = j["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "current and next are published");
    for k in keys {
        assert_eq!(
            (
                k["kty"].as_str(),
                k["alg"].as_str(),
                k["use"].as_str(),
                k["e"].as_str()
            ),
            (Some("RSA"), Some("RS256"), Some("sig"), Some("AQAB"))
        );
        assert!(k["kid"].is_string() && k["x5c"][0].is_string());
    }
}

async fn key_rotation_keeps_old_tokens_valid_until_revoked(b: Backend) {
    let app = TestApp::new(b).await;
    let old = app.admin_token().await;
    let (_, _, keys) = app.mgmt("GET", "/keys/signing", &old, None).await;
    let cur = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["current"] == true)
        .unwrap()["kid"]
        .clone();
    let next = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["next"] == true)
        .unwrap()["kid"]
        .clone();
    let (s, _, r) = app.mgmt("POST", "/keys/signing/rotate", &old, None).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(r["kid"], next, "the published next key becomes current");
    let new = app.admin_token().await;
    assert_ne!(
        jsonwebtoken::decode_header(&new).unwrap().kid,
        jsonwebtoken::decode_header(&old).unwrap().kid
    );
    let (s, _, _) = app.mgmt("GET", "/keys/signing", &old, None).await;
    assert_eq!(s, StatusCode::OK, "tokens of the previous key still verify");
    let (s, _, v) = app
        .mgmt(
            "PUT",
            &format!("/keys/signing/{}/revoke", next.as_str().unwrap()),
            &new,
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "current key cannot be revoked: {v}"
    );
    let (s, _, _) = app
        .mgmt(
            "PUT",
            &format!("/keys/signing/{}/revoke", cur.as_str().unwrap()),
            &new,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = app.mgmt("GET", "/keys/signing", &old, None).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "revoked key's tokens stop verifying"
    );
    let (_, _, j) = app
        .send(
            Request::get("/.well-known/jwks.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        j["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != cur)
    );
}
backend_tests!(key_rotation_keeps_old_tokens_valid_until_revoked);

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(b: Backend) {
    use callsign::service::oauth::token::{self, ClientCredentials, RefreshGrant};
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = app
        .create_client(
            &tok,
            json!({"name": "native", "grant_types": ["refresh_token", "password"]}),
        )
        .await;
    let cid = c["client_id"].as_str().unwrap().to_string();
    // A refresh token stands for a user that must still exist when it is used.
    let (_, _, u) = app
        .mgmt("POST", "/users", &tok, Some(json!({"connection": "Username-Password-Authentication", "email": "rt@x.co", "password": "Str0ng-Passw0rd!"})))
        .await;
    let uid = u["user_id"].as_str().unwrap().to_string();
    let creds = ClientCredentials {
        client_id: Some(cid.clone()),
        client_secret: c["client_secret"].as_str().map(str::to_string),
    };
    let grant = RefreshGrant {
        client_id: cid.clone(),
        user_id: uid.clone(),
        audience: None,
        scope: "openid offline_access".into(),
    };
    let mut tx = app.ctx.db.begin().await.unwrap();
    let rt1 = token::issue_refresh(&app.ctx, &mut tx, &grant, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let r = token::refresh_token(&app.ctx, &creds, &rt1, None)
        .await
        .unwrap();
    let rt2 = r.refresh_token.clone().unwrap();
    assert_eq!(claims(&r.access_token)["sub"], uid.as_str());
    assert_eq!(claims(&r.access_token)["gty"], "refresh_token");
    // reuse of rt1 revokes the family, so rt2 dies too
    assert!(
        token::refresh_token(&app.ctx, &creds, &rt1, None)
            .await
            .is_err()
    );
    let (s, v) = app
        .token_json(json!({"grant_type": "refresh_token", "client_id": cid, "client_secret": c["client_secret"], "refresh_token": rt2}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        v,
        json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
    );
}
backend_tests!(refresh_tokens_rotate_and_reuse_revokes_the_family);

#[tokio::test]
async fn wire_shapes_are_pinned() {
    let app = TestApp::new(crate::support::Backend::Sqlite).await;
    let (s, v) = app
        .token_json(json!({"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET, "audience": app.ctx.mgmt_audience()}))
        .await;
    assert_eq!(s, StatusCode::OK);
    insta::assert_json_snapshot!("token_response", v, {".access_token" => keep_type("[jwt]")});
    let tok = v["access_token"].as_str().unwrap().to_string();
    let (_, _, rs) = app
        .mgmt("POST", "/resource-servers", &tok, Some(json!({"identifier": "https://api.shape.test/", "name": "Shape", "scopes": [{"value": "read:x", "description": "Read x"}]})))
        .await;
    insta::assert_json_snapshot!("resource_server", rs, {".id" => keep_type("[id]")});
    let (_, _, g) = app
        .mgmt("POST", "/client-grants", &tok, Some(json!({"client_id": ADMIN_ID, "audience": "https://api.shape.test/", "scope": ["read:x"]})))
        .await;
    insta::assert_json_snapshot!("client_grant", g, {".id" => keep_type("[id]")});
    let (_, _, page) = app.mgmt("GET", "/client-grants?take=1", &tok, None).await;
    insta::assert_json_snapshot!("client_grants_checkpoint", page, {".client_grants[].id" => keep_type("[id]"), ".client_grants[].client_id" => keep_type("[id]"), ".client_grants[].audience" => keep_type("[aud]"), ".client_grants[].scope" => keep_type("[scopes]"), ".next" => keep_type("[cursor]")});
    let (_, _, t) = app.mgmt("GET", "/tenants/settings", &tok, None).await;
    insta::assert_json_snapshot!("tenant_settings", t);
    let (_, _, keys) = app.mgmt("GET", "/keys/signing", &tok, None).await;
    insta::assert_json_snapshot!("signing_keys", keys, {
        "[].kid" => keep_type("[kid]"), "[].cert" => keep_type("[pem]"), "[].pkcs7" => keep_type("[pem]"), "[].fingerprint" => keep_type("[fp]"),
        "[].thumbprint" => keep_type("[tp]"), "[].current_since" => keep_type("[time]")
    });
    let (s, _, e) = app.mgmt("GET", "/resource-servers/nope", &tok, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("resource_server_not_found", e);
}

/// Client grant bodies go through the typed boundary (`wire::client_grants`): Auth0's one
/// wording for each mistake, nothing written; options round-trip; `subject_type` defaults.
async fn client_grant_bodies_are_typed(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let c = app
        .create_client(
            &tok,
            json!({"name": "typed", "app_type": "non_interactive", "grant_types": ["client_credentials"]}),
        )
        .await;
    let aud = app.ctx.mgmt_audience();
    let before = app.mgmt("GET", "/client-grants", &tok, None).await.2;
    let cases = [
        json!({"client_id": c["client_id"], "audience": aud, "scope": "read:users"}),
        json!({"client_id": c["client_id"], "audience": aud}),
        json!({"client_id": c["client_id"], "audience": aud, "scope": [], "bogus": 1}),
        json!({"client_id": c["client_id"], "audience": aud, "scope": [], "subject_type": "robot"}),
        json!({"client_id": c["client_id"], "audience": aud, "scope": [1]}),
        json!({"client_id": 7, "audience": aud, "scope": []}),
    ];
    let seen = app.refusals("POST", "/client-grants", &tok, &cases).await;
    insta::assert_json_snapshot!("client_grant_validation_messages", seen);
    let after = app.mgmt("GET", "/client-grants", &tok, None).await.2;
    assert_eq!(before, after, "nothing written");

    let (s, _, g) = app
        .mgmt(
            "POST",
            "/client-grants",
            &tok,
            Some(json!({"client_id": c["client_id"], "audience": aud, "scope": ["read:users", "read:users"], "organization_usage": "allow", "allow_any_organization": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    assert_eq!(g["scope"], json!(["read:users"]));
    assert_eq!(g["subject_type"], "client");
    assert_eq!(g["organization_usage"], "allow");
    assert_eq!(g["allow_any_organization"], true);
    let path = format!("/client-grants/{}", g["id"].as_str().unwrap());
    let (s, _, p) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(json!({"organization_usage": "require"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["organization_usage"], "require");
    assert_eq!(p["allow_any_organization"], true, "other options kept");
    let (s, _, e) = app
        .mgmt("PATCH", &path, &tok, Some(json!({"audience": "x"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(
        e["message"],
        "Payload validation error: 'Additional properties not allowed: audience'."
    );
}
backend_tests!(client_grant_bodies_are_typed);

/// Client bodies through the typed boundary (wire::clients::ClientBody): each refusal in
/// Auth0's words, nothing created or changed; a PATCH round-trips null and kept fields.
async fn client_bodies_are_typed(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let before = app.mgmt("GET", "/clients", &tok, None).await.2;
    let bodies = [
        json!({}),
        json!({"name": ""}),
        json!({"name": 5}),
        json!({"name": "x", "callbacks": "https://a"}),
        json!({"name": "x", "sso": "yes"}),
        json!({"name": "x", "sso": null}),
        json!({"name": "x", "app_type": "mainframe"}),
        json!({"name": "x", "token_endpoint_auth_method": "private_key_jwt"}),
        json!({"name": "x", "client_secret": "short"}),
        json!({"name": "x", "grant_types": ["implicit", "telepathy"]}),
        json!({"name": "x", "client_metadata": {"n": 1}}),
        json!({"name": "x", "client_id": "mine"}),
        json!({"name": "x", "par_request_expiry": "soon"}),
    ];
    let seen = app.refusals("POST", "/clients", &tok, &bodies).await;
    insta::assert_json_snapshot!("client_validation_messages", seen);
    assert_eq!(app.mgmt("GET", "/clients", &tok, None).await.2, before);

    let c = app
        .create_client(
            &tok,
            json!({"name": "typed", "description": "d", "logo_uri": "https://l"}),
        )
        .await;
    let path = format!("/clients/{}", c["client_id"].as_str().unwrap());
    let (s, _, v) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(json!({"description": null, "sso": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.get("description").is_none(), "{v}");
    assert_eq!(v["logo_uri"], "https://l");
    assert_eq!(v["sso"], true);
}
backend_tests!(client_bodies_are_typed);

/// Resource server bodies go through the typed boundary (`wire::resource_servers`).
async fn resource_server_bodies_are_typed(b: Backend) {
    let app = TestApp::new(b).await;
    let tok = app.admin_token().await;
    let before = app.mgmt("GET", "/resource-servers", &tok, None).await.2;
    let cases = [
        json!({"name": "x"}),
        json!({"identifier": "https://a", "signing_alg": "none"}),
        json!({"identifier": "https://a", "token_dialect": "jwt"}),
        json!({"identifier": "https://a", "scopes": [{"value": "a", "x": 1}]}),
        json!({"identifier": "https://a", "token_lifetime": "1"}),
        json!({"identifier": "https://a", "token_lifetime": 0}),
        json!({"identifier": "https://a", "bogus": true}),
        json!({"identifier": "https://a", "name": " "}),
        json!({"identifier": "https://a", "signing_alg": "HS256", "signing_secret": "short"}),
        json!({"identifier": "https://a", "scopes": [{"value": "ok"}, {"value": ""}]}),
    ];
    let seen = app
        .refusals("POST", "/resource-servers", &tok, &cases)
        .await;
    insta::assert_json_snapshot!("resource_server_validation_messages", seen);
    let after = app.mgmt("GET", "/resource-servers", &tok, None).await.2;
    assert_eq!(before, after, "nothing written");

    let (s, _, r) = app
        .mgmt(
            "POST",
            "/resource-servers",
            &tok,
            Some(json!({"identifier": "https://typed.example/", "token_dialect": "access_token_authz", "client": {"a": 1}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["name"], "https://typed.example/");
    assert_eq!(r["token_dialect"], "access_token_authz");
    assert_eq!(r["signing_alg"], "RS256", "defaults filled");
    let path = format!("/resource-servers/{}", r["id"].as_str().unwrap());
    let (s, _, p) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(json!({"client": null, "name": "Typed"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert!(p.get("client").is_none(), "null removes a kept field: {p}");
    assert_eq!(p["name"], "Typed");
    let (s, _, e) = app
        .mgmt(
            "PATCH",
            &path,
            &tok,
            Some(json!({"identifier": "https://other/"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
}
backend_tests!(resource_server_bodies_are_typed);
