//! The rollout subgraph in GraphQL: national or one region's rollout (udrulning) as of a date,
//! the steering group's ad-hoc activity question and the milestones.

use super::repo;
use crate::access::{self, CountWindow, Disclosure, PersonCount, Rate, Subject};
use crate::domain::{PlanType as DomainPlanType, RegionCode, Source, Ydernummer};
use crate::facts::activity::{self, ActivityOrder, Dimension};
use crate::facts::metrics::{self, ClinicFigures};
use crate::facts::quality::{add, Cells};
use crate::gql::entities::{self, ClinicKey, ClusterKey};
use crate::gql::quality::{self, indicators, QualityIndicator};
use crate::gql::PlanType;
use crate::gql::{self, bad_input, db_error, stored, Date, Graph, Window};
use crate::{entity_part, root_part};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{Datelike, NaiveDate};
use std::marker::PhantomData;

/// National rollout (region null) or one region's, as of a date.
pub struct Rollout<G> {
    as_of: NaiveDate,
    region: Option<RegionCode>,
    graph: PhantomData<G>,
}

impl<G: Graph> Rollout<G> {
    pub fn new(ctx: &Context<'_>, as_of: Date, region: Option<RegionCode>) -> gql::Result<Self> {
        let Date(as_of) = as_of;
        // National figures are the field's own; one region's are that region's rollout.
        let allowed = match &region {
            None => gql::viewer(ctx)?.may("Query", "rollout", Subject::Nation),
            Some(r) => gql::viewer(ctx)?.may("Region", "rollout", Subject::Region(r.as_str())),
        };
        if !allowed {
            return Err(access::forbidden());
        }
        Ok(Self {
            as_of,
            region,
            graph: PhantomData,
        })
    }

    async fn figures(&self, ctx: &Context<'_>) -> gql::Result<ClinicFigures> {
        let dir = gql::directory(ctx).await?;
        let windows = gql::clinic_windows(ctx, self.as_of).await?;
        Ok(metrics::clinic_figures(&dir, &windows, self.as_of, |c| {
            self.region.is_none_or(|r| c.region == r)
        }))
    }

    async fn days(&self, ctx: &Context<'_>) -> gql::Result<Vec<metrics::DayCount>> {
        let (from, until) = (metrics::first_day_needed(self.as_of), self.as_of);
        let snap = gql::snapshot(ctx).await?;
        // One row of counts per day of the year at most.
        let cost = (until - from).num_days().max(0).unsigned_abs();
        gql::compute(ctx, cost, move |_| Ok(snap.day_counts(from, until))).await
    }

    fn in_region(&self, day: &metrics::DayCount) -> bool {
        self.region.is_none_or(|r| day.region == r)
    }
}

fn targets(list: &[(&str, f64)]) -> Vec<Target> {
    list.iter()
        .filter_map(|(due, value)| {
            Some(Target {
                due: Date(crate::domain::parse_date(due).ok()?),
                value: *value,
            })
        })
        .collect()
}

