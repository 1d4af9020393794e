//! What several subgraphs read and none owns: the directory of clinics and clusters, the
//! rollout snapshot of plan-version facts with the aggregates over it, the metric rules
//! (DOMAIN.md "Metrics") and the steering group's activity question. Below the subgraph
//! folders: it imports none of them.

pub mod activity;
pub mod app_users;
pub mod directory;
pub mod metrics;
pub mod population;
pub mod quality;
pub mod series;
pub mod snapshot;

pub use directory::{ClinicInfo, ClusterInfo, Directory};
