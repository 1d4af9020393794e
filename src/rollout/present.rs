//! The status report for people (`forloeb report --format text|html`): the figures of
//! `report::Report`, never recomputed, with their targets, shares, the pace the year's target
//! still needs, milestones and the clinics to call, nationally or for one region. Danish labels
//! as in the steering group's report, with the English term beside them.

use super::repo::Standing;
use super::report::{Figures, Report};
use crate::domain::{IsoWeek, RegionCode};
use crate::facts::metrics::{self, NewMaintained};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

/// What the report is about: the nation, or one region.
pub struct View<'a> {
    pub report: &'a Report,
    pub region: Option<RegionCode>,
}

/// A figure against its target.
pub struct Headline {
    pub danish: &'static str,
    pub english: &'static str,
    pub value: i64,
    /// What `value` is a part of (None: a count on its own).
    pub of: Option<i64>,
    /// Targets as (due, share).
    pub targets: &'static [(&'static str, f64)],
}

impl Headline {
    pub fn share(&self) -> Option<f64> {
        self.of.and_then(|of| metrics::share(self.value, of))
    }
}

/// How many plans a week the rest of the year needs to reach the year's target.
pub struct Pace {
    pub target: i64,
    pub remaining: i64,
    pub weeks_left: i64,
    pub per_week: i64,
}

/// The data source, on every chart.
pub const SOURCE: &str =
    "Kilde (source): leverandørernes forløbsplaner (PLSP, KIAP) via forloeb-gateway";

impl<'a> View<'a> {
    pub fn as_of(&self) -> NaiveDate {
        self.report.as_of
    }

    /// "Danmark" or the region's name.
    pub fn area(&self) -> &'static str {
        self.region.map_or("Danmark", RegionCode::name)
    }

    pub fn figures(&self) -> Option<&'a Figures> {
        match self.region {
            None => Some(&self.report.national),
            Some(r) => self.report.region.get(r.as_str()),
        }
    }

    pub fn year_to_date(&self) -> i64 {
        match self.region {
            None => self.report.year_to_date.national,
            Some(r) => self
                .report
                .year_to_date
                .region
                .get(r.as_str())
                .copied()
                .unwrap_or_default(),
        }
    }

    /// New and maintained plans per ISO week of the as-of year.
    pub fn weeks(&self) -> Option<&'a BTreeMap<IsoWeek, NewMaintained>> {
        match self.region {
            None => Some(&self.report.weekly.national.0),
            Some(r) => self.report.weekly.region.get(r.as_str()).map(|w| &w.0),
        }
    }

    /// The year's target of plans (nationally; regions have none of their own).
    pub fn pace(&self) -> Option<Pace> {
        if self.region.is_some() {
            return None;
        }
        let d = self.as_of();
        let target = metrics::year_target(d.year())?;
        let end = NaiveDate::from_ymd_opt(d.year(), 12, 31)?;
        let remaining = (target - self.year_to_date()).max(0);
        let weeks_left = ((end - d).num_days() + 6) / 7;
        Some(Pace {
            target,
            remaining,
            weeks_left,
            per_week: if weeks_left > 0 {
                (remaining + weeks_left - 1) / weeks_left
            } else {
                remaining
            },
        })
    }

    /// The headline figures against their targets.
    pub fn headlines(&self) -> Vec<Headline> {
        let Some(f) = self.figures() else {
            return Vec::new();
        };
        let mut out = vec![
            Headline {
                danish: "Klinikker der opfylder OK22",
                english: "clinics meeting OK22 (≥ 5 new plans in 12 months)",
                value: f.ok22_met,
                of: Some(f.open_clinics),
                targets: metrics::OK22_TARGETS,
            },
            Headline {
                danish: "Klinikker med hjerteforløbsplaner",
                english: "clinics making heart plans",
                value: f.heart,
                of: Some(f.open_clinics),
                targets: metrics::HEART_TARGETS,
            },
            Headline {
                danish: "Klinikker uden forløbsplaner",
                english: "inactive clinics (no plan in 12 months)",
                value: f.inactive,
                of: Some(f.open_clinics),
                targets: &[],
            },
        ];
        if self.region.is_none() {
            let app = &self.report.app_users;
            out.push(Headline {
                danish: "Aktive app-brugere",
                english: "active app users among patients with a plan",
                value: i64::try_from(app.active).unwrap_or(i64::MAX),
                of: Some(i64::try_from(app.with_plan).unwrap_or(i64::MAX)),
                targets: metrics::APP_USER_TARGETS,
            });
        }
        out
    }

    /// Open clinics without a plan in the 12 months: of the region, or of every region.
    pub fn clinics_to_call(&self) -> Vec<(&'static str, &'a [(String, String)])> {
        RegionCode::ALL
            .iter()
            .filter(|r| self.region.is_none_or(|own| own == **r))
            .filter_map(|r| {
                self.report
                    .inactive_clinics
                    .get(r.as_str())
                    .map(|list| (r.name(), list.as_slice()))
            })
            .collect()
    }
}

/// A share as people read it in Danish: `48,2 %`, or `–` when there is nothing to share.
pub fn percent(share: Option<f64>) -> String {
    share.map_or("–".to_string(), |s| {
        format!("{:.1} %", s * 100.0).replace('.', ",")
    })
}

/// A count with thousands separated the Danish way: `120.000`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Targets in words: `70 % pr. 2022-06-30, 85 % pr. 2022-12-31`.
pub fn targets(list: &[(&str, f64)]) -> String {
    list.iter()
        .map(|(due, share)| format!("{:.0} % pr. {due}", share * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A milestone's standing in Danish, with the English word.
pub fn standing(s: Standing) -> &'static str {
    match s {
        Standing::Reached => "nået (reached)",
        Standing::Late => "forsinket (late)",
        Standing::Pending => "afventer (pending)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_shares_read_the_danish_way() {
        assert_eq!(count(120_000), "120.000");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1.234.567");
        assert_eq!(count(-4_000), "-4.000");
        assert_eq!(percent(Some(0.4817)), "48,2 %");
        assert_eq!(percent(None), "–");
        assert_eq!(
            targets(metrics::OK22_TARGETS),
            "70 % pr. 2022-06-30, 85 % pr. 2022-12-31"
        );
    }
}