/// Rollout (udrulning) figures as of a date, national or for one region.
#[Object]
impl<G: Graph> Rollout<G> {
    /// The date the figures are for.
    async fn as_of(&self) -> Date {
        Date(self.as_of)
    }
    /// The region; null for national figures.
    async fn region(&self) -> Option<G::Region> {
        self.region.map(G::Region::from)
    }
    /// Clinics open on the date.
    async fn open_clinics(&self, ctx: &Context<'_>) -> gql::Result<i64> {
        Ok(self.figures(ctx).await?.open_clinics)
    }
    /// OK22: new plans per open clinic in the 12 months to the date.
    async fn ok22(&self, ctx: &Context<'_>) -> gql::Result<Ok22> {
        let f = self.figures(ctx).await?;
        Ok(Ok22 {
            distribution: f
                .buckets
                .iter()
                .map(|(b, n)| BucketCount {
                    bucket: b.to_string(),
                    clinics: *n,
                })
                .collect(),
            met: f.ok22_met,
            share: f.ok22_share(),
            targets: targets(metrics::OK22_TARGETS),
        })
    }
    /// Open clinics without any plan version in the 12 months to the date.
    async fn inactive_clinics(&self, ctx: &Context<'_>) -> gql::Result<InactiveClinics<G>> {
        let f = self.figures(ctx).await?;
        let dir = gql::directory(ctx).await?;
        let viewer = gql::viewer(ctx)?;
        Ok(InactiveClinics {
            count: f.inactive,
            clinics: f
                .inactive_clinics
                .iter()
                .filter_map(|y| dir.clinics.get(y))
                .filter(|c| viewer.may("InactiveClinics", "clinics", c.subject()))
                .cloned()
                .map(G::Clinic::from)
                .collect(),
        })
    }
    /// Open clinics with at least one new heart plan (IHD) in the 12 months to the date.
    async fn heart_plan_clinics(&self, ctx: &Context<'_>) -> gql::Result<ClinicShare> {
        let f = self.figures(ctx).await?;
        Ok(ClinicShare {
            clinics: f.heart,
            share: f.heart_share(),
            targets: targets(metrics::HEART_TARGETS),
        })
    }
    /// Patients with a plan, and those who viewed a plan in the app in the 12 months to the
    /// date. Person counts: disclosure-controlled, over whole months (to the end of the
    /// date's month; `window` says so).
    async fn app_users(&self, ctx: &Context<'_>) -> gql::Result<AppUsers> {
        let d = gql::viewer(ctx)?.controlled();
        let until = CountWindow::new(&d, None, self.as_of).to;
        let after = metrics::year_back(until);
        let region = self.region;
        let snap = gql::snapshot(ctx).await?;
        // A lookup in the snapshot's table, and the views recorded since it was built.
        let (with_plan, active) =
            gql::compute(ctx, 1, move |_| Ok(snap.app_users(until, region))).await?;
        let (with_plan, active) = (d.count(with_plan), d.count(active));
        Ok(AppUsers {
            with_plan,
            active,
            share: Disclosure::rate(active, with_plan),
            window: CountWindow {
                from: after.succ_opt(),
                to: until,
                widened: until != self.as_of,
            }
            .into(),
            targets: targets(metrics::APP_USER_TARGETS),
        })
    }
    /// The clinical quality indicators over every clinic of the region or the nation (by the
    /// clinic each patient is listed at). Person counts: disclosure-controlled, each total on
    /// its own set of persons, over the 12 months to the end of the date's month.
    async fn quality(&self, ctx: &Context<'_>) -> gql::Result<Vec<QualityIndicator>> {
        let d = gql::viewer(ctx)?.controlled();
        let window = CountWindow::new(&d, None, self.as_of);
        let snap = gql::snapshot(ctx).await?;
        let all = quality::as_of(ctx, &snap, window.to).await?;
        let mut total = Cells::default();
        for (y, cells) in all.iter() {
            if self.region.is_none_or(|r| snap.clinic_region(y) == Some(r)) {
                add(&mut total, cells);
            }
        }
        Ok(indicators(&total, &d, window))
    }
    /// Plan versions made in the calendar year up to the date.
    async fn year_to_date(&self, ctx: &Context<'_>) -> gql::Result<YearToDate> {
        let days = self.days(ctx).await?;
        let plans = metrics::year_to_date(&days, self.as_of, |x| self.in_region(x));
        let target = self
            .region
            .is_none()
            .then(|| metrics::year_target(self.as_of.year()))
            .flatten();
        Ok(YearToDate {
            year: self.as_of.year(),
            plans,
            target,
            share: target.and_then(|t| metrics::share(plans, t)),
        })
    }
    /// New and maintained plans per ISO week of the date's ISO year, up to the date.
    async fn weekly(
        &self,
        ctx: &Context<'_>,
        r#type: Option<PlanType>,
        source: Option<gql::Source>,
    ) -> gql::Result<Vec<WeekCount>> {
        let source = source.map(Source::from);
        let t = r#type.map(DomainPlanType::from);
        let days = self.days(ctx).await?;
        let weeks = metrics::weekly(&days, self.as_of, |x| {
            self.in_region(x)
                && t.is_none_or(|t| x.plan_type == t)
                && source.is_none_or(|s| x.source == s)
        });
        Ok(weeks
            .into_iter()
            .map(|(w, c)| WeekCount {
                week: w.to_string(),
                new_plans: c.new_plans,
                maintained_plans: c.maintained,
                plans: c.total(),
            })
            .collect())
    }
}

