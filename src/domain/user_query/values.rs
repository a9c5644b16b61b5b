//! Typing the values of a query by field kind: field names (with metadata paths) to `Field`,
//! a value to the `Match` its field allows (booleans, integers, ISO 8601 dates, lower-casing of
//! case-insensitive fields), range ends. The grammar is in `parse.rs`; nothing here moves a
//! cursor, so every function takes the position to report errors at.

use super::{Bound, Expr, Field, Kind, MAX_PATH_SEGMENTS, Match, Num, QueryError};

type PResult<T> = Result<T, QueryError>;

pub(super) fn resolve_field(name: &str, at: usize) -> PResult<Field> {
    if let Some(f) = Field::from_name(name) {
        return Ok(f);
    }
    for (prefix, make) in [
        (
            "app_metadata",
            Field::AppMetadata as fn(Vec<String>) -> Field,
        ),
        ("user_metadata", Field::UserMetadata),
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            let path = rest.strip_prefix('.').ok_or_else(|| {
                QueryError::at(at, format!("'{prefix}' needs a path, e.g. {prefix}.plan"))
            })?;
            let segs: Vec<String> = path.split('.').map(str::to_string).collect();
            let ok = segs.len() <= MAX_PATH_SEGMENTS
                && segs.iter().all(|s| {
                    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !ok {
                return Err(QueryError::at(
                    at,
                    format!(
                        "invalid metadata path '{name}': at most {MAX_PATH_SEGMENTS} segments of letters, digits and '_'"
                    ),
                ));
            }
            return Ok(make(segs));
        }
    }
    Err(QueryError::at(at, format!("unknown field '{name}'")))
}

pub(super) fn exact(field: &Field, v: String, at: usize) -> PResult<Expr> {
    let m = match field.kind() {
        Kind::Text if field.case_insensitive() => Match::Exact(v.to_lowercase()),
        Kind::Text | Kind::Metadata => Match::Exact(v),
        Kind::Bool => match v.as_str() {
            "true" | "false" => Match::Exact(v),
            _ => {
                return Err(QueryError::at(
                    at,
                    format!("'{}' must be true or false, got '{v}'", field.name()),
                ));
            }
        },
        Kind::Count => {
            let n = count(field, &v, at)?;
            Match::Range {
                lo: Bound::Inclusive(Num::Int(n)),
                hi: Bound::Inclusive(Num::Int(n)),
            }
        }
        Kind::Date => {
            let (ms, whole_day) = date_ms(field, &v, at)?;
            let hi = if whole_day {
                Bound::Exclusive(Num::Int(ms.saturating_add(DAY_MS)))
            } else {
                Bound::Inclusive(Num::Int(ms))
            };
            Match::Range {
                lo: Bound::Inclusive(Num::Int(ms)),
                hi,
            }
        }
    };
    Ok(Expr::Term {
        field: field.clone(),
        m,
    })
}

pub(super) fn prefix(field: &Field, p: String, at: usize) -> PResult<Expr> {
    let m = match field.kind() {
        Kind::Text if field.case_insensitive() => Match::Prefix(p.to_lowercase()),
        Kind::Text => Match::Prefix(p),
        Kind::Metadata if matches!(field, Field::AppMetadata(_)) => Match::Prefix(p),
        _ => {
            return Err(QueryError::at(
                at,
                format!("wildcards are not supported on '{}'", field.name()),
            ));
        }
    };
    Ok(Expr::Term {
        field: field.clone(),
        m,
    })
}

pub(super) fn range_end(
    field: &Field,
    v: Option<String>,
    inclusive: bool,
    at: usize,
) -> PResult<Bound> {
    let Some(v) = v else {
        return Ok(Bound::Unbounded);
    };
    let n = match field {
        Field::AppMetadata(_) => number(&v).ok_or_else(|| {
            QueryError::at(
                at,
                format!(
                    "ranges on '{}' need numeric bounds, got '{v}'",
                    field.name()
                ),
            )
        })?,
        Field::UserMetadata(_) => {
            return Err(QueryError::at(
                at,
                "ranges are not supported on user_metadata fields",
            ));
        }
        _ => match field.kind() {
            Kind::Count => Num::Int(count(field, &v, at)?),
            // A date alone is midnight UTC even as an inclusive upper bound, as in Lucene.
            Kind::Date => Num::Int(date_ms(field, &v, at)?.0),
            _ => {
                return Err(QueryError::at(
                    at,
                    format!(
                        "ranges are not supported on '{}'; use them on logins_count, created_at, updated_at, last_login or app_metadata",
                        field.name()
                    ),
                ));
            }
        },
    };
    Ok(if inclusive {
        Bound::Inclusive(n)
    } else {
        Bound::Exclusive(n)
    })
}

fn count(field: &Field, v: &str, at: usize) -> PResult<i64> {
    v.parse::<i64>().map_err(|_| {
        QueryError::at(
            at,
            format!("'{}' needs an integer, got '{v}'", field.name()),
        )
    })
}

fn number(v: &str) -> Option<Num> {
    if let Ok(i) = v.parse::<i64>() {
        return Some(Num::Int(i));
    }
    v.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Num::Float)
}

const DAY_MS: i64 = 86_400_000;

/// ISO 8601 date (`2024-01-01`, midnight UTC, `true` = a whole day) or date-time
/// (`2024-01-01T10:00:00Z`, `…T10:00:00.123+02:00`, or without offset meaning UTC), or
/// milliseconds since the epoch (Elasticsearch's other default date format).
fn date_ms(field: &Field, v: &str, at: usize) -> PResult<(i64, bool)> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let ms = |t: time::OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    if !v.is_empty()
        && v.chars().all(|c| c.is_ascii_digit())
        && let Ok(n) = v.parse::<i64>()
    {
        return Ok((n, false));
    }
    if let Ok(t) = time::OffsetDateTime::parse(v, &Rfc3339) {
        return Ok((ms(t), false));
    }
    let local = format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
    );
    if let Ok(t) = time::PrimitiveDateTime::parse(v, &local) {
        return Ok((ms(t.assume_utc()), false));
    }
    if let Ok(d) = time::Date::parse(v, format_description!("[year]-[month]-[day]")) {
        return Ok((ms(d.midnight().assume_utc()), true));
    }
    Err(QueryError::at(
        at,
        format!(
            "invalid date '{v}' for '{}': use ISO 8601, e.g. 2024-01-01 or 2024-01-01T10:00:00Z",
            field.name()
        ),
    ))
}
