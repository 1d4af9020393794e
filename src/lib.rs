//! forloeb-gateway: one GraphQL API to the digital care plans (forløbsplaner) of Danish
//! general practice, for patients, clinicians, regions and the ministry.

pub mod access;
pub mod app;
pub mod auth;
pub mod background;
pub mod clusters;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod facts;
pub mod federation;
pub mod gql;
pub mod http;
pub mod ingest;
mod layers;
pub mod metrics;
pub mod plans;
pub mod population;
pub mod ratelimit;
pub mod rollout;
pub mod schema;
pub mod service;
pub mod telemetry;
pub mod trusted;