/// The OK22 distribution and share.
#[derive(SimpleObject)]
pub struct Ok22 {
    /// Open clinics per bucket of new plans: 0, 1-4, 5-9, 10-19, 20-49, 50+.
    pub distribution: Vec<BucketCount>,
    /// Open clinics with at least 5 new plans.
    pub met: i64,
    /// met / open clinics; null when no clinic is open.
    pub share: Option<f64>,
    /// The steering group's targets for the share.
    pub targets: Vec<Target>,
}

/// Open clinics in one OK22 bucket.
#[derive(SimpleObject)]
pub struct BucketCount {
    /// 0, 1-4, 5-9, 10-19, 20-49 or 50+ new plans.
    pub bucket: String,
    /// Open clinics in the bucket.
    pub clinics: i64,
}

/// Open clinics that made no plan at all: whom to call.
#[derive(SimpleObject)]
pub struct InactiveClinics<G: Graph> {
    /// How many (in the whole area the figures are for).
    pub count: i64,
    /// The clinics, by ydernummer: those the viewer reaches (a region user its own region's,
    /// a clinician its own cluster's, the ministry all).
    pub clinics: Vec<G::Clinic>,
}

/// A number of open clinics and its share of all open clinics.
#[derive(SimpleObject)]
pub struct ClinicShare {
    /// Open clinics that qualify.
    pub clinics: i64,
    /// clinics / open clinics; null when no clinic is open.
    pub share: Option<f64>,
    /// The steering group's targets for the share.
    pub targets: Vec<Target>,
}

/// Active users of the plans in the Min Læge App.
#[derive(SimpleObject)]
pub struct AppUsers {
    /// Patients with a plan version on or before the date.
    pub with_plan: PersonCount,
    /// Of those, patients who viewed a plan in the 12 months to the date.
    pub active: PersonCount,
    /// active / withPlan.
    pub share: Rate,
    /// The dates counted: the 12 months to the end of the date's month.
    pub window: Window,
    /// The steering group's targets for the share.
    pub targets: Vec<Target>,
}

/// Plans made in the calendar year to the date, against the year's target.
#[derive(SimpleObject)]
pub struct YearToDate {
    /// The calendar year.
    pub year: i32,
    /// Plan versions made (udarbejdede forløbsplaner) in the year up to the date.
    pub plans: i64,
    /// The national target for the year, where one was set (2022: 120,000).
    pub target: Option<i64>,
    /// plans / target, where there is a target.
    pub share: Option<f64>,
}

/// A share to reach by a date.
#[derive(SimpleObject)]
pub struct Target {
    /// When the share is to be reached.
    pub due: Date,
    /// The share (0–1).
    pub value: f64,
}

/// Plans of one ISO week.
#[derive(SimpleObject)]
pub struct WeekCount {
    /// ISO week, e.g. 2022-W07.
    pub week: String,
    /// New plans (nye planer).
    pub new_plans: i64,
    /// Maintained plans (vedligeholdte planer).
    pub maintained_plans: i64,
    /// All plan versions made that week.
    pub plans: i64,
}

/// Where a milestone stands on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum MilestoneStatus {
    /// Reached on or before the date.
    Reached,
    /// Planned before the date and not reached by it.
    Late,
    /// Planned on or after the date and not reached yet.
    Pending,
}

