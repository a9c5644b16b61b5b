//! `POST /passwordless/start`'s answer for the `sms` connection, in Auth0's shape.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Started {
    /// A fresh id each time (Auth0 answers the user's id: callsign does not tell who exists).
    #[serde(rename = "_id")]
    pub id: String,
    pub phone_number: String,
    /// Always `false`, for the same reason.
    pub phone_verified: bool,
}
