//! The one integration-test binary. Modules by area; `support` builds in-process apps on a
//! temporary SQLite file and, when `CALLSIGN_TEST_POSTGRES_URL` is set (the README test command
//! sets it), on a fresh PostgreSQL database per test, dropped when the test ends. A test that
//! holds on both backends is written once and declared with `backend_tests!`, which makes it
//! two tests (`module::name::sqlite`, `module::name::postgres`) that run and fail separately.

mod actions;
mod api;
mod architecture;
mod bad_input;
mod connections;
mod console_mfa;
mod custom_db;
mod guardian;
mod hardening;
mod hosted;
mod inbound;
mod limits;
mod login;
mod logs;
mod lookup;
mod mfa;
mod mfa_admin;
mod mfa_delivery;
mod mfa_hot_path;
mod migrations;
mod multinode;
mod otp_delivery;
mod outbox;
mod phone;
mod phone_providers;
mod phone_templates;
mod processes;
mod profile_caps;
mod proxies;
mod roles;
mod sandbox;
mod security;
mod sms_budget;
mod ssrf;
mod store_contract;
mod support;
mod twilio;
mod user_search;
mod users;
