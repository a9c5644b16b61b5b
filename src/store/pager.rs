//! The one pager for Management API listings over a table: checkpoint paging reads one row more
//! than asked to learn whether a next page exists and hands out the last id as the cursor;
//! offset paging reads its window and, with `include_totals`, the count.

use super::StoreResult;
use crate::domain::paging::{self, Page, Paging};
use std::future::Future;

/// `list(after, offset, limit)` reads rows ordered by id, after the id `after` when given;
/// `count()` counts the whole listing; `id_of` names a row's id for the cursor.
pub async fn page<T, L, LF, C, CF>(
    p: &Paging,
    id_of: fn(&T) -> &str,
    list: L,
    count: C,
) -> StoreResult<Page<T>>
where
    L: FnOnce(Option<String>, u64, u64) -> LF,
    LF: Future<Output = StoreResult<Vec<T>>>,
    C: FnOnce() -> CF,
    CF: Future<Output = StoreResult<u64>>,
{
    match p {
        Paging::Checkpoint { from, take } => {
            let take = *take as usize;
            let mut items = list(from.clone(), 0, take as u64 + 1).await?;
            let more = items.len() > take;
            items.truncate(take);
            let next = if more {
                items.last().map(|r| paging::encode_cursor(id_of(r)))
            } else {
                None
            };
            Ok(Page {
                items,
                total: None,
                next,
            })
        }
        Paging::Offset {
            page,
            per_page,
            include_totals,
        } => {
            let (start, limit) = Paging::window(*page, *per_page);
            let items = list(None, start, limit).await?;
            let total = if *include_totals {
                Some(count().await?)
            } else {
                None
            };
            Ok(Page {
                items,
                total,
                next: None,
            })
        }
    }
}
