//! Per-node cache of what `/oauth/token` reads on every request: a client's authentication
//! data, its grants by audience, APIs by identifier, and the Actions bound to each trigger. Filled lazily from the store and
//! dropped whole when the cache epoch moves (`ctx.config_changed` on this node, the epoch poll
//! for changes made on other nodes). Absent grants/APIs are cached too, bounded in size;
//! unknown client ids are not, so a flood of random ids cannot grow the cache.

use crate::crypto;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::store;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

const MAX_ENTRIES: usize = 20_000;

#[derive(Debug)]
pub struct ClientAuth {
    pub client_id: String,
    pub name: String,
    pub secret_sha256: [u8; 32],
    pub grant_types: Vec<String>,
    /// `token_endpoint_auth_method: none`: a public client (SPA, native) that holds no secret.
    pub public: bool,
    /// `is_token_endpoint_ip_header_trusted`: with its secret, the client may name its end
    /// user's address in `auth0-forwarded-for` (`http::client_addr`).
    pub ip_header_trusted: bool,
    /// `jwt_configuration.lifetime_in_seconds`: the ID token lifetime (Auth0 default 36000).
    pub id_token_lifetime: i64,
}

#[derive(Debug)]
pub struct Api {
    pub identifier: String,
    pub token_lifetime: i64,
    /// `allow_offline_access`: user grants for this API may return a refresh token.
    pub allow_offline_access: bool,
    /// The API's own scopes (`scopes[].value`): what a user grant may ask for.
    pub scopes: Vec<String>,
    /// `enforce_policies` (RBAC): a user token carries only the scopes the user holds as
    /// permissions.
    pub enforce_policies: bool,
    /// `token_dialect`: `access_token` (default), `access_token_authz` (adds `permissions`),
    /// `rfc9068_profile`, `rfc9068_profile_authz`.
    pub token_dialect: String,
}

impl Api {
    /// Whether access tokens for this API carry a `permissions` claim.
    pub fn adds_permissions(&self) -> bool {
        self.token_dialect.ends_with("_authz")
    }
    /// Whether access tokens follow RFC 9068 (`typ: at+jwt`, `client_id`, `jti`).
    pub fn rfc9068(&self) -> bool {
        self.token_dialect.starts_with("rfc9068")
    }
}

/// A trigger's deployed, bound Actions in order: (action name, the version that runs).
pub type BoundActions = Arc<Vec<(String, store::actions::ActionVersionRow)>>;

#[derive(Default)]
struct State {
    bound: HashMap<String, BoundActions>,
    clients: HashMap<String, Arc<ClientAuth>>,
    grants: HashMap<(String, String), Option<Arc<Vec<String>>>>,
    apis: HashMap<String, Option<Arc<Api>>>,
    /// Every origin some application allows (CORS on the token endpoints).
    origins: Option<Arc<std::collections::HashSet<String>>>,
}

#[derive(Default)]
pub struct Catalog {
    state: RwLock<State>,
}

impl Catalog {
    pub fn clear(&self) {
        if let Ok(mut s) = self.state.write() {
            *s = State::default();
        }
    }

    /// What a trigger runs (`service::actions::run`); every grant asks, so it is cached like
    /// the clients (binding, deploying or deleting an action moves the epoch).
    pub async fn bound_actions(&self, ctx: &Ctx, trigger: &str) -> Result<BoundActions> {
        if let Some(b) = self
            .state
            .read()
            .ok()
            .and_then(|s| s.bound.get(trigger).cloned())
        {
            return Ok(b);
        }
        let b = Arc::new(store::actions::deployed_for_trigger(&ctx.db, trigger).await?);
        if let Ok(mut s) = self.state.write() {
            s.bound.insert(trigger.to_string(), b.clone());
        }
        Ok(b)
    }

