//! Integration tests: the gateway over real HTTP, each test on a database of its own (SQLite by
//! default, PostgreSQL when FORLOEB_TEST_POSTGRES_URL is set). One test binary on purpose:
//! every extra binary costs a link of the whole crate.

// A test or benchmark stops at the first thing it did not expect; that is how it reports.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod access;
mod auth;
mod availability;
mod cli;
mod disclosure;
mod entries;
mod faults;
mod federation;
mod fuzz;
mod graphql_http;
mod hardening;
mod health;
mod helpers;
mod import;
mod limits;
mod operations;
mod quality;
mod rollout;
mod service;
mod telemetry;
