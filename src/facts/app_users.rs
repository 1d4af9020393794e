//! Active app users for every day at once (issue 15). "Patients with a plan" and "of those,
//! the ones who viewed a plan in the app in the 12 months to D" are distinct counts over a
//! window that moves with D, nationally and per region. Scanning every patient and the year's
//! events per question cost milliseconds; instead one sweep over the days, when the snapshot
//! is built, keeps the window's set of active patients as events enter and leave it, and
//! records the two person sets (size and key sum, `PersonSet`) of each day and area.
//!
//! Views recorded by this process after the build (`live`) are added at question time: a live
//! view counts when its patient has no stored view in the window already.

// Indexes are the snapshot's own numbers (patient, day offset, area), each below the length
// of what it indexes by construction.
#![allow(
    clippy::indexing_slicing,
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation
)]

use super::metrics::year_back;
use super::series::Day;
use super::snapshot::{date, day};
use crate::access::{PersonSet, RecordKey};
use std::collections::HashSet;

/// Areas: each region by its index in `RegionCode::ALL`, then the nation.
pub const AREAS: usize = crate::domain::RegionCode::ALL.len() + 1;
pub const NATION: usize = AREAS - 1;
const NEVER: Day = Day::MAX;

/// The start of the 12 months to `d`: the window is (window_start(d), d].
fn window_start(d: Day) -> Day {
    day(year_back(date(d)))
}

/// Per patient: the first local day of a plan version in each area (NEVER if none).
pub type FirstPlan = [Day; AREAS];

pub struct AppUserTable {
    /// The first day of `days`.
    start: Day,
    /// Per day from `start`, per area: (patients with a plan, of those active in the window).
    days: Vec<[(PersonSet, PersonSet); AREAS]>,
    /// After the last day of the table: every patient with a plan, none active.
    after: [PersonSet; AREAS],
    /// Per patient, the days of their stored views, sorted: `views[offsets[p]..offsets[p+1]]`.
    offsets: Vec<u32>,
    views: Vec<Day>,
}

impl AppUserTable {
    /// From each patient's first plan per area, their record keys, and the stored views as
    /// (day, patient) sorted by day.
    pub fn new(first: &[FirstPlan], keys: &[RecordKey], events: &[(Day, u32)]) -> Self {
        let patients = first.len();
        // Per patient, their view days (CSR): the check for a live view.
        let mut offsets = vec![0u32; patients + 1];
        for &(_, p) in events {
            offsets[p as usize + 1] += 1;
        }
        for p in 0..patients {
            offsets[p + 1] += offsets[p];
        }
        let mut fill = offsets.clone();
        let mut views = vec![0; events.len()];
        for &(d, p) in events {
            views[fill[p as usize] as usize] = d;
            fill[p as usize] += 1;
        }
        // When each patient becomes one with a plan in each area, by day.
        let mut eligible: Vec<(Day, u32, u8)> = Vec::new();
        for (p, days) in first.iter().enumerate() {
            for (area, &d) in days.iter().enumerate() {
                if d != NEVER {
                    eligible.push((d, p as u32, area as u8));
                }
            }
        }
        eligible.sort_unstable();
        let mut after = [PersonSet::default(); AREAS];
        for &(_, p, area) in &eligible {
            after[area as usize].add(keys[p as usize]);
        }
        let first_day = eligible.first().map(|e| e.0);
        let last_day = eligible.last().map(|e| e.0).max(events.last().map(|e| e.0));
        let (Some(start), Some(last)) = (first_day, last_day) else {
            return Self {
                start: 0,
                days: Vec::new(),
                after,
                offsets,
                views,
            };
        };
        // A year and a day past the last view, no view is in any window any more.
        let end = last + 367;
        let mut days = Vec::with_capacity((end - start + 1) as usize);
        let mut in_window = vec![0u32; patients];
        let mut with_plan = [PersonSet::default(); AREAS];
        let mut active = [PersonSet::default(); AREAS];
        let (mut added, mut removed, mut next_eligible) = (0, 0, 0);
        for b in start..=end {
            let a = window_start(b);
            // Invariant after each day b: active[area] = patients with a view in (a, b] and a
            // plan in the area on or before b. Within the day, "had a plan" means before b;
            // the patients whose first plan is on b are added last.
            // A patient's first view entering the window, or last leaving it: in or out of the
            // active set of every area they had a plan in before b.
            let flip = |active: &mut [PersonSet; AREAS], p: u32, enters: bool| {
                let key = keys[p as usize];
                for (area, set) in active.iter_mut().enumerate() {
                    if first[p as usize][area] < b {
                        if enters {
                            set.add(key);
                        } else {
                            set.remove(key);
                        }
                    }
                }
            };
            while removed < events.len() && events[removed].0 <= a {
                let p = events[removed].1;
                in_window[p as usize] -= 1;
                if in_window[p as usize] == 0 {
                    flip(&mut active, p, false);
                }
                removed += 1;
            }
            while added < events.len() && events[added].0 <= b {
                let p = events[added].1;
                in_window[p as usize] += 1;
                if in_window[p as usize] == 1 {
                    flip(&mut active, p, true);
                }
                added += 1;
            }
            while next_eligible < eligible.len() && eligible[next_eligible].0 <= b {
                let (_, p, area) = eligible[next_eligible];
                with_plan[area as usize].add(keys[p as usize]);
                if in_window[p as usize] > 0 {
                    active[area as usize].add(keys[p as usize]);
                }
                next_eligible += 1;
            }
            let mut row = [(PersonSet::default(), PersonSet::default()); AREAS];
            for (area, slot) in row.iter_mut().enumerate() {
                *slot = (with_plan[area], active[area]);
            }
            days.push(row);
        }
        Self {
            start,
            days,
            after,
            offsets,
            views,
        }
    }

    /// Whether patient `p` has a stored view in (a, b].
    fn viewed(&self, p: u32, a: Day, b: Day) -> bool {
        let (lo, hi) = (self.offsets[p as usize], self.offsets[p as usize + 1]);
        let mine = &self.views[lo as usize..hi as usize];
        mine.get(mine.partition_point(|&d| d <= a))
            .is_some_and(|&d| d <= b)
    }

    /// Patients with a plan on or before `until` in the area, and of those the ones with a
    /// view in the 12 months to `until`; `live` adds the views (day, patient) recorded since.
    pub fn at(
        &self,
        until: Day,
        area: usize,
        first: &[FirstPlan],
        keys: &[RecordKey],
        live: &[(Day, u32)],
    ) -> (PersonSet, PersonSet) {
        if until < self.start {
            return (PersonSet::default(), PersonSet::default());
        }
        let (with_plan, mut active) = self
            .days
            .get((until - self.start) as usize)
            .map_or((self.after[area], PersonSet::default()), |row| row[area]);
        let a = window_start(until);
        let mut counted = HashSet::new();
        for &(d, p) in live {
            if d > a
                && d <= until
                && first[p as usize][area] <= until
                && !self.viewed(p, a, until)
                && counted.insert(p)
            {
                active.add(keys[p as usize]);
            }
        }
        (with_plan, active)
    }
}
