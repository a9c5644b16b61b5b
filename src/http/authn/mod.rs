//! Authentication API handlers (`/oauth/*`, `/dbconnections/*`, `/userinfo`; later `/mfa/*` and
//! `/passwordless/*`).

pub mod dbconnections;
pub mod mfa;
pub mod session;
pub mod token;