/// A milestone (milepæl) of the steering group.
#[derive(SimpleObject)]
pub struct Milestone {
    /// Its number in the steering group's status report.
    pub number: i32,
    /// What is to be reached.
    pub text: String,
    /// When it was planned for.
    pub planned: Date,
    /// When it was reached; null when not (yet).
    pub reached: Option<Date>,
    /// Its status on the date asked for.
    pub status: MilestoneStatus,
}

/// Narrows an activity question; every list is "any of".
#[derive(InputObject, Default)]
pub struct ActivityFilter {
    /// Region codes (a region user is always confined to their own).
    pub regions: Option<Vec<String>>,
    /// Cluster ids.
    pub clusters: Option<Vec<String>>,
    /// Ydernumre.
    pub clinics: Option<Vec<String>>,
    /// Plan types.
    pub types: Option<Vec<PlanType>>,
    /// Sources.
    pub sources: Option<Vec<gql::Source>>,
}

/// Longest date range an activity question may span.
const MAX_SPAN_DAYS: i64 = 3 * 366;
/// Most rows an activity answer returns.
const MAX_ROWS: i32 = 1000;
/// Most values in one filter list.
const MAX_FILTER_VALUES: usize = 500;

fn filter_list(
    name: &str,
    values: Option<Vec<String>>,
    check: impl Fn(&str) -> Result<(), crate::domain::Invalid>,
) -> gql::Result<Vec<String>> {
    let values = values.unwrap_or_default();
    if values.len() > MAX_FILTER_VALUES {
        return Err(bad_input(
            name,
            format!("at most {MAX_FILTER_VALUES} values"),
        ));
    }
    for v in &values {
        check(v).map_err(|e| bad_input(name, format!("{v:?}: {e}")))?;
    }
    Ok(values)
}

/// One group of an activity answer; a key is null when the answer is not grouped by it.
pub struct ActivityRow<G> {
    group: activity::Group,
    patients: PersonCount,
    graph: PhantomData<G>,
}

/// One group of an activity answer (or the total over all groups).
#[Object]
impl<G: Graph> ActivityRow<G> {
    /// The region grouped by.
    async fn region(&self) -> gql::Result<Option<G::Region>> {
        self.group
            .d_region
            .as_deref()
            .map(|r| {
                Ok(G::Region::from(stored(
                    "activity region",
                    RegionCode::parse(r),
                )?))
            })
            .transpose()
    }
    /// The cluster grouped by; null also for clinics in no cluster.
    async fn cluster(&self, ctx: &Context<'_>) -> gql::Result<Option<G::Cluster>> {
        let Some(id) = &self.group.d_cluster else {
            return Ok(None);
        };
        entities::cluster(ctx, id).await
    }
    /// The clinic grouped by.
    async fn clinic(&self, ctx: &Context<'_>) -> gql::Result<Option<G::Clinic>> {
        match &self.group.d_clinic {
            Some(y) => entities::clinic(ctx, y).await,
            None => Ok(None),
        }
    }
    /// The plan type grouped by.
    async fn r#type(&self) -> gql::Result<Option<PlanType>> {
        self.group
            .d_type
            .as_deref()
            .map(|t| Ok(stored("activity type", DomainPlanType::parse(t))?.into()))
            .transpose()
    }
    /// The source grouped by.
    async fn source(&self) -> gql::Result<Option<gql::Source>> {
        self.group
            .d_source
            .as_deref()
            .map(|s| Ok(stored("activity source", Source::parse(s))?.into()))
            .transpose()
    }
    /// ISO week, e.g. 2022-W07.
    async fn week(&self) -> Option<&str> {
        self.group.d_week.as_deref()
    }
    /// Month, e.g. 2022-03.
    async fn month(&self) -> Option<&str> {
        self.group.d_month.as_deref()
    }
    /// The calendar year grouped by.
    async fn year(&self) -> Option<i32> {
        self.group.d_year.as_deref().and_then(|y| y.parse().ok())
    }
    /// Plan versions made (udarbejdede forløbsplaner).
    async fn plans(&self) -> i64 {
        self.group.plans
    }
    /// New plans (nye planer).
    async fn new_plans(&self) -> i64 {
        self.group.new_plans
    }
    /// Maintained plans (vedligeholdte planer).
    async fn maintained_plans(&self) -> i64 {
        self.group.plans - self.group.new_plans
    }
    /// Clinics that made at least one of the versions.
    async fn clinics(&self) -> i64 {
        self.group.clinics
    }
    /// Distinct patients the versions were made for (disclosure-controlled).
    async fn patients(&self) -> PersonCount {
        self.patients
    }
}

