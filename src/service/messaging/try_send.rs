//! The Management API's test sends (`POST /branding/phone/providers/{id}/try` and
//! `…/templates/{id}/try`): `phone` prepares the message (checks the provider, renders the
//! template), and it goes out through the outbox like every other message.

use crate::ctx::Ctx;
use crate::error::Result;
use crate::service::messaging::outbox::{self, Message};
use crate::service::phone::{providers, templates};
use crate::wire::phone::TryBody;

async fn queue(ctx: &Ctx, m: Message) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    outbox::enqueue(ctx, &mut tx, m).await?;
    tx.commit().await?;
    outbox::wake(ctx);
    Ok(())
}

/// A test message through the provider `id`.
pub async fn provider(ctx: &Ctx, id: &str, body: TryBody) -> Result<()> {
    let m = providers::try_message(ctx, id, body).await?;
    queue(ctx, m).await
}

/// The template `id` rendered with sample values.
pub async fn template(ctx: &Ctx, id: &str, body: TryBody) -> Result<()> {
    let m = templates::try_message(ctx, id, body).await?;
    queue(ctx, m).await
}
