//! `/.well-known/jwks.json`: the published signing keys as RFC 7517 JSON Web Keys, with the
//! fields Auth0 publishes (`kty`, `use`, `alg`, `kid`, `n`, `e`, `x5t`, `x5c`), and the JWT
//! header the server signs with.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One RSA signing key (RS256). Fields in the order the server has always sent them
/// (alphabetical), so the document's bytes did not change when it became typed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Jwk {
    pub alg: &'static str,
    /// Exponent and modulus, base64url without padding.
    pub e: String,
    pub kid: String,
    pub kty: &'static str,
    pub n: String,
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// The self-signed certificate, standard base64 DER.
    pub x5c: Vec<String>,
    /// SHA-1 thumbprint of the certificate, base64url.
    pub x5t: String,
}

/// The protected header of every token the server signs (same field order as before).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JwtHeader<'a> {
    pub alg: &'static str,
    pub kid: &'a str,
    pub typ: &'static str,
}
