//! Clinics, clusters and regions in GraphQL, with each clinic's activity and population and
//! the cluster view (klyngevisning).

use super::{ClinicInfo, ClusterInfo};
use crate::access::{self, Subject, Viewer};
use crate::domain::{PlanType as DomainPlanType, RegionCode, Ydernummer};
use crate::gql::PlanType;
use crate::gql::{self, bad_input, db_error, Date};
use crate::plans::graphql::Patient;
use crate::plans::repo::{self as plans_repo, ClinicList};
use crate::population::graphql::{coverage, populations, CountedDataLoader, Coverage, Population};
use crate::population::repo::Counted;
use crate::rollout::graphql::Rollout;
use crate::rollout::metrics;
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object, SimpleObject};
use std::collections::HashMap;

/// Largest page of a list.
pub const MAX_PAGE: usize = 100;

/// The cost of reading one clinic's population, in units of work (`access::work`): about the
/// listed patients with a diagnosis of a clinic at national scale (0.55 M over 1,693), each
/// weighed as ten plan versions scanned, since reading a patient and the first plan of each
/// type from the database costs about that much more than scanning a version in memory
/// (measured: the whole nation's populations take seconds, its three years of versions
/// tenths of a second). A region's populations (about 1.4 M) are heavy work, the nation's
/// (6.8 M) most of a request's budget.
const PATIENTS_PER_CLINIC: u64 = 4_000;

/// A general practice (lægehus), identified by its ydernummer.
#[derive(Clone)]
pub struct Clinic(pub ClinicInfo);

impl Clinic {
    pub async fn by_id(ctx: &Context<'_>, ydernummer: &str) -> gql::Result<Option<Clinic>> {
        Ok(gql::directory(ctx)
            .await?
            .clinics
            .get(ydernummer)
            .cloned()
            .map(Clinic))
    }

    /// Refused unless the viewer's reach on `Clinic.field` covers this clinic.
    fn reachable(&self, viewer: &Viewer, field: &str) -> gql::Result<()> {
        if viewer.may("Clinic", field, self.subject()) {
            Ok(())
        } else {
            Err(access::forbidden())
        }
    }

    /// This clinic as the subject of a reach decision.
    pub fn subject(&self) -> Subject<'_> {
        let c = &self.0;
        Subject::Clinic {
            ydernummer: &c.ydernummer,
            region: &c.region,
            cluster: c.cluster.as_deref(),
        }
    }

    async fn page(
        &self,
        ctx: &Context<'_>,
        list: ClinicList,
        first: Option<i32>,
        after: Option<String>,
    ) -> gql::Result<Connection<usize, Patient, EmptyFields, EmptyFields>> {
        let first = page_size(first)?;
        let offset = match after {
            None => 0,
            Some(cursor) => {
                cursor
                    .parse::<usize>()
                    .map_err(|_| bad_input("after", "not a cursor this list returned"))?
                    + 1
            }
        };
        let scope = gql::viewer(ctx)?.scope();
        let clinic = self.0.ydernummer.clone();
        let look = ctx.look_ahead();
        let with_plans = look.field("edges").field("node").field("plans").exists()
            || look.field("nodes").field("plans").exists();
        let found = gql::db(ctx)?
            .run(move |c| {
                plans_repo::clinic_patients(
                    c,
                    &scope,
                    &clinic,
                    list,
                    (offset as i64, first as i64),
                    with_plans,
                )
            })
            .await
            .map_err(db_error)?;
        let Some((rows, total)) = found else {
            return Err(access::forbidden());
        };
        let seen = i64::try_from(offset + rows.len()).unwrap_or(i64::MAX);
        let mut conn = Connection::new(offset > 0, seen < total);
        for (i, (row, plans)) in rows.into_iter().enumerate() {
            conn.edges.push(Edge::new(
                offset + i,
                Patient::from_listing(ctx, row, plans)?,
            ));
        }
        Ok(conn)
    }
}

/// The counted patients of a clinic or cluster, through the request's batching loader.
async fn population_of(
    ctx: &Context<'_>,
    of: access::CountScope,
) -> gql::Result<std::sync::Arc<Vec<crate::population::repo::Counted>>> {
    Ok(ctx
        .data::<CountedDataLoader>()
        .map_err(|_| gql::internal("no population loader"))?
        .load_one(of)
        .await?
        .unwrap_or_default())
}

fn page_size(first: Option<i32>) -> gql::Result<usize> {
    let first = first.unwrap_or(50);
    usize::try_from(first)
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n))
        .ok_or_else(|| bad_input("first", format!("must be between 1 and {MAX_PAGE}")))
}

