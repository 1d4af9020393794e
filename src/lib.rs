//! forloeb-gateway: one GraphQL API to the digital care plans (forløbsplaner) of Danish
//! general practice, for patients, clinicians, regions and the ministry.

pub mod app;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod ingest;
pub mod schema;
pub mod telemetry;
