//! Management API pagination (spec 0.4). Three request shapes: none (bare array, first page),
//! offset (`page`, `per_page` ≤ 100, `include_totals`), checkpoint (`from`, `take`). Offset paging
//! reaches only the first 1000 records (`invalid_paging`), like Auth0's.

use crate::crypto::b64;

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 100;
pub const MAX_REACHABLE: u64 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    Offset {
        page: u32,
        per_page: u32,
        include_totals: bool,
    },
    Checkpoint {
        from: Option<String>,
        take: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagingError {
    /// (message, errorCode)
    Invalid(String, &'static str),
}

impl PagingError {
    pub fn parts(&self) -> (String, &'static str) {
        let PagingError::Invalid(m, c) = self;
        (m.clone(), c)
    }
}

fn parse_u32(name: &str, v: &str, desc: &str) -> Result<u32, PagingError> {
    v.parse::<u32>().map_err(|_| {
        PagingError::Invalid(
            format!("Query validation error: 'Expected type integer but found type string' on property {name} ({desc})."),
            "invalid_query_string",
        )
    })
}

fn parse_bool(name: &str, v: &str) -> Result<bool, PagingError> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(PagingError::Invalid(
            format!(
                "Query validation error: 'Expected type boolean but found type string' on property {name}."
            ),
            "invalid_query_string",
        )),
    }
}

impl Paging {
    /// From the raw query pairs. `checkpoint_ok` says whether the endpoint supports `from/take`.
    pub fn parse(q: &[(String, String)], checkpoint_ok: bool) -> Result<Paging, PagingError> {
        let get = |k: &str| {
            q.iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        if checkpoint_ok && (get("from").is_some() || get("take").is_some()) {
            let take = match get("take") {
                Some(t) => parse_u32("take", t, "Number of results per page. Defaults to 50.")?,
                None => DEFAULT_PER_PAGE,
            };
            if take == 0 || take > MAX_PER_PAGE {
                return Err(PagingError::Invalid(
                    format!(
                        "Query validation error: 'Value {take} is {} {}' on property take (Number of results per page. Defaults to 50.).",
                        if take == 0 {
                            "less than minimum"
                        } else {
                            "greater than maximum"
                        },
                        if take == 0 { 1 } else { MAX_PER_PAGE }
                    ),
                    "invalid_query_string",
                ));
            }
            let from = match get("from") {
                Some(f) if !f.is_empty() => Some(decode_cursor(f)?),
                _ => None,
            };
            return Ok(Paging::Checkpoint { from, take });
        }
        let page = match get("page") {
            Some(p) => parse_u32(
                "page",
                p,
                "Page index of the results to return. First page is 0.",
            )?,
            None => 0,
        };
        let per_page = match get("per_page") {
            Some(p) => parse_u32("per_page", p, "Number of results per page. Defaults to 50.")?,
            None => DEFAULT_PER_PAGE,
        };
        if per_page > MAX_PER_PAGE {
            return Err(PagingError::Invalid(
                format!(
                    "Query validation error: 'Value {per_page} is greater than maximum {MAX_PER_PAGE}' on property per_page (Number of results per page. Defaults to 50.)."
                ),
                "invalid_query_string",
            ));
        }
        let include_totals = match get("include_totals") {
            Some(v) => parse_bool("include_totals", v)?,
            None => false,
        };
        if (page as u64) * (per_page as u64) >= MAX_REACHABLE && per_page > 0 {
            return Err(PagingError::Invalid(
                "You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation".into(),
                "invalid_paging",
            ));
        }
        Ok(Paging::Offset {
            page,
            per_page,
            include_totals,
        })
    }

    /// Offset and limit for an offset page, clipped so no record past the 1000th is returned.
    pub fn window(page: u32, per_page: u32) -> (u64, u64) {
        let start = page as u64 * per_page as u64;
        let limit = (per_page as u64).min(MAX_REACHABLE.saturating_sub(start));
        (start, limit)
    }
}

/// One page of a listing: the items, the total (offset paging with `include_totals`) and the
/// cursor of the next page (checkpoint paging, when there is one).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<u64>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The same page with each item mapped (rows to what the caller shows).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            next: self.next,
        }
    }
}

/// Checkpoint cursors are opaque to clients: base64url of the last id seen.
pub fn encode_cursor(last_id: &str) -> String {
    b64::encode_url(last_id.as_bytes())
}

pub fn decode_cursor(c: &str) -> Result<String, PagingError> {
    b64::decode_url(c)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            PagingError::Invalid(
                "Invalid value for parameter 'from'".into(),
                "invalid_query_string",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn offset_defaults_and_cap() {
        assert_eq!(
            Paging::parse(&q(&[]), true).unwrap(),
            Paging::Offset {
                page: 0,
                per_page: 50,
                include_totals: false
            }
        );
        let e = Paging::parse(&q(&[("per_page", "1000")]), true).unwrap_err();
        assert!(
            e.parts()
                .0
                .contains("'Value 1000 is greater than maximum 100' on property per_page")
        );
        assert_eq!(
            Paging::parse(&q(&[("page", "10"), ("per_page", "100")]), true)
                .unwrap_err()
                .parts()
                .1,
            "invalid_paging"
        );
        assert!(Paging::parse(&q(&[("page", "9"), ("per_page", "100")]), true).is_ok());
        assert_eq!(Paging::window(33, 30), (990, 10));
    }

    #[test]
    fn checkpoint_roundtrip() {
        let c = encode_cursor("cgr_abc");
        assert_eq!(
            Paging::parse(&q(&[("from", &c), ("take", "2")]), true).unwrap(),
            Paging::Checkpoint {
                from: Some("cgr_abc".into()),
                take: 2
            }
        );
        assert!(Paging::parse(&q(&[("from", "%%%")]), true).is_err());
        assert!(Paging::parse(&q(&[("take", "0")]), true).is_err());
    }
}
