//! The steering group's status report (`forloeb report`): the same figures as the API, in the
//! shape of `reference.py --report D` for machines and as tables for people.

use crate::access::RecordKeys;
use crate::db::{DbConnection, DbError};
use crate::domain::{IsoWeek, RegionCode};
use crate::facts::metrics::{self, ClinicFigures, NewMaintained};
use crate::facts::snapshot::Snapshot;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The report: what `--format json` prints (the shape of `reference.py --report D`) and what
/// `Display` lays out as tables for people.
#[derive(Debug, Serialize)]
pub struct Report {
    pub as_of: NaiveDate,
    pub national: Figures,
    /// By region code.
    pub region: BTreeMap<&'static str, Figures>,
    pub app_users: AppUsers,
    pub year_to_date: YearToDate,
    pub weekly: Weekly,
}

/// The clinic figures of one area.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub open_clinics: i64,
    /// Clinics by new plans in the 12 months, by bucket name.
    pub buckets: BTreeMap<&'static str, i64>,
    pub ok22_met: i64,
    pub inactive: i64,
    pub heart: i64,
}

impl From<&ClinicFigures> for Figures {
    fn from(f: &ClinicFigures) -> Self {
        Self {
            open_clinics: f.open_clinics,
            buckets: f.buckets.iter().copied().collect(),
            ok22_met: f.ok22_met,
            inactive: f.inactive,
            heart: f.heart,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AppUsers {
    pub with_plan: u64,
    pub active: u64,
}

#[derive(Debug, Serialize)]
pub struct YearToDate {
    pub national: i64,
    /// By region code.
    pub region: BTreeMap<&'static str, i64>,
}

/// New and maintained plans per ISO week, nationally and by region, type and source code.
#[derive(Debug, Serialize)]
pub struct Weekly {
    pub national: Weeks,
    pub region: BTreeMap<String, Weeks>,
    #[serde(rename = "type")]
    pub plan_type: BTreeMap<String, Weeks>,
    pub source: BTreeMap<String, Weeks>,
}

/// Per ISO week, written `{"2022-W07": [new, maintained], …}`.
#[derive(Debug)]
pub struct Weeks(pub BTreeMap<IsoWeek, NewMaintained>);

impl Serialize for Weeks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .iter()
                .map(|(w, c)| (w.to_string(), [c.new_plans, c.maintained])),
        )
    }
}

/// Exact figures (an operator's report, not an API answer): the record keys are needed only to
/// load the aggregates.
pub fn build(conn: &mut DbConnection, d: NaiveDate, keys: &RecordKeys) -> Result<Report, DbError> {
    let snapshot = Snapshot::load(conn, keys)?;
    let dir = &snapshot.directory;
    let after = metrics::year_back(d);
    let windows = snapshot.clinic_windows(after, d);
    let days = snapshot.day_counts(metrics::first_day_needed(d), d);
    let (with_plan, active) = snapshot.app_users(d, None);
    let mut region = BTreeMap::new();
    let mut ytd_region = BTreeMap::new();
    for code in RegionCode::ALL {
        let r = code.as_str();
        let f = metrics::clinic_figures(dir, &windows, d, |c| c.region == *code);
        region.insert(r, Figures::from(&f));
        ytd_region.insert(r, metrics::year_to_date(&days, d, |x| x.region == *code));
    }
    let grouped = |key: fn(&metrics::DayCount) -> &'static str| {
        let mut keys: Vec<&str> = days.iter().map(key).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|k| (k, metrics::weekly(&days, d, |x| key(x) == k)))
            .filter(|(_, w)| !w.is_empty())
            .map(|(k, w)| (k.to_string(), Weeks(w)))
            .collect()
    };
    Ok(Report {
        as_of: d,
        national: Figures::from(&metrics::clinic_figures(dir, &windows, d, |_| true)),
        region,
        app_users: AppUsers {
            with_plan: with_plan.len(),
            active: active.len(),
        },
        year_to_date: YearToDate {
            national: metrics::year_to_date(&days, d, |_| true),
            region: ytd_region,
        },
        weekly: Weekly {
            national: Weeks(metrics::weekly(&days, d, |_| true)),
            region: grouped(|x| x.region.as_str()),
            plan_type: grouped(|x| x.plan_type.as_str()),
            source: grouped(|x| x.source.as_str()),
        },
    })
}

/// The report for people: one table per section, targets beside the figures.
impl fmt::Display for Report {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |part: i64, whole: i64| {
            metrics::share(part, whole).map_or("–".to_string(), |s| format!("{:.1} %", s * 100.0))
        };
        writeln!(out, "Forløbsplaner: status as of {}", self.as_of)?;
        writeln!(out, "\nClinics (OK22: at least 5 new plans in the 12 months; targets 70 % on 2022-06-30, 85 % on 2022-12-31; heart plans 50 % on 2022-12-31)")?;
        writeln!(
            out,
            "{:<22} {:>6} {:>7} {:>8} {:>9} {:>8} {:>8}  buckets 0 / 1-4 / 5-9 / 10-19 / 20-49 / 50+",
            "area", "open", "OK22", "share", "inactive", "heart", "share"
        )?;
        let row = |out: &mut fmt::Formatter<'_>, name: &str, f: Option<&Figures>| {
            let Some(f) = f else {
                return Ok(());
            };
            let buckets: Vec<String> = metrics::BUCKETS
                .iter()
                .map(|(k, _, _)| f.buckets.get(k).copied().unwrap_or_default().to_string())
                .collect();
            writeln!(
                out,
                "{:<22} {:>6} {:>7} {:>8} {:>9} {:>8} {:>8}  {}",
                name,
                f.open_clinics,
                f.ok22_met,
                pct(f.ok22_met, f.open_clinics),
                f.inactive,
                f.heart,
                pct(f.heart, f.open_clinics),
                buckets.join(" / ")
            )
        };
        row(out, "Danmark", Some(&self.national))?;
        for code in RegionCode::ALL {
            row(out, code.name(), self.region.get(code.as_str()))?;
        }
        writeln!(out, "\nPlans made this year (target 2022: 120,000)")?;
        writeln!(out, "{:<22} {:>9}", "Danmark", self.year_to_date.national)?;
        for code in RegionCode::ALL {
            let n = self.year_to_date.region.get(code.as_str()).copied();
            writeln!(out, "{:<22} {:>9}", code.name(), n.unwrap_or_default())?;
        }
        let (active, with_plan) = (self.app_users.active, self.app_users.with_plan);
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        writeln!(
            out,
            "\nActive app users (target 75 % on 2022-12-31): {active} of {with_plan} patients with a plan ({})",
            pct(as_i64(active), as_i64(with_plan))
        )?;
        writeln!(out, "\nWeekly plans, national (new / maintained)")?;
        for (week, c) in &self.weekly.national.0 {
            writeln!(out, "{week}  {:>6} / {:>6}", c.new_plans, c.maintained)?;
        }
        Ok(())
    }
}
