//! Authentication API handlers (`/oauth/*`, `/dbconnections/*`, `/userinfo`, `/mfa/*`,
//! `/passwordless/*`) and `/authorize` with logout and CORS (`authorize`).

pub mod authorize;
pub mod dbconnections;
pub mod mfa;
pub mod session;
pub mod token;
