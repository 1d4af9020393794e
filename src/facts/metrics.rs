//! The metric definitions of DOMAIN.md as pure functions over the aggregates `repo` reads.

use crate::domain::{IsoWeek, PlanType, RegionCode, Source};
use crate::facts::{ClinicInfo, Directory};
use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeMap, HashMap};

/// One clinic's plan versions in a window of local dates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClinicWindow {
    pub plans: i64,
    pub new_plans: i64,
    pub new_heart: i64,
}

/// Plan versions of one local day, region, type and source, new or maintained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    pub day: NaiveDate,
    pub region: RegionCode,
    pub plan_type: PlanType,
    pub source: Source,
    pub is_new: bool,
    pub n: i64,
}

/// OK22 buckets of new plans per clinic in the 12 months to D.
pub const BUCKETS: [(&str, i64, Option<i64>); 6] = [
    ("0", 0, Some(0)),
    ("1-4", 1, Some(4)),
    ("5-9", 5, Some(9)),
    ("10-19", 10, Some(19)),
    ("20-49", 20, Some(49)),
    ("50+", 50, None),
];

/// OK22: every clinic at least this many new plans a year.
pub const OK22_MINIMUM: i64 = 5;

/// Targets from the steering group's status of 18 May 2022: (due, share).
pub const OK22_TARGETS: &[(&str, f64)] = &[("2022-06-30", 0.70), ("2022-12-31", 0.85)];
pub const HEART_TARGETS: &[(&str, f64)] = &[("2022-12-31", 0.50)];
pub const APP_USER_TARGETS: &[(&str, f64)] = &[("2022-12-31", 0.75)];

/// Plans to be made in a calendar year, where the steering group set a target.
pub fn year_target(year: i32) -> Option<i64> {
    (year == 2022).then_some(120_000)
}

pub fn bucket(new_plans: i64) -> &'static str {
    BUCKETS
        .iter()
        .find(|(_, lo, hi)| new_plans >= *lo && hi.is_none_or(|h| new_plans <= h))
        .map_or("50+", |(name, _, _)| name)
}

/// The first day after "the 12 months to D" starts: D minus one calendar year (28 February
/// for 29 February). The window is (year_back(D), D].
pub fn year_back(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1)
        .or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, 2, 28))
        .unwrap_or(d)
}

/// The clinic-level figures of one set of clinics on D.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClinicFigures {
    pub open_clinics: i64,
    /// In BUCKETS order.
    pub buckets: Vec<(&'static str, i64)>,
    pub ok22_met: i64,
    pub inactive: i64,
    pub heart: i64,
    /// Open clinics without any plan version in the 12 months, by ydernummer.
    pub inactive_clinics: Vec<String>,
}

impl ClinicFigures {
    pub fn ok22_share(&self) -> Option<f64> {
        share(self.ok22_met, self.open_clinics)
    }
    pub fn heart_share(&self) -> Option<f64> {
        share(self.heart, self.open_clinics)
    }
}

pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// OK22 distribution, inactive and heart-plan clinics among the open clinics `include` keeps.
pub fn clinic_figures(
    dir: &Directory,
    windows: &HashMap<String, ClinicWindow>,
    d: NaiveDate,
    include: impl Fn(&ClinicInfo) -> bool,
) -> ClinicFigures {
    let mut f = ClinicFigures {
        buckets: BUCKETS.iter().map(|(name, _, _)| (*name, 0)).collect(),
        ..ClinicFigures::default()
    };
    for clinic in dir.clinics.values().filter(|c| c.is_open(d) && include(c)) {
        let w = windows
            .get(clinic.ydernummer.as_str())
            .copied()
            .unwrap_or_default();
        f.open_clinics += 1;
        let b = bucket(w.new_plans);
        if let Some(slot) = f.buckets.iter_mut().find(|(name, _)| *name == b) {
            slot.1 += 1;
        }
        if w.new_plans >= OK22_MINIMUM {
            f.ok22_met += 1;
        }
        if w.plans == 0 {
            f.inactive += 1;
            f.inactive_clinics
                .push(clinic.ydernummer.as_str().to_string());
        }
        if w.new_heart >= 1 {
            f.heart += 1;
        }
    }
    f
}

/// New and maintained plan versions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewMaintained {
    pub new_plans: i64,
    pub maintained: i64,
}

impl NewMaintained {
    pub fn add(&mut self, is_new: bool, n: i64) {
        if is_new {
            self.new_plans += n;
        } else {
            self.maintained += n;
        }
    }
    pub fn total(self) -> i64 {
        self.new_plans + self.maintained
    }
}

/// The first local date whose ISO week belongs to ISO year `year`.
pub fn iso_year_start(year: i32) -> NaiveDate {
    IsoWeek { year, week: 1 }.monday()
}

/// The first day the report and the year-to-date figures of D need.
pub fn first_day_needed(d: NaiveDate) -> NaiveDate {
    let jan1 = NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d);
    jan1.min(iso_year_start(IsoWeek::of(d).year))
}

/// Weekly counts for the ISO year of D up to D, of the day counts `keep` selects.
pub fn weekly(
    days: &[DayCount],
    d: NaiveDate,
    keep: impl Fn(&DayCount) -> bool,
) -> BTreeMap<IsoWeek, NewMaintained> {
    let year = IsoWeek::of(d).year;
    let mut out: BTreeMap<IsoWeek, NewMaintained> = BTreeMap::new();
    for day in days.iter().filter(|x| x.day <= d && keep(x)) {
        let week = IsoWeek::of(day.day);
        if week.year == year {
            out.entry(week).or_default().add(day.is_new, day.n);
        }
    }
    out
}

/// Plan versions with local date in D's calendar year up to D.
pub fn year_to_date(days: &[DayCount], d: NaiveDate, keep: impl Fn(&DayCount) -> bool) -> i64 {
    days.iter()
        .filter(|x| x.day.year() == d.year() && x.day <= d && keep(x))
        .map(|x| x.n)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        crate::domain::parse_date(s).expect("date")
    }

    #[test]
    fn twelve_months_follow_the_calendar() {
        assert_eq!(year_back(date("2022-05-18")), date("2021-05-18"));
        assert_eq!(year_back(date("2024-02-29")), date("2023-02-28"));
    }

    #[test]
    fn buckets_cover_every_count() {
        let names: Vec<_> = [0, 1, 4, 5, 9, 10, 19, 20, 49, 50, 500]
            .into_iter()
            .map(bucket)
            .collect();
        assert_eq!(
            names,
            ["0", "1-4", "1-4", "5-9", "5-9", "10-19", "10-19", "20-49", "20-49", "50+", "50+"]
        );
    }

    #[test]
    fn the_report_reaches_back_to_the_iso_year() {
        // 2021-01-03 is a Sunday in ISO week 2020-W53; 2022-01-02 belongs to 2021-W52.
        assert_eq!(first_day_needed(date("2022-01-02")), date("2021-01-04"));
        assert_eq!(first_day_needed(date("2022-05-18")), date("2022-01-01"));
        // 2021-01-01 is in 2020-W53, and 2020-W01 began on 2019-12-30.
        assert_eq!(first_day_needed(date("2021-01-01")), date("2019-12-30"));
    }
}
