//! The steering group's status report (`forloeb report`): the same figures as the API, in the
//! shape of `reference.py --report D` for machines; `present` lays them out for people.

use super::repo::{self, MilestoneRow};
use crate::access::RecordKeys;
use crate::db::{DbConnection, DbError};
use crate::domain::{IsoWeek, RegionCode};
use crate::facts::metrics::{self, ClinicFigures, NewMaintained};
use crate::facts::snapshot::Snapshot;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// For people only (not in `--format json`, which keeps reference.py's shape): the
    /// milestones, and the names of the clinics behind the inactive counts.
    #[serde(skip)]
    pub milestones: Vec<MilestoneRow>,
    /// Open clinics without a plan in the 12 months, by region code: (ydernummer, name).
    #[serde(skip)]
    pub inactive_clinics: BTreeMap<&'static str, Vec<(String, String)>>,
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
    let mut inactive_clinics = BTreeMap::new();
    for code in RegionCode::ALL {
        let r = code.as_str();
        let f = metrics::clinic_figures(dir, &windows, d, |c| c.region == *code);
        let names = f
            .inactive_clinics
            .iter()
            .map(|y| {
                let name = dir.clinics.get(y.as_str()).map(|c| c.name.clone());
                (y.clone(), name.unwrap_or_default())
            })
            .collect();
        inactive_clinics.insert(r, names);
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
        milestones: repo::milestones(conn)?,
        inactive_clinics,
    })
}