/// A general practice (lægehus, klinik), identified by its ydernummer.
#[Object]
impl Clinic {
    /// Provider number (ydernummer): 6 digits, leading zeros kept.
    async fn ydernummer(&self) -> &str {
        &self.0.ydernummer
    }
    /// The clinic's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The region the clinic belongs to.
    async fn region(&self) -> Option<Region> {
        RegionCode::parse(&self.0.region).ok().map(Region)
    }
    /// The clinic's cluster (klynge), if it is in one.
    async fn cluster(&self, ctx: &Context<'_>) -> gql::Result<Option<Cluster>> {
        let Some(id) = &self.0.cluster else {
            return Ok(None);
        };
        Cluster::by_id(ctx, id).await
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
        self.reachable(gql::viewer(ctx)?, "activity")?;
        let d = gql::as_of_or_today(as_of);
        let w = gql::clinic_windows(ctx, d)
            .await?
            .get(&self.0.ydernummer)
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
    /// The patient population per plan type as of the date (default today). Exact for the
    /// clinic's own clinicians; disclosure-controlled for the other clinics of their cluster,
    /// regions and the ministry.
    async fn population(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> gql::Result<Option<Vec<Population>>> {
        let viewer = gql::viewer(ctx)?;
        let counted = viewer
            .count_scope("Clinic", "population", self.subject())
            .ok_or_else(access::forbidden)?;
        let d = gql::as_of_or_today(as_of);
        gql::admit(ctx, PATIENTS_PER_CLINIC).await?;
        let rows = population_of(ctx, counted).await?;
        let disclosure = viewer.counts_for_clinic(&self.0.ydernummer);
        Ok(Some(populations(&rows, d, disclosure)))
    }
    /// The clinic's listed patients, by CPR number (own clinic's clinicians only).
    async fn patients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1–100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the last edge of the previous page.")] after: Option<
            String,
        >,
    ) -> gql::Result<Option<Connection<usize, Patient, EmptyFields, EmptyFields>>> {
        self.page(ctx, ClinicList::Listed, first, after)
            .await
            .map(Some)
    }
    /// Listed patients with the diagnosis but no plan of that type: whom to invite next
    /// (own clinic's clinicians only).
    async fn uninvited(
        &self,
        ctx: &Context<'_>,
        r#type: PlanType,
        #[graphql(desc = "Page size, 1–100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the last edge of the previous page.")] after: Option<
            String,
        >,
    ) -> gql::Result<Option<Connection<usize, Patient, EmptyFields, EmptyFields>>> {
        let t: DomainPlanType = r#type.into();
        self.page(ctx, ClinicList::Uninvited(t), first, after)
            .await
            .map(Some)
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

/// A cluster (klynge): a quality-improvement group of clinics in one region.
#[derive(Clone)]
pub struct Cluster(pub ClusterInfo);

impl Cluster {
    pub async fn by_id(ctx: &Context<'_>, id: &str) -> gql::Result<Option<Cluster>> {
        Ok(gql::directory(ctx)
            .await?
            .clusters
            .get(id)
            .cloned()
            .map(Cluster))
    }
}

/// A cluster (klynge): a quality-improvement group of clinics in one region.
#[Object]
impl Cluster {
    /// Cluster id, e.g. K1084-03.
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// The cluster's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The region the cluster belongs to.
    async fn region(&self) -> Option<Region> {
        RegionCode::parse(&self.0.region).ok().map(Region)
    }
    /// The cluster's clinics, by ydernummer.
    async fn clinics(&self, ctx: &Context<'_>) -> gql::Result<Vec<Clinic>> {
        Ok(gql::directory(ctx)
            .await?
            .clinics_in_cluster(&self.0.id)
            .cloned()
            .map(Clinic)
            .collect())
    }
    /// The cluster view (klyngevisning) as of the date (default today). Clinicians: their own
    /// cluster; regions: clusters of their region; ministry: all.
    async fn view(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> gql::Result<Option<ClusterView>> {
        let viewer = gql::viewer(ctx)?;
        let subject = Subject::Cluster {
            id: &self.0.id,
            region: &self.0.region,
        };
        let counted = viewer
            .count_scope("Cluster", "view", subject)
            .ok_or_else(access::forbidden)?;
        let d = gql::as_of_or_today(as_of);
        let dir = gql::directory(ctx).await?;
        let windows = gql::clinic_windows(ctx, d).await?;
        // The listed patients of the cluster's clinics are read: about this many per clinic.
        let clinics_in = dir.clinics_in_cluster(&self.0.id).count() as u64;
        gql::admit(ctx, clinics_in * PATIENTS_PER_CLINIC).await?;
        let rows = population_of(ctx, counted).await?;
        let mut by_clinic: HashMap<&str, Vec<&Counted>> = HashMap::new();
        for r in rows.iter() {
            by_clinic.entry(r.ydernummer.as_str()).or_default().push(r);
        }
        let clinics = dir
            .clinics_in_cluster(&self.0.id)
            .map(|c| {
                let w = windows.get(&c.ydernummer).copied().unwrap_or_default();
                let mine = by_clinic.remove(c.ydernummer.as_str()).unwrap_or_default();
                ClusterViewRow {
                    clinic: Clinic(c.clone()),
                    open: c.is_open(d),
                    new_plans_12m: w.new_plans,
                    ok22_met: w.new_plans >= metrics::OK22_MINIMUM,
                    inactive: w.plans == 0,
                    coverage: coverage(&mine, d, viewer.counts_for_clinic(&c.ydernummer)),
                }
            })
            .collect();
        Ok(Some(ClusterView {
            as_of: Date(d),
            cluster: self.clone(),
            clinics,
        }))
    }
}

/// The cluster view (klyngevisning): each clinic's figures side by side.
#[derive(SimpleObject)]
pub struct ClusterView {
    /// The date the figures are for.
    pub as_of: Date,
    /// The cluster shown.
    pub cluster: Cluster,
    /// One row per clinic of the cluster, by ydernummer.
    pub clinics: Vec<ClusterViewRow>,
}

/// One clinic in a cluster view.
#[derive(SimpleObject)]
pub struct ClusterViewRow {
    /// The clinic.
    pub clinic: Clinic,
    /// Open on the date.
    pub open: bool,
    /// New plans in the 12 months to the date.
    #[graphql(name = "newPlans12m")]
    pub new_plans_12m: i64,
    /// OK22 met: at least 5 new plans.
    pub ok22_met: bool,
    /// No plan version in the 12 months.
    pub inactive: bool,
    /// Coverage per plan type: exact for the clinic's own clinicians, controlled for others.
    pub coverage: Vec<Coverage>,
}

/// A Danish region.
#[derive(Clone, Copy)]
pub struct Region(pub RegionCode);

/// A Danish region.
#[Object]
impl Region {
    /// Region code: 1081–1085.
    async fn code(&self) -> &str {
        self.0.as_str()
    }
    /// The region's name, e.g. Region Hovedstaden.
    async fn name(&self) -> &str {
        self.0.name()
    }
    /// The region's clusters, by id.
    async fn clusters(&self, ctx: &Context<'_>) -> gql::Result<Vec<Cluster>> {
        let code = self.0.as_str();
        Ok(gql::directory(ctx)
            .await?
            .clusters
            .values()
            .filter(|c| c.region == code)
            .cloned()
            .map(Cluster)
            .collect())
    }
    /// The region's clinics, by ydernummer.
    async fn clinics(&self, ctx: &Context<'_>) -> gql::Result<Vec<Clinic>> {
        Ok(gql::directory(ctx)
            .await?
            .clinics_in_region(self.0.as_str())
            .cloned()
            .map(Clinic)
            .collect())
    }
    /// The region's rollout as of the date (own region's users and the ministry).
    async fn rollout(&self, ctx: &Context<'_>, as_of: Date) -> gql::Result<Option<Rollout>> {
        Rollout::new(ctx, as_of, Some(self.0)).map(Some)
    }
}

fn region_arg(raw: &str) -> gql::Result<RegionCode> {
    RegionCode::parse(raw).map_err(|e| bad_input("region", e))
}

/// The clusters subgraph's query fields: reference data for staff.
#[derive(Default)]
pub struct ClustersQuery;

#[Object]
impl ClustersQuery {
    /// A clinic by ydernummer; null when there is none.
    async fn clinic(&self, ctx: &Context<'_>, ydernummer: String) -> gql::Result<Option<Clinic>> {
        let y = Ydernummer::parse(&ydernummer).map_err(|e| bad_input("ydernummer", e))?;
        Clinic::by_id(ctx, y.as_str()).await
    }
    /// Clinics, optionally of one region or cluster, by ydernummer.
    async fn clinics(
        &self,
        ctx: &Context<'_>,
        region: Option<String>,
        cluster: Option<String>,
    ) -> gql::Result<Option<Vec<Clinic>>> {
        let region = region.as_deref().map(region_arg).transpose()?;
        Ok(Some(
            gql::directory(ctx)
                .await?
                .clinics
                .values()
                .filter(|c| region.is_none_or(|r| c.region == r.as_str()))
                .filter(|c| cluster.is_none() || c.cluster == cluster)
                .cloned()
                .map(Clinic)
                .collect(),
        ))
    }
    /// A cluster by id; null when there is none.
    async fn cluster(&self, ctx: &Context<'_>, id: String) -> gql::Result<Option<Cluster>> {
        Cluster::by_id(ctx, &id).await
    }
    /// Clusters, optionally of one region.
    async fn clusters(
        &self,
        ctx: &Context<'_>,
        region: Option<String>,
    ) -> gql::Result<Option<Vec<Cluster>>> {
        let region = region.as_deref().map(region_arg).transpose()?;
        Ok(Some(
            gql::directory(ctx)
                .await?
                .clusters
                .values()
                .filter(|c| region.is_none_or(|r| c.region == r.as_str()))
                .cloned()
                .map(Cluster)
                .collect(),
        ))
    }
    /// A region by code (1081–1085).
    async fn region(&self, code: String) -> gql::Result<Option<Region>> {
        Ok(Some(Region(
            RegionCode::parse(&code).map_err(|e| bad_input("code", e))?,
        )))
    }
    /// The five regions.
    async fn regions(&self) -> Option<Vec<Region>> {
        Some(RegionCode::ALL.iter().copied().map(Region).collect())
    }
}
