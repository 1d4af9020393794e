//! The population subgraph in GraphQL: each clinic's population (patientgrundlag) and each
//! cluster's view (klyngevisning) with coverage, person counts through disclosure control.

use crate::access::{forbidden, CountWindow, Disclosure, PersonCount, PersonSet, Rate};
use crate::domain::PlanType as DomainPlanType;
use crate::entity_part;
use crate::facts::population::Listed;
use crate::facts::{metrics, ClinicInfo, ClusterInfo};
use crate::gql::quality::{self, indicators, QualityIndicator};
use crate::gql::{self, Date, Graph, Window};
use crate::gql::{PlanType, Sex};
use async_graphql::{Context, Object, SimpleObject};
use chrono::{Datelike, NaiveDate};

const AGE_BANDS: [(&str, u32, Option<u32>); 6] = [
    ("0-39", 0, Some(39)),
    ("40-49", 40, Some(49)),
    ("50-59", 50, Some(59)),
    ("60-69", 60, Some(69)),
    ("70-79", 70, Some(79)),
    ("80+", 80, None),
];

/// Completed years on 1 January of the as-of date's year (DOMAIN.md): the same all year, so a
/// birthday never shows as a change between two dates.
fn age_in_year_of(birth: NaiveDate, d: NaiveDate) -> u32 {
    let jan1 = NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d);
    let mut years = jan1.year() - birth.year();
    if (jan1.month(), jan1.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// A clinic's listed patients with one diagnosis (patientgrundlag) as of a date.
#[derive(SimpleObject)]
pub struct Population {
    /// The diagnosis, as a plan type.
    pub r#type: PlanType,
    /// Listed patients with the diagnosis.
    pub diagnosed: PersonCount,
    /// Of those, patients with a plan of this type (from any clinic) on or before the date.
    pub with_plan: PersonCount,
    /// Of those, patients without such a plan (controlled on its own, not diagnosed − withPlan).
    pub without_plan: PersonCount,
    /// Coverage (dækningsgrad): withPlan / diagnosed.
    pub coverage: Rate,
    /// The date the plans are counted to: the date asked for, or for controlled counts the
    /// end of its month.
    pub window: Window,
    /// Diagnosed patients by age band (aldersgruppe): completed years on 1 January of the
    /// date's year.
    pub by_age_band: Vec<AgeBandCount>,
    /// Diagnosed patients by sex (køn).
    pub by_sex: Vec<SexCount>,
}

/// Persons in one age band.
#[derive(SimpleObject)]
pub struct AgeBandCount {
    /// "0-39", "40-49", "50-59", "60-69", "70-79" or "80+".
    pub band: String,
    /// Persons in the band.
    pub count: PersonCount,
}

/// Persons of one sex.
#[derive(SimpleObject)]
pub struct SexCount {
    /// Female or male.
    pub sex: Sex,
    /// Persons of that sex.
    pub count: PersonCount,
}

/// Coverage of one plan type in a clinic (cluster view row).
#[derive(SimpleObject)]
pub struct Coverage {
    /// The diagnosis, as a plan type.
    pub r#type: PlanType,
    /// Listed patients with the diagnosis.
    pub diagnosed: PersonCount,
    /// Of those, with a plan of this type on or before the date.
    pub with_plan: PersonCount,
    /// Of those, without such a plan (controlled on its own, not diagnosed − withPlan).
    pub without_plan: PersonCount,
    /// withPlan / diagnosed.
    pub rate: Rate,
    /// The date the plans are counted to: the date asked for, or for controlled counts the
    /// end of its month.
    pub window: Window,
}

/// The three controlled parts of one type's coverage, each from its own set of persons.
#[derive(Default)]
struct Parts {
    diagnosed: PersonSet,
    with_plan: PersonSet,
    without_plan: PersonSet,
}

fn parts(rows: &[Listed], t: DomainPlanType, d: NaiveDate) -> Parts {
    let mut p = Parts::default();
    for r in rows.iter().filter(|r| r.has(t)) {
        p.diagnosed.add(r.key);
        if r.planned(t, d) {
            p.with_plan.add(r.key);
        } else {
            p.without_plan.add(r.key);
        }
    }
    p
}

/// One type's persons of one clinic, tallied in one pass over its rows.
struct Tally {
    parts: Parts,
    bands: [PersonSet; AGE_BANDS.len()],
    sexes: [PersonSet; 2],
}

fn tally(rows: &[Listed], t: DomainPlanType, planned_by: NaiveDate, d: NaiveDate) -> Tally {
    let mut out = Tally {
        parts: Parts::default(),
        bands: Default::default(),
        sexes: Default::default(),
    };
    for r in rows.iter().filter(|r| r.has(t)) {
        out.parts.diagnosed.add(r.key);
        if r.planned(t, planned_by) {
            out.parts.with_plan.add(r.key);
        } else {
            out.parts.without_plan.add(r.key);
        }
        let age = age_in_year_of(r.birth_date(), d);
        if let Some(b) = AGE_BANDS
            .iter()
            .position(|(_, lo, hi)| age >= *lo && hi.is_none_or(|h| age <= h))
        {
            if let Some(band) = out.bands.get_mut(b) {
                band.add(r.key);
            }
        }
        let [female, male] = &mut out.sexes;
        if r.is_female() { female } else { male }.add(r.key);
    }
    out
}

/// Per plan type, for one clinic's rows, as `disclosure` lets the viewer see them.
pub fn populations(rows: &[Listed], d: NaiveDate, disclosure: Disclosure) -> Vec<Population> {
    let window = CountWindow::new(&disclosure, None, d);
    DomainPlanType::ALL
        .iter()
        .map(|&t| {
            let Tally {
                parts: p,
                bands,
                sexes,
            } = tally(rows, t, window.to, d);
            let diagnosed = disclosure.count(p.diagnosed);
            let with_plan = disclosure.count(p.with_plan);
            Population {
                r#type: t.into(),
                diagnosed,
                with_plan,
                without_plan: disclosure.count(p.without_plan),
                coverage: Disclosure::rate(with_plan, diagnosed),
                window: window.into(),
                by_age_band: AGE_BANDS
                    .iter()
                    .zip(bands)
                    .map(|((band, _, _), set)| AgeBandCount {
                        band: band.to_string(),
                        count: disclosure.count(set),
                    })
                    .collect(),
                by_sex: [Sex::Female, Sex::Male]
                    .into_iter()
                    .zip(sexes)
                    .map(|(sex, set)| SexCount {
                        sex,
                        count: disclosure.count(set),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Coverage per plan type for one clinic's rows.
pub fn coverage(rows: &[Listed], d: NaiveDate, disclosure: Disclosure) -> Vec<Coverage> {
    let window = CountWindow::new(&disclosure, None, d);
    DomainPlanType::ALL
        .iter()
        .map(|&t| {
            let p = parts(rows, t, window.to);
            let diagnosed = disclosure.count(p.diagnosed);
            let with_plan = disclosure.count(p.with_plan);
            Coverage {
                r#type: t.into(),
                diagnosed,
                with_plan,
                without_plan: disclosure.count(p.without_plan),
                rate: Disclosure::rate(with_plan, diagnosed),
                window: window.into(),
            }
        })
        .collect()
}

/// The cost of counting listed patients, in units of work (`access::work`): each patient is
/// visited once per plan type, about what scanning a plan version costs.
fn counting_cost(rows: usize) -> u64 {
    (rows as u64).saturating_mul(DomainPlanType::ALL.len() as u64)
}

entity_part!(
    /// The population subgraph's part of a clinic: its population.
    ClinicFields(ClinicInfo),
    "Clinic",
    "PopulationClinic"
);

/// A general practice (lægehus, klinik), identified by its ydernummer.
#[Object(name_type)]
impl<G: Graph> ClinicFields<G> {
    /// Provider number (ydernummer): 6 digits, leading zeros kept.
    async fn ydernummer(&self) -> &str {
        self.0.ydernummer.as_str()
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
            .count_scope("Clinic", "population", self.0.subject())
            .ok_or_else(forbidden)?;
        let d = gql::as_of_or_today(as_of);
        let snap = gql::snapshot(ctx).await?;
        let listed = snap.listed(&counted);
        let rows = listed.first().map_or(&[][..], |(_, rows)| rows);
        gql::admit(ctx, counting_cost(rows.len())).await?;
        let disclosure = viewer.counts_for_clinic(self.0.ydernummer.as_str());
        Ok(Some(populations(rows, d, disclosure)))
    }
    /// The clinical quality indicators as of the date (default today): measurements in the
    /// 12 months to it, from plan versions made on or before it, of the clinic's listed
    /// patients. Exact for the clinic's own clinicians; disclosure-controlled (to the end of
    /// the date's month) for the other clinics of their cluster, regions and the ministry.
    async fn quality(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> gql::Result<Option<Vec<QualityIndicator>>> {
        let viewer = gql::viewer(ctx)?;
        viewer
            .count_scope("Clinic", "quality", self.0.subject())
            .ok_or_else(forbidden)?;
        let disclosure = viewer.counts_for_clinic(self.0.ydernummer.as_str());
        let window = CountWindow::new(&disclosure, None, gql::as_of_or_today(as_of));
        let snap = gql::snapshot(ctx).await?;
        let all = quality::as_of(ctx, &snap, window.to).await?;
        let cells = all
            .get(self.0.ydernummer.as_str())
            .copied()
            .unwrap_or_default();
        Ok(Some(indicators(&cells, &disclosure, window)))
    }
}

entity_part!(
    /// The population subgraph's part of a cluster: its view.
    ClusterFields(ClusterInfo),
    "Cluster",
    "PopulationCluster"
);

/// A cluster (klynge): a quality-improvement group of clinics in one region.
#[Object(name_type)]
impl<G: Graph> ClusterFields<G> {
    /// Cluster id, e.g. K1084-03.
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// The cluster view (klyngevisning) as of the date (default today). Clinicians: their own
    /// cluster; regions: clusters of their region; ministry: all.
    async fn view(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> gql::Result<Option<ClusterView<G>>> {
        let viewer = gql::viewer(ctx)?;
        let counted = viewer
            .count_scope("Cluster", "view", self.0.subject())
            .ok_or_else(forbidden)?;
        let d = gql::as_of_or_today(as_of);
        let snap = gql::snapshot(ctx).await?;
        let windows = gql::clinic_windows(ctx, d).await?;
        // The cluster's clinics, each with its listed patients, in ydernummer order.
        let listed = snap.listed(&counted);
        gql::admit(
            ctx,
            counting_cost(listed.iter().map(|(_, rows)| rows.len()).sum()),
        )
        .await?;
        let dir = &snap.directory;
        // Coverage and quality are counted (and their cells charged to the viewer's budget)
        // only when asked.
        let with_coverage = ctx.look_ahead().field("clinics").field("coverage").exists();
        let with_quality = ctx.look_ahead().field("clinics").field("quality").exists();
        // The quality of every clinic as of the date (for its own clinicians) and as of the
        // end of its month (for everyone else).
        // Only a clinician of one of the cluster's clinics sees exact figures: for anyone
        // else the date's own table is not counted.
        let exact_window = CountWindow::new(&Disclosure::Exact, None, d);
        let controlled_window = CountWindow::new(&viewer.controlled(), None, d);
        let sees_exact = listed
            .iter()
            .any(|(y, _)| viewer.counts_for_clinic(y).is_exact());
        let exact_quality = if with_quality && sees_exact {
            Some(quality::as_of(ctx, &snap, exact_window.to).await?)
        } else {
            None
        };
        let controlled_quality = if with_quality {
            Some(quality::as_of(ctx, &snap, controlled_window.to).await?)
        } else {
            None
        };
        let clinics = listed
            .into_iter()
            .filter_map(|(y, mine)| dir.clinics.get(y).map(|c| (c, mine)))
            .map(|(c, mine)| {
                let w = windows
                    .get(c.ydernummer.as_str())
                    .copied()
                    .unwrap_or_default();
                ClusterViewRow {
                    clinic: G::Clinic::from(c.clone()),
                    open: c.is_open(d),
                    new_plans_12m: w.new_plans,
                    ok22_met: w.new_plans >= metrics::OK22_MINIMUM,
                    inactive: w.plans == 0,
                    coverage: if with_coverage {
                        coverage(mine, d, viewer.counts_for_clinic(c.ydernummer.as_str()))
                    } else {
                        Vec::new()
                    },
                    quality: {
                        let disclosure = viewer.counts_for_clinic(c.ydernummer.as_str());
                        let (all, window) = if disclosure.is_exact() {
                            (&exact_quality, exact_window)
                        } else {
                            (&controlled_quality, controlled_window)
                        };
                        all.as_ref()
                            .map(|all| {
                                let cells =
                                    all.get(c.ydernummer.as_str()).copied().unwrap_or_default();
                                indicators(&cells, &disclosure, window)
                            })
                            .unwrap_or_default()
                    },
                }
            })
            .collect();
        Ok(Some(ClusterView {
            as_of: Date(d),
            cluster: G::Cluster::from(self.0.clone()),
            clinics,
        }))
    }
}

/// The cluster view (klyngevisning): each clinic's figures side by side.
#[derive(SimpleObject)]
pub struct ClusterView<G: Graph> {
    /// The date the figures are for.
    pub as_of: Date,
    /// The cluster shown.
    pub cluster: G::Cluster,
    /// One row per clinic of the cluster, by ydernummer.
    pub clinics: Vec<ClusterViewRow<G>>,
}

/// One clinic in a cluster view.
#[derive(SimpleObject)]
pub struct ClusterViewRow<G: Graph> {
    /// The clinic.
    pub clinic: G::Clinic,
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
    /// The clinical quality indicators: exact for the clinic's own clinicians (as of the
    /// date), controlled for others (as of the end of its month).
    pub quality: Vec<QualityIndicator>,
}

/// The population subgraph served alone: its own parts of clinics and clusters.
pub struct Alone;

impl Graph for Alone {
    type Clinic = ClinicFields<Alone>;
    type Cluster = ClusterFields<Alone>;
    type Region = gql::entities::RegionKey;
}

/// How the router finds this subgraph's entities by key (`_entities`): the same lookups as
/// `clinic(ydernummer)` and `cluster(id)`.
#[derive(Default)]
pub struct PopulationEntities;

#[Object]
impl PopulationEntities {
    #[graphql(entity)]
    async fn find_clinic_by_ydernummer(
        &self,
        ctx: &Context<'_>,
        ydernummer: String,
    ) -> gql::Result<Option<ClinicFields<Alone>>> {
        gql::entities::clinic(ctx, &ydernummer).await
    }

    #[graphql(entity)]
    async fn find_cluster_by_id(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> gql::Result<Option<ClusterFields<Alone>>> {
        gql::entities::cluster(ctx, &id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_taken_on_the_first_of_january() {
        let d = |s| crate::domain::parse_date(s).expect("date");
        // The same age all year: a birthday never moves a person between bands.
        assert_eq!(age_in_year_of(d("1952-03-01"), d("2022-02-28")), 69);
        assert_eq!(age_in_year_of(d("1952-03-01"), d("2022-03-01")), 69);
        assert_eq!(age_in_year_of(d("1952-03-01"), d("2022-12-31")), 69);
        assert_eq!(age_in_year_of(d("1952-01-01"), d("2022-06-01")), 70);
        assert_eq!(age_in_year_of(d("1952-03-01"), d("2023-01-01")), 70);
    }
}
