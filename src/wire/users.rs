//! `/api/v2/users` bodies: create and patch. What a field means for the connection (which
//! identifier is required, username bounds, the password policy, E.164) stays with the
//! service (`users::manage`); here are the types and which fields exist.

use serde::Deserialize;
use serde_json::{Map, Value};

/// `POST /api/v2/users`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    #[serde(default)]
    pub connection: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// Accepted and type-checked; verification emails come with email templates.
    #[serde(default)]
    pub verify_email: Option<bool>,
    #[serde(default)]
    pub phone_verified: Option<bool>,
    #[serde(default)]
    pub blocked: Option<bool>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub picture: Option<String>,
    /// Never `null` (refused with the field's type).
    #[serde(default, deserialize_with = "super::given")]
    pub user_metadata: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "super::given")]
    pub app_metadata: Option<Map<String, Value>>,
}

impl UserCreate {
    /// The capped profile strings given, by name (`domain::user_profile::PROFILE_CAPS`).
    pub fn profile_strings(&self) -> [(&'static str, Option<&str>); 5] {
        [
            ("given_name", self.given_name.as_deref()),
            ("family_name", self.family_name.as_deref()),
            ("name", self.name.as_deref()),
            ("nickname", self.nickname.as_deref()),
            ("picture", self.picture.as_deref()),
        ]
    }
}

/// `PATCH /api/v2/users/{id}`: a field given as `null` is `Some(None)` where Auth0 lets it be
/// removed (names, picture, phone, username); the service refuses it where not (email).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub blocked: Option<bool>,
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub phone_number: Option<Option<String>>,
    #[serde(default)]
    pub phone_verified: Option<bool>,
    #[serde(default, deserialize_with = "super::given")]
    pub user_metadata: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "super::given")]
    pub app_metadata: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub nickname: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub picture: Option<Option<String>>,
    #[serde(default)]
    pub verify_email: Option<bool>,
    #[serde(default)]
    pub verify_phone_number: Option<bool>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub verify_password: Option<bool>,
    #[serde(default)]
    pub connection: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub username: Option<Option<String>>,
}

impl UserPatch {
    /// Whether the patch touches nothing but `user_metadata` / `app_metadata` (what the
    /// `update:users_app_metadata` scope alone may change).
    pub fn only_metadata(&self) -> bool {
        let UserPatch {
            blocked,
            email_verified,
            email,
            phone_number,
            phone_verified,
            user_metadata: _,
            app_metadata: _,
            given_name,
            family_name,
            name,
            nickname,
            picture,
            verify_email,
            verify_phone_number,
            password,
            verify_password,
            connection,
            client_id,
            username,
        } = self;
        [
            blocked,
            email_verified,
            phone_verified,
            verify_email,
            verify_phone_number,
            verify_password,
        ]
        .iter()
        .all(|b| b.is_none())
            && [
                email,
                phone_number,
                given_name,
                family_name,
                name,
                nickname,
                picture,
                username,
            ]
            .iter()
            .all(|v| v.is_none())
            && [password, connection, client_id]
                .iter()
                .all(|v| v.is_none())
    }

    /// The capped profile strings given, by name (`domain::user_profile::PROFILE_CAPS`).
    pub fn profile_strings(&self) -> [(&'static str, Option<&str>); 5] {
        fn s(v: &Option<Option<String>>) -> Option<&str> {
            v.as_ref().and_then(|v| v.as_deref())
        }
        [
            ("given_name", s(&self.given_name)),
            ("family_name", s(&self.family_name)),
            ("name", s(&self.name)),
            ("nickname", s(&self.nickname)),
            ("picture", s(&self.picture)),
        ]
    }
}
