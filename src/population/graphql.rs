//! Population and coverage figures, person counts through disclosure control.

use super::repo::{self, Counted};
use crate::access::{CountScope, CountWindow, Disclosure, PersonCount, PersonSet, Rate};
use crate::domain::PlanType as DomainPlanType;
use crate::gql::Window;
use crate::gql::{PlanType, Sex};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::SimpleObject;
use chrono::{Datelike, NaiveDate};
use std::collections::HashMap;
use std::sync::Arc;

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

/// The counted patients of clinics and clusters: every population and cluster view of a
/// request (`clinics { population }`, `clusters { view { … } }`) loads in one read on one
/// connection, not one per item of the list.
pub struct CountedLoader {
    pub db: crate::db::Db,
    pub keys: crate::access::RecordKeys,
}

impl Loader<CountScope> for CountedLoader {
    type Value = Arc<Vec<Counted>>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        wanted: &[CountScope],
    ) -> Result<HashMap<CountScope, Self::Value>, Self::Error> {
        let mut which = repo::Clinics::default();
        for w in wanted {
            which.ydernumre.extend(w.clinic().map(str::to_string));
            which.clusters.extend(w.cluster().map(str::to_string));
        }
        let keys = self.keys.clone();
        let wanted = wanted.to_vec();
        // Read and sorted out on a low-priority thread: at national scale this is half a
        // million rows, which must not hold an async worker.
        self.db
            .run_in_background(move |c| {
                let rows = repo::counted(c, &which, &keys)?;
                let cluster_of = repo::clusters_of(c, &which.clusters)?;
                // By clinic and by cluster; each scope asked for takes its rows.
                let mut by_clinic: HashMap<String, Vec<Counted>> = HashMap::new();
                let mut by_cluster: HashMap<String, Vec<Counted>> = HashMap::new();
                for r in rows {
                    if let Some(id) = cluster_of.get(&r.ydernummer) {
                        by_cluster.entry(id.clone()).or_default().push(r.clone());
                    }
                    by_clinic.entry(r.ydernummer.clone()).or_default().push(r);
                }
                Ok(wanted
                    .iter()
                    .map(|w| {
                        let rows = match (w.clinic(), w.cluster()) {
                            (Some(y), _) => by_clinic.remove(y),
                            (None, Some(id)) => by_cluster.remove(id),
                            (None, None) => None,
                        };
                        (w.clone(), Arc::new(rows.unwrap_or_default()))
                    })
                    .collect())
            })
            .await
            .map_err(crate::gql::db_error)
    }
}

pub type CountedDataLoader = DataLoader<CountedLoader>;

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

fn parts<'a>(rows: impl Iterator<Item = &'a Counted>, t: DomainPlanType, d: NaiveDate) -> Parts {
    let mut p = Parts::default();
    for r in rows.filter(|r| r.has(t)) {
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

fn tally(rows: &[Counted], t: DomainPlanType, planned_by: NaiveDate, d: NaiveDate) -> Tally {
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
        let age = age_in_year_of(r.birth_date, d);
        if let Some(b) = AGE_BANDS
            .iter()
            .position(|(_, lo, hi)| age >= *lo && hi.is_none_or(|h| age <= h))
        {
            if let Some(band) = out.bands.get_mut(b) {
                band.add(r.key);
            }
        }
        let [female, male] = &mut out.sexes;
        if r.sex == "F" { female } else { male }.add(r.key);
    }
    out
}

/// Per plan type, for one clinic's rows, as `disclosure` lets the viewer see them.
pub fn populations(rows: &[Counted], d: NaiveDate, disclosure: Disclosure) -> Vec<Population> {
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
pub fn coverage(rows: &[&Counted], d: NaiveDate, disclosure: Disclosure) -> Vec<Coverage> {
    let window = CountWindow::new(&disclosure, None, d);
    DomainPlanType::ALL
        .iter()
        .map(|&t| {
            let p = parts(rows.iter().copied(), t, window.to);
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
