//! The URL fields of an application (Auth0's names, unchanged) and their web origins
//! (`scheme://host[:port]`): what a browser may call from (CORS on the token endpoints) and
//! where a `web_message` answer may be posted.

/// The URL fields of a client that the hosted login reads, from the client's stored JSON
/// (typed when saved through the Management API; a field that is missing or unreadable counts
/// as empty).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ClientUrls {
    pub callbacks: Vec<String>,
    pub web_origins: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_logout_urls: Vec<String>,
    pub initiate_login_uri: Option<String>,
}

impl ClientUrls {
    /// Reads the fields of a client's stored attributes.
    pub fn of(data: &serde_json::Map<String, serde_json::Value>) -> Self {
        serde_json::from_value(serde_json::Value::Object(data.clone())).unwrap_or_default()
    }

    /// Every origin these fields allow browser calls from (see [`allowed`]).
    pub fn origins(&self) -> Vec<String> {
        allowed(&self.web_origins, &self.allowed_origins, &self.callbacks)
    }

    /// Whether `origin` is one of the `web_origins` (a `web_message` answer may go there).
    pub fn web_origin(&self, origin: &str) -> bool {
        allowed(&self.web_origins, &[], &[]).contains(&normalise(origin))
    }
}

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
        let mut data = serde_json::Map::new();
        data.insert(
            "web_origins".into(),
            serde_json::json!(["https://A.example/"]),
        );
        data.insert("initiate_login_uri".into(), serde_json::Value::Null);
        let u = ClientUrls::of(&data);
        assert!(u.web_origin("https://a.example"));
        assert!(!u.web_origin("https://b.example"));
        assert_eq!(u.origins(), ["https://a.example"]);
    }
}
