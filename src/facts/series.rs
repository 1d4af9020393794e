//! Running totals over the plan-version facts, built once per snapshot, so that a rollout
//! figure over any window costs what its answer has, not what the data has (issue 15):
//! - per clinic, the running count of versions, new versions and new heart plans by local day:
//!   any clinic's window is the difference of two running totals found by binary search;
//! - per local day, a dense cube of counts by region, type, source and new/maintained: the
//!   weekly series and the year to date read one row of sixty numbers per day.

// Indexes are the snapshot's own numbers (clinic, day offset, cell), each below the length of
// what it indexes by construction; counts stay far below 2^32 at national scale.
#![allow(
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use super::metrics::{ClinicWindow, DayCount};
use crate::domain::{PlanType, RegionCode, Source};

/// A local day as a number (days from the common era).
pub type Day = i32;

/// One plan version, as the metrics see it.
#[derive(Debug, Clone, Copy)]
pub struct Fact {
    pub day: Day,
    pub clinic: u32,
    pub patient: u32,
    /// The patient's record key, beside the version: counting distinct patients then reads
    /// the versions in order instead of a key table at random.
    pub key: crate::access::RecordKey,
    pub plan_type: u8,
    pub source: u8,
    pub is_new: bool,
}

/// Running totals (versions, new versions, new heart plans) of one clinic after a day.
#[derive(Debug, Clone, Copy, Default)]
struct Running {
    day: Day,
    plans: u32,
    new_plans: u32,
    new_heart: u32,
}

/// Per clinic: the running totals at each day the clinic made a plan version.
pub struct ClinicSeries {
    by_clinic: Vec<Vec<Running>>,
}

impl ClinicSeries {
    /// From facts sorted by day, for `clinics` clinics.
    pub fn new(facts: &[Fact], clinics: usize) -> Self {
        let mut by_clinic: Vec<Vec<Running>> = vec![Vec::new(); clinics];
        for f in facts {
            let series = &mut by_clinic[f.clinic as usize];
            let mut next = series.last().copied().unwrap_or_default();
            if next.day != f.day || series.is_empty() {
                next.day = f.day;
                series.push(next);
            }
            let last = series.len() - 1;
            let r = &mut series[last];
            r.plans += 1;
            if f.is_new {
                r.new_plans += 1;
                if f.plan_type == PlanType::Ihd as u8 {
                    r.new_heart += 1;
                }
            }
        }
        for s in &mut by_clinic {
            s.shrink_to_fit();
        }
        Self { by_clinic }
    }

    /// The clinic's totals over every day on or before `d`.
    fn upto(series: &[Running], d: Day) -> Running {
        let i = series.partition_point(|r| r.day <= d);
        i.checked_sub(1).map(|i| series[i]).unwrap_or_default()
    }

    /// Clinic `clinic`'s versions with local day in (after, until].
    pub fn window(&self, clinic: usize, after: Day, until: Day) -> ClinicWindow {
        let series = &self.by_clinic[clinic];
        if until <= after {
            return ClinicWindow::default();
        }
        let (a, b) = (Self::upto(series, after), Self::upto(series, until));
        ClinicWindow {
            plans: i64::from(b.plans - a.plans),
            new_plans: i64::from(b.new_plans - a.new_plans),
            new_heart: i64::from(b.new_heart - a.new_heart),
        }
    }
}

const TYPES: usize = PlanType::ALL.len();
const SOURCES: usize = Source::ALL.len();
const REGIONS: usize = RegionCode::ALL.len();
/// Cells of one day: region × type × source × new/maintained.
const CELLS: usize = REGIONS * TYPES * SOURCES * 2;

fn cell(region: u8, plan_type: u8, source: u8, is_new: bool) -> Option<usize> {
    let (r, t, s) = (region as usize, plan_type as usize, source as usize);
    (r < REGIONS && t < TYPES && s < SOURCES)
        .then(|| ((r * TYPES + t) * SOURCES + s) * 2 + usize::from(is_new))
}

/// Versions per local day and cell, dense from the first day with a version to the last.
pub struct DayCube {
    first: Day,
    counts: Vec<u32>,
}

impl DayCube {
    /// From facts sorted by day; `region_of` gives a clinic's region index.
    pub fn new(facts: &[Fact], region_of: impl Fn(u32) -> u8) -> Self {
        let (Some(first), Some(last)) = (facts.first(), facts.last()) else {
            return Self {
                first: 0,
                counts: Vec::new(),
            };
        };
        let first = first.day;
        let days = (last.day - first) as usize + 1;
        let mut counts = vec![0u32; days * CELLS];
        for f in facts {
            if let Some(c) = cell(region_of(f.clinic), f.plan_type, f.source, f.is_new) {
                counts[(f.day - first) as usize * CELLS + c] += 1;
            }
        }
        Self { first, counts }
    }

    /// The counts of every day in [from, until] with versions, by day, then region, type,
    /// source and maintained before new.
    pub fn day_counts(&self, from: Day, until: Day) -> Vec<DayCount> {
        let days = (self.counts.len() / CELLS) as Day;
        let lo = (from - self.first).max(0);
        let hi = (until - self.first + 1).min(days);
        let mut out = Vec::new();
        for offset in lo..hi.max(lo) {
            let row = &self.counts[offset as usize * CELLS..][..CELLS];
            let day = super::snapshot::date(self.first + offset);
            for (i, &n) in row.iter().enumerate().filter(|(_, n)| **n > 0) {
                let (rest, is_new) = (i / 2, i % 2 == 1);
                let (rest, s) = (rest / SOURCES, rest % SOURCES);
                let (r, t) = (rest / TYPES, rest % TYPES);
                out.push(DayCount {
                    day,
                    region: RegionCode::ALL[r],
                    plan_type: PlanType::ALL[t],
                    source: Source::ALL[s],
                    is_new,
                    n: i64::from(n),
                });
            }
        }
        out
    }
}
