//! Tenant settings (`/api/v2/tenants/settings`): a document of Auth0's settings with PATCH
//! merging top-level keys (`null` removes one). The PATCH body is typed
//! (`wire::tenant::SettingsPatch`: Auth0's fields, unknown ones refused).

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store;
use crate::wire::{self, tenant::SettingsDefaults, tenant::SettingsPatch};
use serde_json::{Map, Value};

/// A new tenant's settings document.
pub fn defaults(friendly_name: &str) -> Map<String, Value> {
    wire::to_object(&SettingsDefaults::new(friendly_name))
}

pub async fn get(ctx: &Ctx) -> Result<Map<String, Value>> {
    store::tenant::get(&ctx.db)
        .await?
        .ok_or_else(|| Error::internal("tenant not bootstrapped"))
}

/// Applies a PATCH: given fields replace the stored ones, `null` removes one, `flags` merge
/// key by key.
pub async fn update(ctx: &Ctx, patch: SettingsPatch) -> Result<Map<String, Value>> {
    let patch = wire::to_object(&patch);
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
