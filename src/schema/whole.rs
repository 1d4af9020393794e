//! The one-process schema: every subgraph's part of an entity merged into one type, and every
//! subgraph's root fields into one `Query`. The composed API schema of the four subgraphs
//! equals this one (`tests/federation/compose.mjs`).

use super::BaseQuery;
use crate::domain::RegionCode;
use crate::facts::{ClinicInfo, ClusterInfo};
use crate::gql::Graph;
use crate::{clusters, plans, population, rollout};
use async_graphql::MergedObject;
use std::borrow::Cow;

/// The whole graph's choice of entity types: the merged ones below.
pub struct Whole;

impl Graph for Whole {
    type Clinic = Clinic;
    type Cluster = Cluster;
    type Region = Region;

    fn part_name(_entity: &'static str, part: &'static str) -> Cow<'static, str> {
        Cow::Borrowed(part)
    }
}

/// The root of every read.
#[derive(MergedObject, Default)]
pub struct Query(
    BaseQuery,
    plans::graphql::PlansQuery<Whole>,
    clusters::graphql::ClustersQuery<Whole>,
    rollout::graphql::RolloutQuery<Whole>,
);

/// A general practice (lægehus, klinik), identified by its ydernummer.
#[derive(MergedObject)]
pub struct Clinic(
    clusters::graphql::ClinicFields<Whole>,
    population::graphql::ClinicFields<Whole>,
    plans::graphql::ClinicFields<Whole>,
);

impl From<ClinicInfo> for Clinic {
    fn from(c: ClinicInfo) -> Self {
        Clinic(c.clone().into(), c.clone().into(), c.into())
    }
}

/// A cluster (klynge): a quality-improvement group of clinics in one region.
#[derive(MergedObject)]
pub struct Cluster(
    clusters::graphql::ClusterFields<Whole>,
    population::graphql::ClusterFields<Whole>,
);

impl From<ClusterInfo> for Cluster {
    fn from(c: ClusterInfo) -> Self {
        Cluster(c.clone().into(), c.into())
    }
}

/// A Danish region.
#[derive(MergedObject)]
pub struct Region(
    clusters::graphql::RegionFields<Whole>,
    rollout::graphql::RegionFields<Whole>,
);

impl From<RegionCode> for Region {
    fn from(code: RegionCode) -> Self {
        Region(code.into(), code.into())
    }
}
