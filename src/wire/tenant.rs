//! The tenant's own documents: the bootstrap credentials file (`<data dir>/bootstrap-client.json`,
//! the operator interface of docs/operator.md).

use serde::Serialize;

/// The admin application's credentials, written once at first start (mode 0600). Fields in
/// alphabetical order, as the file has always had them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BootstrapCredentials<'a> {
    pub audience: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub issuer: &'a str,
}
