//! Population and coverage figures, person counts through disclosure control.

use super::repo::Counted;
use crate::access::{Disclosure, PersonCount, Rate};
use crate::domain::PlanType as DomainPlanType;
use crate::plans::graphql::{PlanType, Sex};
use async_graphql::SimpleObject;
use chrono::{Datelike, NaiveDate};

const AGE_BANDS: [(&str, u32, Option<u32>); 6] = [
    ("0-39", 0, Some(39)),
    ("40-49", 40, Some(49)),
    ("50-59", 50, Some(59)),
    ("60-69", 60, Some(69)),
    ("70-79", 70, Some(79)),
    ("80+", 80, None),
];

fn age_on(birth: NaiveDate, d: NaiveDate) -> u32 {
    let mut years = d.year() - birth.year();
    if (d.month(), d.day()) < (birth.month(), birth.day()) {
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
    /// Coverage (dækningsgrad): withPlan / diagnosed.
    pub coverage: Rate,
    /// Diagnosed patients by age band on the date (aldersgruppe).
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
    /// withPlan / diagnosed.
    pub rate: Rate,
}

fn counts(rows: &[Counted], t: DomainPlanType) -> (Vec<&Counted>, i64) {
    let diagnosed: Vec<&Counted> = rows.iter().filter(|r| r.has(t)).collect();
    let planned = diagnosed.iter().filter(|r| r.planned(t)).count() as i64;
    (diagnosed, planned)
}

/// Per plan type, for one clinic's rows.
pub fn populations(rows: &[Counted], d: NaiveDate, disclosure: Disclosure) -> Vec<Population> {
    DomainPlanType::ALL
        .iter()
        .map(|&t| {
            let (diagnosed, planned) = counts(rows, t);
            let total = disclosure.count(diagnosed.len() as i64);
            let with_plan = disclosure.count(planned);
            let bands: Vec<i64> = AGE_BANDS
                .iter()
                .map(|(_, lo, hi)| {
                    diagnosed
                        .iter()
                        .filter(|r| {
                            let age = age_on(r.birth_date, d);
                            age >= *lo && hi.is_none_or(|h| age <= h)
                        })
                        .count() as i64
                })
                .collect();
            let sexes: Vec<i64> = ["F", "M"]
                .iter()
                .map(|s| diagnosed.iter().filter(|r| r.sex == *s).count() as i64)
                .collect();
            Population {
                r#type: t.into(),
                diagnosed: total,
                with_plan,
                coverage: Disclosure::rate(with_plan, total),
                by_age_band: AGE_BANDS
                    .iter()
                    .zip(disclosure.breakdown(&bands))
                    .map(|((band, _, _), count)| AgeBandCount {
                        band: band.to_string(),
                        count,
                    })
                    .collect(),
                by_sex: [Sex::Female, Sex::Male]
                    .into_iter()
                    .zip(disclosure.breakdown(&sexes))
                    .map(|(sex, count)| SexCount { sex, count })
                    .collect(),
            }
        })
        .collect()
}

/// Coverage per plan type for one clinic's rows.
pub fn coverage(rows: &[&Counted], disclosure: Disclosure) -> Vec<Coverage> {
    DomainPlanType::ALL
        .iter()
        .map(|&t| {
            let diagnosed = rows.iter().filter(|r| r.has(t)).count() as i64;
            let planned = rows.iter().filter(|r| r.has(t) && r.planned(t)).count() as i64;
            let diagnosed = disclosure.count(diagnosed);
            let with_plan = disclosure.count(planned);
            Coverage {
                r#type: t.into(),
                diagnosed,
                with_plan,
                rate: Disclosure::rate(with_plan, diagnosed),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_birthdays() {
        let d = |s| crate::domain::parse_date(s).expect("date");
        assert_eq!(age_on(d("1952-03-01"), d("2022-02-28")), 69);
        assert_eq!(age_on(d("1952-03-01"), d("2022-03-01")), 70);
    }
}
