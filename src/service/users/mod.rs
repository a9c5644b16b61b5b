//! Users and their lifecycle: Management API create/read/patch/delete and search, signup,
//! password-change tickets and resets, brute-force blocks.

pub mod blocks; // brute-force blocks as the user-blocks API shows and lifts them
pub mod custom_db; // custom-database connections: the login script, migrated and shadow users
pub mod manage; // Management API users: create, read, patch, delete
pub mod passwords; // change-password tickets and the reset itself
pub mod rbac; // roles and permissions (Auth0 RBAC): roles, assignments, what a user holds
pub mod search; // GET /users: q, sort, paging
pub mod signup; // /dbconnections/signup
