//! Authentication API handlers (`/oauth/*`, later `/mfa/*`, `/dbconnections/*`, `/passwordless/*`).

pub mod token;