/// The answer to an activity question.
#[derive(SimpleObject)]
pub struct ActivityResult<G: Graph> {
    /// The dates counted: `from`..`to` as asked, or widened to whole months when the answer
    /// holds controlled person counts.
    pub window: Window,
    /// The groups, at most `limit`.
    pub rows: Vec<ActivityRow<G>>,
    /// All versions matching the filter, ungrouped.
    pub total: ActivityRow<G>,
    /// True when there were more groups than `limit`.
    pub truncated: bool,
}

root_part!(
    /// The rollout subgraph's query fields.
    RolloutQuery
);

#[Object]
impl<G: Graph> RolloutQuery<G> {
    /// National rollout, or one region's (region users: their own; ministry: any).
    async fn rollout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The date the figures are as of.")] as_of: Date,
        #[graphql(desc = "Region code 1081–1085; omit for national figures.")] region: Option<
            String,
        >,
    ) -> gql::Result<Option<Rollout<G>>> {
        let region = region
            .map(|r| RegionCode::parse(&r).map_err(|e| bad_input("region", e)))
            .transpose()?;
        Rollout::new(ctx, as_of, region).map(Some)
    }

    /// Ad-hoc plan activity: plan versions, new and maintained plans, clinics and patients,
    /// grouped by any of region, cluster, clinic, type, source, ISO week, month and year, over
    /// local dates from..to (at most three years). Regions see their own region only.
    #[allow(clippy::too_many_arguments)]
    async fn plan_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First local date.")] from: Date,
        #[graphql(desc = "Last local date (inclusive).")] to: Date,
        #[graphql(desc = "One to eight dimensions, each at most once.")] group_by: Vec<Dimension>,
        filter: Option<ActivityFilter>,
        #[graphql(default_with = "ActivityOrder::Key")] order_by: ActivityOrder,
        #[graphql(default = 100, desc = "Rows returned, 1–1000.")] limit: i32,
    ) -> gql::Result<Option<ActivityResult<G>>> {
        let viewer = gql::viewer(ctx)?;
        let (Date(from), Date(to)) = (from, to);
        if to < from {
            return Err(bad_input("to", "must not be before from"));
        }
        if (to - from).num_days() >= MAX_SPAN_DAYS {
            return Err(bad_input("to", "the range may span at most three years"));
        }
        let mut dims = group_by.clone();
        dims.sort();
        dims.dedup();
        if group_by.is_empty() || dims.len() != group_by.len() {
            return Err(bad_input(
                "groupBy",
                "name one or more dimensions, each once",
            ));
        }
        if !(1..=MAX_ROWS).contains(&limit) {
            return Err(bad_input(
                "limit",
                format!("must be between 1 and {MAX_ROWS}"),
            ));
        }
        let f = filter.unwrap_or_default();
        let disclosure = viewer.counts_for_activity(f.clinics.as_deref(), f.clusters.as_deref());
        let window = CountWindow::new(&disclosure, Some(from), to);
        let (from, to) = (window.from.unwrap_or(from), window.to);
        let asked = filter_list("filter.regions", f.regions, |r| {
            RegionCode::parse(r).map(|_| ())
        })?;
        let regions = viewer
            .regions_within_reach("Query", "planActivity", asked)
            .ok_or_else(access::forbidden)?;
        let question = activity::Question {
            from,
            to,
            group_by,
            regions,
            clusters: filter_list("filter.clusters", f.clusters, |_| Ok(()))?,
            clinics: filter_list("filter.clinics", f.clinics, |y| {
                Ydernummer::parse(y).map(|_| ())
            })?,
            types: f
                .types
                .unwrap_or_default()
                .into_iter()
                .map(|t| DomainPlanType::from(t).as_str().to_string())
                .collect(),
            sources: f
                .sources
                .unwrap_or_default()
                .into_iter()
                .map(|s| Source::from(s).as_str().to_string())
                .collect(),
            order: order_by,
            limit: i64::from(limit),
        };
        let snap = gql::snapshot(ctx).await?;
        // Every version in the range is visited, and put into one group per dimension asked.
        let cost = snap
            .facts_between(question.from, question.to)
            .saturating_mul(1 + question.group_by.len() as u64);
        let (mut groups, total) = gql::compute(ctx, cost, move |deadline| {
            snap.activity(&question, deadline)
        })
        .await?;
        // 1–1000, checked above.
        let limit = usize::try_from(limit).unwrap_or(0);
        let truncated = groups.len() > limit;
        groups.truncate(limit);
        // Each cell is controlled on its own set of persons, so cutting rows at `limit` hides
        // nothing that another row or the total would give away.
        let rows = groups
            .into_iter()
            .map(|group| ActivityRow {
                patients: disclosure.count(group.patients),
                group,
                graph: PhantomData,
            })
            .collect();
        Ok(Some(ActivityResult {
            window: window.into(),
            rows,
            total: ActivityRow {
                patients: disclosure.count(total.patients),
                group: total,
                graph: PhantomData,
            },
            truncated,
        }))
    }

    /// The steering group's milestones with their status on the date (default today).
    async fn milestones(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The date; today (Europe/Copenhagen) when absent.")] as_of: Option<Date>,
    ) -> gql::Result<Option<Vec<Milestone>>> {
        let d = gql::as_of_or_today(as_of);
        let rows = gql::db(ctx)?
            .run(repo::milestones)
            .await
            .map_err(db_error)?;
        Ok(Some(
            rows.into_iter()
                .map(|m| {
                    let status = match m.standing_on(d) {
                        repo::Standing::Reached => MilestoneStatus::Reached,
                        repo::Standing::Late => MilestoneStatus::Late,
                        repo::Standing::Pending => MilestoneStatus::Pending,
                    };
                    Milestone {
                        number: m.number,
                        planned: Date(m.planned),
                        reached: m.reached_by(d).map(Date),
                        text: m.text,
                        status,
                    }
                })
                .collect(),
        ))
    }
}

entity_part!(
    /// The rollout subgraph's part of a region: its rollout.
    RegionFields(RegionCode),
    "Region",
    "RolloutRegion"
);

/// A Danish region.
#[Object(name_type)]
impl<G: Graph> RegionFields<G> {
    /// Region code: 1081–1085.
    async fn code(&self) -> &str {
        self.0.as_str()
    }
    /// The region's rollout as of the date (own region's users and the ministry).
    async fn rollout(&self, ctx: &Context<'_>, as_of: Date) -> gql::Result<Option<Rollout<G>>> {
        Rollout::new(ctx, as_of, Some(self.0)).map(Some)
    }
}

/// The rollout subgraph served alone: its part of regions; clinics and clusters by key.
pub struct Alone;

impl Graph for Alone {
    type Clinic = ClinicKey;
    type Cluster = ClusterKey;
    type Region = RegionFields<Alone>;
}

/// How the router finds this subgraph's regions by code (`_entities`).
#[derive(Default)]
pub struct RolloutEntities;

#[Object]
impl RolloutEntities {
    #[graphql(entity)]
    async fn find_region_by_code(&self, code: String) -> Option<RegionFields<Alone>> {
        RegionCode::parse(&code).ok().map(RegionFields::from)
    }
}
