//! The clusters subgraph in GraphQL: clinics, clusters and regions as reference data, and each
//! clinic's plan activity. Other subgraphs add their fields to these entities; here they are
//! returned as the schema's types (`Graph`), never as another subgraph's.

use crate::access;
use crate::domain::{RegionCode, Ydernummer};
use crate::facts::{metrics, ClinicInfo, ClusterInfo};
use crate::gql::entities;
use crate::gql::{self, bad_input, Date, Graph};
use crate::{entity_part, root_part};
use async_graphql::{Context, Object, SimpleObject};

entity_part!(
    /// The clusters subgraph's part of a clinic: who it is, where, and its activity.
    ClinicFields(ClinicInfo),
    "Clinic",
    "ClustersClinic"
);

/// A general practice (lægehus, klinik), identified by its ydernummer.
#[Object(name_type)]
impl<G: Graph> ClinicFields<G> {
    /// Provider number (ydernummer): 6 digits, leading zeros kept.
    async fn ydernummer(&self) -> &str {
        self.0.ydernummer.as_str()
    }
    /// The clinic's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The region the clinic belongs to.
    async fn region(&self) -> Option<G::Region> {
        Some(G::Region::from(self.0.region))
    }
    /// The clinic's cluster (klynge), if it is in one.
    async fn cluster(&self, ctx: &Context<'_>) -> gql::Result<Option<G::Cluster>> {
        let Some(id) = &self.0.cluster else {
            return Ok(None);
        };
        entities::cluster(ctx, id).await
    }
    /// Opened on (null: unknown, counted as open).
    async fn opened_on(&self) -> Option<Date> {
        self.0.opened_on.map(Date)
    }
    /// Closed on (null: not closed).
    async fn closed_on(&self) -> Option<Date> {
        self.0.closed_on.map(Date)
    }
    /// Whether the clinic is open on the date (default today).
    async fn is_open(&self, as_of: Option<Date>) -> gql::Result<bool> {
        Ok(self.0.is_open(gql::as_of_or_today(as_of)))
    }
    /// Plan activity in the 12 months to the date (default today). Clinicians: own clinic and
    /// its cluster; regions: own region; ministry: all.
    async fn activity(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> gql::Result<Option<ClinicActivity>> {
        if !gql::viewer(ctx)?.may("Clinic", "activity", self.0.subject()) {
            return Err(access::forbidden());
        }
        let d = gql::as_of_or_today(as_of);
        let w = gql::clinic_windows(ctx, d)
            .await?
            .get(self.0.ydernummer.as_str())
            .copied()
            .unwrap_or_default();
        Ok(Some(ClinicActivity {
            as_of: Date(d),
            new_plans_12m: w.new_plans,
            plans_made_12m: w.plans,
            heart_plans_12m: w.new_heart,
            ok22_bucket: metrics::bucket(w.new_plans).to_string(),
            ok22_met: w.new_plans >= metrics::OK22_MINIMUM,
            inactive: w.plans == 0,
        }))
    }
}

/// A clinic's plan activity in the 12 months to a date.
#[derive(SimpleObject)]
pub struct ClinicActivity {
    /// The date the figures are for.
    pub as_of: Date,
    /// New plans (nye planer) made by the clinic in the 12 months.
    #[graphql(name = "newPlans12m")]
    pub new_plans_12m: i64,
    /// Plan versions made (udarbejdede forløbsplaner), new and maintained.
    #[graphql(name = "plansMade12m")]
    pub plans_made_12m: i64,
    /// New heart plans (IHD).
    #[graphql(name = "heartPlans12m")]
    pub heart_plans_12m: i64,
    /// OK22 bucket of the new plans: 0, 1-4, 5-9, 10-19, 20-49, 50+.
    pub ok22_bucket: String,
    /// At least 5 new plans: the OK22 requirement met.
    pub ok22_met: bool,
    /// No plan version at all in the 12 months.
    pub inactive: bool,
}

entity_part!(
    /// The clusters subgraph's part of a cluster: its name, region and clinics.
    ClusterFields(ClusterInfo),
    "Cluster",
    "ClustersCluster"
);

/// A cluster (klynge): a quality-improvement group of clinics in one region.
#[Object(name_type)]
impl<G: Graph> ClusterFields<G> {
    /// Cluster id, e.g. K1084-03.
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// The cluster's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The region the cluster belongs to.
    async fn region(&self) -> Option<G::Region> {
        Some(G::Region::from(self.0.region))
    }
    /// The cluster's clinics, by ydernummer.
    async fn clinics(&self, ctx: &Context<'_>) -> gql::Result<Vec<G::Clinic>> {
        Ok(gql::directory(ctx)
            .await?
            .clinics_in_cluster(&self.0.id)
            .cloned()
            .map(G::Clinic::from)
            .collect())
    }
}

entity_part!(
    /// The clusters subgraph's part of a region: its name, clusters and clinics.
    RegionFields(RegionCode),
    "Region",
    "ClustersRegion"
);

/// A Danish region.
#[Object(name_type)]
impl<G: Graph> RegionFields<G> {
    /// Region code: 1081–1085.
    async fn code(&self) -> &str {
        self.0.as_str()
    }
    /// The region's name, e.g. Region Hovedstaden.
    async fn name(&self) -> &str {
        self.0.name()
    }
    /// The region's clusters, by id.
    async fn clusters(&self, ctx: &Context<'_>) -> gql::Result<Vec<G::Cluster>> {
        Ok(gql::directory(ctx)
            .await?
            .clusters
            .values()
            .filter(|c| c.region == self.0)
            .cloned()
            .map(G::Cluster::from)
            .collect())
    }
    /// The region's clinics, by ydernummer.
    async fn clinics(&self, ctx: &Context<'_>) -> gql::Result<Vec<G::Clinic>> {
        Ok(gql::directory(ctx)
            .await?
            .clinics_in_region(self.0)
            .cloned()
            .map(G::Clinic::from)
            .collect())
    }
}

fn region_arg(raw: &str) -> gql::Result<RegionCode> {
    RegionCode::parse(raw).map_err(|e| bad_input("region", e))
}

root_part!(
    /// The clusters subgraph's query fields: reference data for staff.
    ClustersQuery
);

#[Object]
impl<G: Graph> ClustersQuery<G> {
    /// A clinic by ydernummer; null when there is none.
    async fn clinic(
        &self,
        ctx: &Context<'_>,
        ydernummer: String,
    ) -> gql::Result<Option<G::Clinic>> {
        let y = Ydernummer::parse(&ydernummer).map_err(|e| bad_input("ydernummer", e))?;
        entities::clinic(ctx, y.as_str()).await
    }
    /// Clinics, optionally of one region or cluster, by ydernummer.
    async fn clinics(
        &self,
        ctx: &Context<'_>,
        region: Option<String>,
        cluster: Option<String>,
    ) -> gql::Result<Option<Vec<G::Clinic>>> {
        let region = region.as_deref().map(region_arg).transpose()?;
        Ok(Some(
            gql::directory(ctx)
                .await?
                .clinics
                .values()
                .filter(|c| region.is_none_or(|r| c.region == r))
                .filter(|c| cluster.is_none() || c.cluster == cluster)
                .cloned()
                .map(G::Clinic::from)
                .collect(),
        ))
    }
    /// A cluster by id; null when there is none.
    async fn cluster(&self, ctx: &Context<'_>, id: String) -> gql::Result<Option<G::Cluster>> {
        entities::cluster(ctx, &id).await
    }
    /// Clusters, optionally of one region.
    async fn clusters(
        &self,
        ctx: &Context<'_>,
        region: Option<String>,
    ) -> gql::Result<Option<Vec<G::Cluster>>> {
        let region = region.as_deref().map(region_arg).transpose()?;
        Ok(Some(
            gql::directory(ctx)
                .await?
                .clusters
                .values()
                .filter(|c| region.is_none_or(|r| c.region == r))
                .cloned()
                .map(G::Cluster::from)
                .collect(),
        ))
    }
    /// A region by code (1081–1085).
    async fn region(&self, code: String) -> gql::Result<Option<G::Region>> {
        Ok(Some(G::Region::from(
            RegionCode::parse(&code).map_err(|e| bad_input("code", e))?,
        )))
    }
    /// The five regions.
    async fn regions(&self) -> Option<Vec<G::Region>> {
        Some(
            RegionCode::ALL
                .iter()
                .copied()
                .map(G::Region::from)
                .collect(),
        )
    }
}

/// The clusters subgraph served alone: its own parts of the three entities.
pub struct Alone;

impl Graph for Alone {
    type Clinic = ClinicFields<Alone>;
    type Cluster = ClusterFields<Alone>;
    type Region = RegionFields<Alone>;
}

/// How the router finds this subgraph's entities by key (`_entities`): the same lookups as
/// `clinic(ydernummer)`, `cluster(id)` and `region(code)`, so they reach nothing those could not.
#[derive(Default)]
pub struct ClustersEntities;

#[Object]
impl ClustersEntities {
    #[graphql(entity)]
    async fn find_clinic_by_ydernummer(
        &self,
        ctx: &Context<'_>,
        ydernummer: String,
    ) -> gql::Result<Option<ClinicFields<Alone>>> {
        entities::clinic(ctx, &ydernummer).await
    }

    #[graphql(entity)]
    async fn find_cluster_by_id(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> gql::Result<Option<ClusterFields<Alone>>> {
        entities::cluster(ctx, &id).await
    }

    #[graphql(entity)]
    async fn find_region_by_code(&self, code: String) -> Option<RegionFields<Alone>> {
        RegionCode::parse(&code).ok().map(RegionFields::from)
    }
}
