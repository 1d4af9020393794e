//! The clusters subgraph: clinics, clusters (klynger) and regions as reference data, each
//! clinic's activity.

pub mod graphql;