    /// Whether some application allows browser calls from `origin` (its `web_origins`,
    /// `allowed_origins`, or a callback's origin): read once per cache epoch, as the clients.
    pub async fn origin_allowed(&self, ctx: &Ctx, origin: &str) -> Result<bool> {
        let o = crate::domain::origins::normalise(origin);
        if let Some(set) = self.state.read().ok().and_then(|s| s.origins.clone()) {
            return Ok(set.contains(&o));
        }
        let mut set = std::collections::HashSet::new();
        for row in store::clients::list(&ctx.db).await? {
            set.extend(crate::domain::origins::ClientUrls::of(&row.data).origins());
        }
        let set = Arc::new(set);
        if let Ok(mut s) = self.state.write() {
            s.origins = Some(set.clone());
        }
        Ok(set.contains(&o))
    }

    pub async fn client(&self, ctx: &Ctx, client_id: &str) -> Result<Option<Arc<ClientAuth>>> {
        if let Some(c) = self
            .state
            .read()
            .ok()
            .and_then(|s| s.clients.get(client_id).cloned())
        {
            return Ok(Some(c));
        }
        let Some(row) = store::clients::get(&ctx.db, client_id).await? else {
            return Ok(None);
        };
        let secret = ctx
            .secrets
            .open(&row.secret_sealed)
            .map_err(crate::error::Error::internal)?;
        let grant_types = row
            .data
            .get("grant_types")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let public = row
            .data
            .get("token_endpoint_auth_method")
            .and_then(|v| v.as_str())
            == Some("none");
        let id_token_lifetime = row
            .data
            .get("jwt_configuration")
            .and_then(|j| j.get("lifetime_in_seconds"))
            .and_then(|v| v.as_i64())
            .unwrap_or(36_000);
        let ip_header_trusted = row
            .data
            .get("is_token_endpoint_ip_header_trusted")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let c = Arc::new(ClientAuth {
            client_id: row.client_id,
            name: row.name,
            secret_sha256: crypto::sha256(&secret),
            grant_types,
            public,
            ip_header_trusted,
            id_token_lifetime,
        });
        if let Ok(mut s) = self.state.write() {
            if s.clients.len() >= MAX_ENTRIES {
                s.clients.clear();
            }
            s.clients.insert(client_id.to_string(), c.clone());
        }
        Ok(Some(c))
    }

    pub async fn grant_scopes(
        &self,
        ctx: &Ctx,
        client_id: &str,
        audience: &str,
    ) -> Result<Option<Arc<Vec<String>>>> {
        let key = (client_id.to_string(), audience.to_string());
        if let Some(g) = self
            .state
            .read()
            .ok()
            .and_then(|s| s.grants.get(&key).cloned())
        {
            return Ok(g);
        }
        let g = store::grants::find(&ctx.db, client_id, audience)
            .await?
            .map(|g| Arc::new(g.scope));
        if let Ok(mut s) = self.state.write() {
            if s.grants.len() >= MAX_ENTRIES {
                s.grants.clear();
            }
            s.grants.insert(key, g.clone());
        }
        Ok(g)
    }

    pub async fn api(&self, ctx: &Ctx, identifier: &str) -> Result<Option<Arc<Api>>> {
        if let Some(a) = self
            .state
            .read()
            .ok()
            .and_then(|s| s.apis.get(identifier).cloned())
        {
            return Ok(a);
        }
        let a = store::resource_servers::by_identifier(&ctx.db, identifier)
            .await?
            .map(|r| {
                Arc::new(Api {
                    token_lifetime: r
                        .data
                        .get("token_lifetime")
                        .and_then(|v| v.as_i64())
                        .unwrap_or(86_400),
                    allow_offline_access: r
                        .data
                        .get("allow_offline_access")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false),
                    scopes: super::resource_servers::scope_names(&r.data),
                    enforce_policies: r
                        .data
                        .get("enforce_policies")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false),
                    token_dialect: r
                        .data
                        .get("token_dialect")
                        .and_then(|v| v.as_str())
                        .unwrap_or("access_token")
                        .to_string(),
                    identifier: r.identifier,
                })
            });
        if let Ok(mut s) = self.state.write() {
            if s.apis.len() >= MAX_ENTRIES {
                s.apis.clear();
            }
            s.apis.insert(identifier.to_string(), a.clone());
        }
        Ok(a)
    }
}
