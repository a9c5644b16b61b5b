//! Web origins (`scheme://host[:port]`) of the applications' URL fields: what a browser may
//! call from (CORS on the token endpoints) and where a `web_message` answer may be posted.

/// The origin of a URL, lower-cased, if it has a tuple origin (http(s) with a host).
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// The origins a client's `web_origins`, `allowed_origins` and `callbacks` allow, normalised
/// (lower case, no trailing slash; a callback counts by its origin).
pub fn allowed(
    web_origins: &[String],
    allowed_origins: &[String],
    callbacks: &[String],
) -> Vec<String> {
    web_origins
        .iter()
        .chain(allowed_origins)
        .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
        .chain(callbacks.iter().filter_map(|c| origin_of(c)))
        .collect()
}

/// `origin` as a browser sends it, normalised for comparison with [`allowed`].
pub fn normalise(origin: &str) -> String {
    origin.trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_urls_and_client_fields() {
        assert_eq!(
            origin_of("https://App.Example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("not a url"), None);
        let a = allowed(
            &["https://a.example/".into()],
            &["https://B.example".into()],
            &["https://c.example/cb".into(), "myapp:/cb".into()],
        );
        assert_eq!(
            a,
            [
                "https://a.example",
                "https://b.example",
                "https://c.example"
            ]
        );
        assert!(a.contains(&normalise("https://A.example/")));
    }
}
