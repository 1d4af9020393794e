//! Integration tests: the gateway over real HTTP, each test on a database of its own (SQLite by
//! default, PostgreSQL when FORLOEB_TEST_POSTGRES_URL is set). One test binary on purpose:
//! every extra binary costs a link of the whole crate.

mod access;
mod auth;
mod availability;
mod cli;
mod disclosure;
mod federation;
mod fuzz;
mod graphql_http;
mod hardening;
mod health;
mod helpers;
mod import;
mod limits;
mod operations;
mod rollout;
mod service;
