//! TEMPORARY stand-in for branch `h-lookup`'s phone lookup (same signatures), so the inbound
//! webhooks and the console build before the phone index lands. It answers only from the
//! profile `phone_number` on the default database connection. Replaced wholesale on merge.

use crate::ctx::Ctx;
use crate::domain::phone;
use crate::error::{Error, Result};
use crate::service::connections;
use crate::store::{self, users::Identifier};

pub struct Actor {
    pub kind: &'static str,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: String,
    pub kinds: Vec<String>,
    pub email_masked: Option<String>,
    pub name: Option<String>,
    pub connection: String,
    pub blocked: bool,
    pub mfa_enrolled: bool,
    pub mfa_methods: Vec<String>,
    pub created_at: i64,
    pub enrolled_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

pub struct Lookup {
    pub number: String,
    pub accounts: Vec<Account>,
    pub next: Option<String>,
}

pub async fn lookup(
    ctx: &Ctx,
    raw: &str,
    region: Option<&str>,
    _from: Option<&str>,
    _take: u32,
    _actor: &Actor,
) -> Result<Lookup> {
    let region = region.or(ctx.config.default_region.as_deref());
    let number = phone::normalize(raw, region).map_err(|e| Error::invalid_query(e.to_string()))?;
    let mut accounts = Vec::new();
    let dir = crate::service::tenant::get(ctx)
        .await?
        .get("default_directory")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| "Username-Password-Authentication".into());
    if let Some(c) = connections::by_name(ctx, &dir).await?
        && let Some(u) =
            store::users::find(&ctx.db, &c.id, &Identifier::Phone(number.as_str().into())).await?
    {
        accounts.push(Account {
            user_id: u.user_id,
            kinds: vec!["profile".into()],
            email_masked: u
                .email
                .map(|e| format!("{}***", e.chars().next().unwrap_or('*'))),
            name: u.name,
            connection: u.connection,
            blocked: u.blocked,
            mfa_enrolled: false,
            mfa_methods: Vec::new(),
            created_at: u.created_at,
            enrolled_at: None,
            last_used_at: None,
        });
    }
    Ok(Lookup {
        number: number.as_str().into(),
        accounts,
        next: None,
    })
}
