//! `phone_index`: normalised number → the accounts that use it, by kind (`profile`,
//! `passwordless`, `mfa_sms`, `mfa_voice`). This module only READS it: the table is written
//! exclusively by the database triggers of migration 0007, in the transaction of whatever
//! statement changed `users` or `authenticators`, so no code path here or elsewhere may insert
//! into it (that is what keeps it from going stale). `drift` recomputes the index from its
//! sources so tests can prove the triggers agree with the rule.

use super::{Db, Dialect, Row, StoreResult};

/// One index entry joined with the live user row (name, email and blocked are read at lookup
/// time, never copied into the index).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub user_id: String,
    pub kind: String,
    pub confirmed: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub connection: String,
    pub blocked: bool,
    pub user_created_at: i64,
    /// The user's confirmed authenticators as `(type, preferred_method)` (for `mfa_methods`),
    /// read in the same statement; repeated on each of the user's hits.
    pub factors: Vec<(String, Option<String>)>,
}

/// Parses the `type:preferred_method,…` list the page query aggregates (both are short
/// identifiers of ours, without `:` or `,`).
fn factors(list: Option<String>) -> Vec<(String, Option<String>)> {
    list.as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|f| !f.is_empty())
        .map(|f| match f.split_once(':') {
            Some((t, "")) => (t.to_string(), None),
            Some((t, m)) => (t.to_string(), Some(m.to_string())),
            None => (f.to_string(), None),
        })
        .collect()
}

fn hit(r: &Row) -> StoreResult<Hit> {
    Ok(Hit {
        user_id: r.str(0)?,
        kind: r.str(1)?,
        confirmed: r.bool(2)?,
        created_at: r.i64(3)?,
        last_used_at: r.opt_i64(4)?,
        email: r.opt_str(5)?,
        name: r.opt_str(6)?,
        connection: r.str(7)?,
        blocked: r.bool(8)?,
        user_created_at: r.i64(9)?,
        factors: factors(r.opt_str(10)?),
    })
}

/// Text comparison/order that is bytewise on both backends, so pages are identical.
/// The lookup, one statement: the number's entries for the next `accounts` accounts after `$2`
/// (by user id, byte order on both backends) with each account's live user row and its
/// confirmed factors. The account count is written into the text, one cached text per count.
/// (Written so when a bound LIMIT made SQLite re-prepare the statement at every new binding, a
/// parse per lookup; since the QPSG is on (`sqlite::plan_stability`) a bound LIMIT would stay
/// prepared too, and the literal is kept as the measured form.)
fn page_sql(d: Dialect, accounts: u32) -> std::borrow::Cow<'static, str> {
    use std::sync::OnceLock;
    const CACHED: usize = 128;
    static SQLITE: [OnceLock<String>; CACHED] = [const { OnceLock::new() }; CACHED];
    static POSTGRES: [OnceLock<String>; CACHED] = [const { OnceLock::new() }; CACHED];
    fn build(d: Dialect, accounts: u32) -> String {
        let (agg, uid, puid) = match d {
            Dialect::Sqlite => ("group_concat", "user_id", "p.user_id"),
            Dialect::Postgres => (
                "string_agg",
                "user_id COLLATE \"C\"",
                "p.user_id COLLATE \"C\"",
            ),
        };
        format!(
            "SELECT p.user_id, p.kind, p.confirmed, p.created_at, p.last_used_at, u.email, \
                    u.name, u.connection, u.blocked, u.created_at, \
                    (SELECT {agg}(a.type || ':' || COALESCE(a.preferred_method, ''), ',') \
                     FROM authenticators a WHERE a.user_id = p.user_id AND a.confirmed = $3) \
             FROM phone_index p JOIN users u ON u.user_id = p.user_id \
             WHERE p.number = $1 AND p.user_id IN ( \
               SELECT DISTINCT {uid} FROM phone_index WHERE number = $1 AND {uid} > $2 \
               ORDER BY 1 LIMIT {accounts}) \
             ORDER BY {puid}, p.kind"
        )
    }
    let slots = match d {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
    };
    match slots.get(accounts as usize) {
        Some(slot) => slot.get_or_init(|| build(d, accounts)).as_str().into(),
        None => build(d, accounts).into(),
    }
}

pub async fn page(
    db: &Db,
    number: &str,
    after: Option<&str>,
    accounts: u32,
) -> StoreResult<Vec<Hit>> {
    db.query(
        &page_sql(db.dialect(), accounts),
        &[number.into(), after.unwrap_or("").into(), true.into()],
    )
    .await?
    .iter()
    .map(hit)
    .collect()
}

pub async fn of_user(db: &Db, user_id: &str) -> StoreResult<Vec<(String, String, bool, String)>> {
    db.query(
        "SELECT number, kind, confirmed, source FROM phone_index WHERE user_id = $1 \
         ORDER BY number, kind, source",
        &[user_id.into()],
    )
    .await?
    .iter()
    .map(|r| Ok((r.str(0)?, r.str(1)?, r.bool(2)?, r.str(3)?)))
    .collect()
}

/// The index recomputed from `users` and `authenticators` with the triggers' rule.
const EXPECTED: &str = "\
    SELECT phone_number AS number, user_id, \
           CASE WHEN substr(user_id, 1, 4) = 'sms|' THEN 'passwordless' ELSE 'profile' END AS kind, \
           connection, phone_verified AS confirmed, created_at, last_login AS last_used_at, \
           'user' AS source \
    FROM users WHERE phone_number IS NOT NULL \
    UNION ALL \
    SELECT a.phone_number, a.user_id, \
           CASE WHEN a.preferred_method = 'voice' THEN 'mfa_voice' ELSE 'mfa_sms' END, \
           COALESCE(u.connection, ''), a.confirmed, COALESCE(a.enrolled_at, a.created_at), \
           a.last_auth_at, a.id \
    FROM authenticators a LEFT JOIN users u ON u.user_id = a.user_id \
    WHERE a.type = 'phone' AND a.phone_number IS NOT NULL";

const ACTUAL: &str = "SELECT number, user_id, kind, connection, confirmed, created_at, \
                      last_used_at, source FROM phone_index";

/// Expected entries absent from the index (each side wrapped: compound operators associate
/// left, and EXPECTED is itself a UNION ALL).
fn missing() -> String {
    format!("SELECT * FROM ({EXPECTED}) e EXCEPT SELECT * FROM ({ACTUAL}) a")
}

/// Index entries the rule does not produce.
fn extra() -> String {
    format!("SELECT * FROM ({ACTUAL}) a EXCEPT SELECT * FROM ({EXPECTED}) e")
}

/// How many entries differ between the index and its recomputation (both directions, and
/// duplicates); 0 means the triggers kept it exact.
pub async fn drift(db: &Db) -> StoreResult<i64> {
    let (missing, extra) = (missing(), extra());
    let sql = format!(
        "SELECT \
           (SELECT COUNT(*) FROM ({missing}) x) + \
           (SELECT COUNT(*) FROM ({extra}) y) + \
           ABS((SELECT COUNT(*) FROM phone_index) - (SELECT COUNT(*) FROM ({EXPECTED}) z))"
    );
    let rows = db.query(&sql, &[]).await?;
    Ok(rows.first().map(|r| r.i64(0)).transpose()?.unwrap_or(0))
}

/// The entries `drift` counts, as text: `-` expected but missing, `+` present but unexpected.
pub async fn drift_rows(db: &Db) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    for (sign, sql) in [("-", missing()), ("+", extra())] {
        for r in db.query(&sql, &[]).await? {
            out.push(format!("{sign} {:?}", r.0));
        }
    }
    Ok(out)
}
