//! The rollout's aggregates in memory. Every rollout figure scans plan versions and app events
//! by local date; at national scale that is hundreds of thousands of rows per question, too
//! slow for a dashboard in SQL. A `Snapshot` holds those rows compactly, sorted by date, with
//! running totals over them (`series`, `app_users`) from which every rollout figure is a few
//! lookups; the ad-hoc activity question scans the rows of its date range.
//!
//! Exactness: every import batch bumps `data_version`; a request that finds another version
//! than its snapshot's rebuilds it first, so late-arriving data is always reflected. Plan views
//! recorded by this process are added to the snapshot at once; views recorded by other
//! processes arrive with the periodic background refresh (`rollout.refresh_secs`).

// The columns index each other by ids this module hands out (clinic, cluster, day, member and
// rank numbers, each below the length of the table it indexes, by construction) and narrow
// counts to u32 that stay far below 2^32 at national scale. Checked access in these loops
// cost measurable time in the adversary benchmark (issue 13); a wrong id is a bug the tests
// of this module catch, not input.
#![allow(
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use super::activity::{ActivityOrder, Dimension, Group, Question};
use super::app_users::{AppUserTable, FirstPlan, AREAS, NATION};
use super::metrics::{ClinicWindow, DayCount};
use super::population::{FirstOfType, Listed};
use super::quality::{self, Cells, Measures};
use super::series::{ClinicSeries, Day, DayCube, Fact};
use crate::access::work::{Deadline, Expired};
use crate::access::{CountScope, PersonSet, RecordKey, RecordKeys};
use crate::db::tables::{app_events, plan_versions};
use crate::db::{data_version, Db, DbConnection, DbError};
use crate::domain::{PlanType, RegionCode, Source};
use crate::facts::Directory;
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub(super) fn day(d: NaiveDate) -> Day {
    d.num_days_from_ce()
}

pub(super) fn date(d: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(d).unwrap_or(NaiveDate::MIN)
}

struct Clinic {
    ydernummer: String,
    region: u8,
    /// Index into `cluster_names`.
    cluster: Option<u32>,
}

const NEVER: Day = Day::MAX;
const REGIONS: usize = RegionCode::ALL.len();

pub struct Snapshot {
    pub version: i64,
    built: Instant,
    /// Clinics and clusters by id, with names: reference data for every view.
    pub directory: Arc<Directory>,
    clinics: Vec<Clinic>,
    cluster_names: Vec<String>,
    /// Sorted by day.
    facts: Vec<Fact>,
    patients: HashMap<String, u32>,
    /// Per patient: their record key (disclosure control).
    keys: Vec<RecordKey>,
    /// Per patient: the local day of their first plan version made by a clinic of each
    /// region, and of their first anywhere (`app_users::NATION`).
    first: Vec<FirstPlan>,
    /// Per clinic, running totals by day: any clinic window in two lookups.
    series: ClinicSeries,
    /// Versions per day, region, type, source and new/maintained.
    cube: DayCube,
    /// Patients with a plan and active app users of the 12 months to every day.
    app: AppUserTable,
    /// Per clinic: its listed patients with a diagnosis.
    listed: Vec<Vec<Listed>>,
    /// Every person's measurements of the quality indicators' codes.
    measures: Measures,
    /// Every clinic's quality indicators, by as-of day.
    quality: Mutex<HashMap<Day, ClinicQuality>>,
    /// How many plan_viewed events of patients with a plan the snapshot holds.
    events: usize,
    /// Views recorded by this process since the snapshot was built.
    live: Mutex<Vec<(Day, u32)>>,
    /// Clinic windows answered, by (after, until).
    windows: Mutex<HashMap<(Day, Day), ClinicWindows>>,
}

/// Per clinic (by ydernummer) with any version in a window: its counts there.
pub type ClinicWindows = Arc<HashMap<String, ClinicWindow>>;

/// Every clinic's quality indicators as of one date, by ydernummer.
pub type ClinicQuality = Arc<HashMap<String, Cells>>;

/// Clinic windows remembered per snapshot at most.
const REMEMBERED_WINDOWS: usize = 64;

/// Dates of quality indicators remembered per snapshot at most (each about 400 KB at
/// national scale).
const REMEMBERED_QUALITY: usize = 16;

fn region_index(code: RegionCode) -> u8 {
    RegionCode::ALL
        .iter()
        .position(|r| *r == code)
        .map_or(u8::MAX, |i| u8::try_from(i).unwrap_or(u8::MAX))
}

fn type_index(t: &str) -> u8 {
    PlanType::ALL
        .iter()
        .position(|x| x.as_str() == t)
        .map_or(u8::MAX, |i| u8::try_from(i).unwrap_or(u8::MAX))
}

fn source_index(s: &str) -> u8 {
    Source::ALL
        .iter()
        .position(|x| x.as_str() == s)
        .map_or(u8::MAX, |i| u8::try_from(i).unwrap_or(u8::MAX))
}

impl Snapshot {
    /// Reads everything the rollout needs. The version is read first: data committed while
    /// loading makes the next request rebuild again, never miss it.
    pub fn load(conn: &mut DbConnection, record_keys: &RecordKeys) -> Result<Self, DbError> {
        let version = data_version(conn)?;
        let directory = Arc::new(crate::facts::directory::directory(conn)?);
        let cluster_ids: Vec<&String> = directory.clusters.keys().collect();
        let mut clinic_index = HashMap::with_capacity(directory.clinics.len());
        let clinics: Vec<Clinic> = directory
            .clinics
            .values()
            .enumerate()
            .map(|(i, c)| {
                clinic_index.insert(c.ydernummer.as_str().to_string(), i as u32);
                Clinic {
                    ydernummer: c.ydernummer.as_str().to_string(),
                    region: region_index(c.region),
                    cluster: c
                        .cluster
                        .as_ref()
                        .and_then(|id| cluster_ids.binary_search(&id).ok())
                        .map(|i| i as u32),
                }
            })
            .collect();
        let cluster_names: Vec<String> = cluster_ids.into_iter().cloned().collect();
        let rows: Vec<(NaiveDate, String, String, String, String, bool)> = plan_versions::table
            .select((
                plan_versions::local_date,
                plan_versions::ydernummer,
                plan_versions::cpr,
                plan_versions::plan_type,
                plan_versions::source,
                plan_versions::is_new,
            ))
            .load(conn)?;
        // The first plan of each type of every person, from any clinic's versions: what the
        // population counts take as "with a plan".
        // Each person also gets a number here, by which their measurements are found.
        let mut first_of_type: HashMap<&str, (u32, FirstOfType)> = HashMap::new();
        for (d, _, cpr, t, _, _) in &rows {
            let next = first_of_type.len() as u32;
            let (_, slot) = first_of_type
                .entry(cpr.as_str())
                .or_insert((next, [NEVER; PlanType::ALL.len()]));
            if let Some(first) = slot.get_mut(type_index(t) as usize) {
                *first = (*first).min(day(*d));
            }
        }
        let listed =
            super::population::load(conn, record_keys, &clinic_index, clinics.len(), |cpr| {
                first_of_type.get(cpr).copied()
            })?;
        let measures = Measures::load(conn, first_of_type.len(), |cpr| {
            first_of_type.get(cpr).map(|(p, _)| *p)
        })?;
        drop(first_of_type);
        let mut patients: HashMap<String, u32> = HashMap::new();
        let mut first: Vec<FirstPlan> = Vec::new();
        let mut keys: Vec<RecordKey> = Vec::new();
        let mut facts = Vec::with_capacity(rows.len());
        for (d, y, cpr, t, s, is_new) in rows {
            let Some(&clinic) = clinic_index.get(&y) else {
                continue;
            };
            let next = patients.len() as u32;
            let patient = match patients.get(&cpr) {
                Some(&p) => p,
                None => {
                    keys.push(record_keys.of(&cpr));
                    patients.insert(cpr, next);
                    next
                }
            };
            if patient == next {
                first.push([NEVER; AREAS]);
            }
            let dd = day(d);
            let mine = &mut first[patient as usize];
            mine[NATION] = mine[NATION].min(dd);
            let r = clinics[clinic as usize].region as usize;
            if r < REGIONS {
                mine[r] = mine[r].min(dd);
            }
            facts.push(Fact {
                day: dd,
                clinic,
                patient,
                key: keys[patient as usize],
                plan_type: type_index(&t),
                source: source_index(&s),
                is_new,
            });
        }
        facts.sort_by_key(|f| f.day);
        let rows: Vec<(NaiveDate, String)> = app_events::table
            .select((app_events::local_date, app_events::cpr))
            .load(conn)?;
        let mut events: Vec<(Day, u32)> = rows
            .into_iter()
            .filter_map(|(d, cpr)| patients.get(&cpr).map(|&p| (day(d), p)))
            .collect();
        events.sort_unstable();
        let series = ClinicSeries::new(&facts, clinics.len());
        let cube = DayCube::new(&facts, |c| clinics[c as usize].region);
        let app = AppUserTable::new(&first, &keys, &events);
        Ok(Self {
            version,
            built: Instant::now(),
            directory,
            clinics,
            cluster_names,
            facts,
            patients,
            keys,
            first,
            series,
            cube,
            app,
            listed,
            measures,
            quality: Mutex::new(HashMap::new()),
            events: events.len(),
            live: Mutex::new(Vec::new()),
            windows: Mutex::new(HashMap::new()),
        })
    }

    /// How many plan versions have a local day in [from, until]: what scanning them costs.
    pub fn facts_between(&self, from: NaiveDate, until: NaiveDate) -> u64 {
        self.between(from, until).len() as u64
    }

    /// Facts with local day in [from, until].
    fn between(&self, from: NaiveDate, until: NaiveDate) -> &[Fact] {
        let (a, b) = (day(from), day(until));
        let lo = self.facts.partition_point(|f| f.day < a);
        let hi = self.facts.partition_point(|f| f.day <= b);
        &self.facts[lo..hi.max(lo)]
    }

    /// Per clinic: versions, new versions and new heart plans with local date in (after, until].
    /// Remembered per window: dashboards ask the same few dates again and again, and two
    /// lookups in every clinic's running totals still cost about a millisecond nationally.
    pub fn clinic_windows(&self, after: NaiveDate, until: NaiveDate) -> ClinicWindows {
        let (a, b) = (day(after), day(until));
        if let Some(w) = self
            .windows
            .lock()
            .ok()
            .and_then(|m| m.get(&(a, b)).cloned())
        {
            return w;
        }
        let w: ClinicWindows = Arc::new(
            self.clinics
                .iter()
                .enumerate()
                .map(|(i, c)| (c, self.series.window(i, a, b)))
                .filter(|(_, w)| w.plans > 0)
                .map(|(c, w)| (c.ydernummer.clone(), w))
                .collect(),
        );
        if let Ok(mut memo) = self.windows.lock() {
            // Bounded: a caller walking through dates does not grow it without end.
            if memo.len() >= REMEMBERED_WINDOWS {
                memo.clear();
            }
            memo.insert((a, b), w.clone());
        }
        w
    }

    /// Versions per local day, region, type, source and new/maintained, in [from, until].
    pub fn day_counts(&self, from: NaiveDate, until: NaiveDate) -> Vec<DayCount> {
        self.cube.day_counts(day(from), day(until))
    }

    /// Patients with a plan version on or before `until` (made in `region`, when given), and
    /// of those the ones with a plan_viewed event in the 12 months to `until`.
    pub fn app_users(
        &self,
        until: NaiveDate,
        region: Option<RegionCode>,
    ) -> (PersonSet, PersonSet) {
        let area = region.map_or(NATION, |r| region_index(r) as usize);
        // Read under the lock, not copied: the list grows with every patient's read.
        let live = self.live.lock();
        let live = live.as_deref().map_or(&[][..], Vec::as_slice);
        self.app
            .at(day(until), area.min(NATION), &self.first, &self.keys, live)
    }

    /// The listed patients with a diagnosis that `scope` counts, per clinic of it (in
    /// ydernummer order): one clinic's, or each clinic's of a cluster.
    pub fn listed(&self, scope: &CountScope) -> Vec<(&str, &[Listed])> {
        let cluster = scope
            .cluster()
            .map(|id| self.cluster_names.binary_search_by(|c| c.as_str().cmp(id)));
        self.clinics
            .iter()
            .zip(&self.listed)
            .filter(|(c, _)| match (scope.clinic(), &cluster) {
                (Some(y), _) => c.ydernummer == y,
                (None, Some(Ok(i))) => c.cluster == Some(*i as u32),
                (None, _) => false,
            })
            .map(|(c, rows)| (c.ydernummer.as_str(), rows.as_slice()))
            .collect()
    }

    /// Every clinic's quality indicators as of `d` (each clinic's listed patients; sum them
    /// with `quality::add` for a region or the nation). Remembered per date: a dashboard's
    /// totals and cluster views are lookups after the first question of a date.
    pub fn quality(&self, d: NaiveDate) -> ClinicQuality {
        let key = day(d);
        if let Some(q) = self.remembered_quality(d) {
            return q;
        }
        let q: ClinicQuality = Arc::new(
            self.clinics
                .iter()
                .zip(&self.listed)
                .map(|(c, rows)| {
                    (
                        c.ydernummer.clone(),
                        quality::cells(rows, &self.measures, d),
                    )
                })
                .collect(),
        );
        if let Ok(mut memo) = self.quality.lock() {
            if memo.len() >= REMEMBERED_QUALITY {
                memo.clear();
            }
            memo.insert(key, q.clone());
        }
        q
    }

    /// The quality indicators of `d` if they were counted already.
    pub fn remembered_quality(&self, d: NaiveDate) -> Option<ClinicQuality> {
        self.quality
            .lock()
            .ok()
            .and_then(|m| m.get(&day(d)).cloned())
    }

    /// How many listed patients with a diagnosis the snapshot holds: what counting all of
    /// them costs.
    pub fn listed_total(&self) -> usize {
        self.listed.iter().map(Vec::len).sum()
    }

    /// The region of a clinic, by ydernummer.
    pub fn clinic_region(&self, ydernummer: &str) -> Option<RegionCode> {
        self.directory.clinics.get(ydernummer).map(|c| c.region)
    }

    /// Adds a plan view recorded by this process.
    pub fn record_view(&self, cpr: &str, on: NaiveDate) {
        if let (Some(&p), Ok(mut live)) = (self.patients.get(cpr), self.live.lock()) {
            live.push((day(on), p));
        }
    }

    /// The lowest and highest number each grouped dimension's key can take in `q`'s range.
    fn bounds(&self, q: &Question, dims: &[Dimension]) -> Vec<(i64, i64)> {
        let (y0, y1) = (i64::from(q.from.year()), i64::from(q.to.year()));
        dims.iter()
            .map(|dim| match dim {
                Dimension::Region => (0, REGIONS as i64 - 1),
                Dimension::Cluster => (-1, self.cluster_names.len() as i64 - 1),
                Dimension::Clinic => (0, self.clinics.len() as i64 - 1),
                Dimension::Type => (0, PlanType::ALL.len() as i64 - 1),
                Dimension::Source => (0, Source::ALL.len() as i64 - 1),
                // An ISO week's year may be the year before the range's first or after its last.
                Dimension::Week => ((y0 - 1) * 100 + 1, (y1 + 1) * 100 + 53),
                Dimension::Month => (y0 * 100 + 1, y1 * 100 + 12),
                Dimension::Year => (y0, y1),
            })
            .collect()
    }

    /// The ad-hoc activity question: groups (at most limit + 1, ordered) and the total. Checks
    /// the deadline every 64 Ki versions, so a question past it stops working.
    ///
    /// Grouped by every dimension over three years, nearly every version is a group of its
    /// own, so nothing here allocates per group or per version: keys are fixed arrays of
    /// numbers, distinct clinics and patients are counted by sorting flat (group, member)
    /// pairs, and labels are made only for the rows returned. (Sets per group made hundreds of
    /// thousands of small allocations, slow in themselves and, freed by a low-priority thread,
    /// felt by every request thread of the process.)
    pub fn activity(
        &self,
        q: &Question,
        deadline: &Deadline,
    ) -> Result<(Vec<Group>, Group), Expired> {
        fn set(v: &[String]) -> HashSet<&str> {
            v.iter().map(String::as_str).collect()
        }
        let (regions, clusters, clinics, types, sources) = (
            set(&q.regions),
            set(&q.clusters),
            set(&q.clinics),
            set(&q.types),
            set(&q.sources),
        );
        let keep = |set: &HashSet<&str>, v: Option<&str>| {
            set.is_empty() || v.is_some_and(|v| set.contains(v))
        };
        // Filters decided once per clinic, type and source rather than per row.
        let clinic_ok: Vec<bool> = self
            .clinics
            .iter()
            .map(|c| {
                keep(
                    &regions,
                    RegionCode::ALL.get(c.region as usize).map(|r| r.as_str()),
                ) && keep(
                    &clusters,
                    c.cluster.map(|i| self.cluster_names[i as usize].as_str()),
                ) && keep(&clinics, Some(c.ydernummer.as_str()))
            })
            .collect();
        let type_ok: Vec<bool> = PlanType::ALL
            .iter()
            .map(|t| keep(&types, Some(t.as_str())))
            .collect();
        let source_ok: Vec<bool> = Source::ALL
            .iter()
            .map(|s| keep(&sources, Some(s.as_str())))
            .collect();
        let dims = &q.group_by[..q.group_by.len().min(DIMENSIONS)];
        // A group key: one number per dimension asked for (-1 for none, e.g. no cluster).
        let mut index = GroupIndex::new(self.bounds(q, dims));
        let mut keys: Vec<Key> = Vec::new();
        let mut counts: Vec<(i64, i64)> = Vec::new();
        // (group, patient, clinic, record key) of every version counted.
        let mut members: Vec<(u32, u32, u32, RecordKey)> = Vec::new();
        let (mut plans, mut new_plans) = (0i64, 0i64);
        // (day, ISO week, month, year) of the last version seen.
        let mut calendar: (Day, i64, i64, i64) = (Day::MIN, 0, 0, 0);
        for (i, f) in self.between(q.from, q.to).iter().enumerate() {
            if i % 65_536 == 0 {
                deadline.check()?;
            }
            if !clinic_ok[f.clinic as usize]
                || !type_ok.get(f.plan_type as usize).copied().unwrap_or(false)
                || !source_ok.get(f.source as usize).copied().unwrap_or(false)
            {
                continue;
            }
            let c = &self.clinics[f.clinic as usize];
            // The versions come by day: the calendar keys change only with it.
            if f.day != calendar.0 {
                let d = date(f.day);
                let w = d.iso_week();
                calendar = (
                    f.day,
                    i64::from(w.year()) * 100 + i64::from(w.week()),
                    i64::from(d.year()) * 100 + i64::from(d.month()),
                    i64::from(d.year()),
                );
            }
            let mut key = [-1i64; DIMENSIONS];
            for (slot, dim) in key.iter_mut().zip(dims) {
                *slot = match dim {
                    Dimension::Region => i64::from(c.region),
                    Dimension::Cluster => c.cluster.map_or(-1, i64::from),
                    Dimension::Clinic => i64::from(f.clinic),
                    Dimension::Type => i64::from(f.plan_type),
                    Dimension::Source => i64::from(f.source),
                    Dimension::Week => calendar.1,
                    Dimension::Month => calendar.2,
                    Dimension::Year => calendar.3,
                };
            }
            let g = index.group(&key, || {
                keys.push(key);
                counts.push((0, 0));
                (keys.len() - 1) as u32
            });
            let n = &mut counts[g as usize];
            n.0 += 1;
            n.1 += i64::from(f.is_new);
            plans += 1;
            new_plans += i64::from(f.is_new);
            members.push((g, f.patient, f.clinic, f.key));
        }
        drop(index);
        deadline.check()?;
        // Distinct patients and clinics per group without sorting: the members laid out group
        // by group (a counting sort, linear), then each patient and clinic stamped with the
        // last group that counted it.
        let mut start = vec![0usize; keys.len() + 1];
        for &(g, _, _, _) in &members {
            start[g as usize + 1] += 1;
        }
        for g in 0..keys.len() {
            start[g + 1] += start[g];
        }
        let mut next = start.clone();
        let mut by_group = members.clone();
        for &m in &members {
            let g = m.0 as usize;
            by_group[next[g]] = m;
            next[g] += 1;
        }
        drop(members);
        let mut person_sets = vec![PersonSet::default(); keys.len()];
        let mut clinic_counts = vec![0i64; keys.len()];
        let mut patient_stamp = vec![u32::MAX; self.keys.len()];
        let mut clinic_stamp = vec![u32::MAX; self.clinics.len()];
        let mut everyone = PersonSet::default();
        let mut all_clinics = 0i64;
        let (mut anyone, mut any_clinic) = (
            vec![false; self.keys.len()],
            vec![false; self.clinics.len()],
        );
        for g in 0..keys.len() {
            for &(_, p, c, key) in &by_group[start[g]..start[g + 1]] {
                let (p, c) = (p as usize, c as usize);
                if patient_stamp[p] != g as u32 {
                    patient_stamp[p] = g as u32;
                    person_sets[g].add(key);
                }
                if clinic_stamp[c] != g as u32 {
                    clinic_stamp[c] = g as u32;
                    clinic_counts[g] += 1;
                }
                if !anyone[p] {
                    anyone[p] = true;
                    everyone.add(key);
                }
                if !any_clinic[c] {
                    any_clinic[c] = true;
                    all_clinics += 1;
                }
            }
        }
        deadline.check()?;
        // Ordered by the labels as shown (ydernummer, cluster id, "2022-W07" …), none first:
        // each dimension's numbers mapped to the rank of their label, so no label is made to
        // sort. Clinics and clusters are numbered in the order of their ids already (the
        // directory is sorted), so their number is their rank.
        let ranks = |labels: Vec<&str>| -> Vec<i64> {
            let mut order: Vec<usize> = (0..labels.len()).collect();
            order.sort_by_key(|&i| labels[i]);
            let mut rank = vec![0i64; labels.len()];
            for (r, i) in order.into_iter().enumerate() {
                rank[i] = r as i64;
            }
            rank
        };
        let region_rank = ranks(RegionCode::ALL.iter().map(|r| r.as_str()).collect());
        let type_rank = ranks(PlanType::ALL.iter().map(|t| t.as_str()).collect());
        let source_rank = ranks(Source::ALL.iter().map(|s| s.as_str()).collect());
        let shown_order = |key: &Key| -> Key {
            let mut out = *key;
            for (v, dim) in out.iter_mut().zip(dims) {
                let table = match dim {
                    Dimension::Region => &region_rank,
                    Dimension::Type => &type_rank,
                    Dimension::Source => &source_rank,
                    Dimension::Cluster
                    | Dimension::Clinic
                    | Dimension::Week
                    | Dimension::Month
                    | Dimension::Year => continue,
                };
                *v = usize::try_from(*v)
                    .ok()
                    .and_then(|i| table.get(i).copied())
                    .unwrap_or(-1);
            }
            out
        };
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by_cached_key(|&g| {
            let (plans, new_plans) = counts[g];
            let rank = match q.order {
                ActivityOrder::Key => 0,
                ActivityOrder::PlansDesc => -plans,
                ActivityOrder::NewPlansDesc => -new_plans,
                ActivityOrder::PlansAsc => plans,
            };
            (rank, shown_order(&keys[g]))
        });
        order.truncate(q.limit as usize + 1);
        let label = |dim: Dimension, k: i64| -> Option<String> {
            let idx = usize::try_from(k).ok()?;
            match dim {
                Dimension::Region => RegionCode::ALL.get(idx).map(|r| r.as_str().to_string()),
                Dimension::Cluster => self.cluster_names.get(idx).cloned(),
                Dimension::Clinic => self.clinics.get(idx).map(|c| c.ydernummer.clone()),
                Dimension::Type => PlanType::ALL.get(idx).map(|t| t.as_str().to_string()),
                Dimension::Source => Source::ALL.get(idx).map(|s| s.as_str().to_string()),
                Dimension::Week => Some(format!("{}-W{:02}", k / 100, k % 100)),
                Dimension::Month => Some(format!("{:04}-{:02}", k / 100, k % 100)),
                Dimension::Year => Some(format!("{k:04}")),
            }
        };
        let rows = order
            .into_iter()
            .map(|g| {
                let mut row = Group {
                    plans: counts[g].0,
                    new_plans: counts[g].1,
                    clinics: clinic_counts[g],
                    patients: person_sets[g],
                    ..Group::default()
                };
                for (dim, k) in dims.iter().zip(&keys[g]) {
                    *row.slot(*dim) = label(*dim, *k);
                }
                row
            })
            .collect();
        let total = Group {
            plans,
            new_plans,
            clinics: all_clinics,
            patients: everyone,
            ..Group::default()
        };
        Ok((rows, total))
    }
}

/// Dimensions a group can be keyed by: every `Dimension`, each at most once.
const DIMENSIONS: usize = 8;
type Key = [i64; DIMENSIONS];

/// Groups up to this many possible keys are found by position in a table (no hashing);
/// more (e.g. every clinic by week over years) through a hash map.
const DENSE_GROUPS: i64 = 1 << 18;

/// The group number of each key seen so far: by position in a table when the keys possible
/// are few (no hashing), else (and for any key outside the bounds given) in a hash map.
struct GroupIndex {
    dense: Option<Dense>,
    sparse: HashMap<Key, u32, foldhash::fast::RandomState>,
}

/// Slot = the key's mixed-radix position from the lowest possible value per dimension.
struct Dense {
    bounds: Vec<(i64, i64)>,
    stride: Key,
    slots: Vec<u32>,
}

impl GroupIndex {
    /// For keys whose numbers lie within `bounds` (lowest, highest) per dimension.
    fn new(bounds: Vec<(i64, i64)>) -> Self {
        let mut stride = [0; DIMENSIONS];
        let mut size = 1i64;
        for (i, (lo, hi)) in bounds.iter().enumerate().take(DIMENSIONS) {
            stride[i] = size;
            size = size.saturating_mul((hi - lo + 1).max(1));
        }
        let dense = (size <= DENSE_GROUPS).then(|| Dense {
            bounds,
            stride,
            slots: vec![u32::MAX; size as usize],
        });
        Self {
            dense,
            sparse: HashMap::default(),
        }
    }

    /// The group of `key`, numbered by `new_group` when first seen.
    fn group(&mut self, key: &Key, new_group: impl FnOnce() -> u32) -> u32 {
        let slot = self.dense.as_mut().and_then(|d| {
            let mut at = 0i64;
            for ((k, (lo, hi)), s) in key.iter().zip(&d.bounds).zip(&d.stride) {
                if k < lo || k > hi {
                    return None;
                }
                at += (k - lo) * s;
            }
            d.slots.get_mut(at as usize)
        });
        match slot {
            Some(slot) => {
                if *slot == u32::MAX {
                    *slot = new_group();
                }
                *slot
            }
            None => *self.sparse.entry(*key).or_insert_with(new_group),
        }
    }
}

/// The current snapshot, rebuilt when the data changes and refreshed in the background.
///
/// Every build runs on one long-lived thread of its own (`Builder`). A snapshot is hundreds of
/// megabytes nationally, allocated by the thread that builds it; glibc's malloc keeps what a
/// thread's arena frees for that arena, so builds on the blocking pool's changing threads left
/// a snapshot's worth of freed memory in arena after arena (the soak benchmark measured RSS
/// rising about 150 MB a minute, a refresh every 30 s). On one thread each build reuses what
/// the last one freed.
pub struct Aggregates {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// The directory alone, by data version, for when the snapshot is older than the data:
    /// a read that needs only clinic names (a patient's plans) never waits for a snapshot
    /// build, which takes seconds nationally.
    directory: RwLock<Option<(i64, Arc<Directory>)>>,
    building: Mutex<()>,
    refreshing: AtomicBool,
    refresh_every: Duration,
    record_keys: RecordKeys,
    builder: Builder,
}

/// A build asked of the builder thread: of `version` (None: whatever the data is now), for
/// `aggregates`, answered on `done` (when someone waits).
struct BuildJob {
    aggregates: Arc<Aggregates>,
    db: Db,
    version: Option<i64>,
    done: Option<tokio::sync::oneshot::Sender<Result<Arc<Snapshot>, DbError>>>,
}

/// The thread every snapshot is built on. It ends when the `Aggregates` is dropped (its
/// sender with it); a job holds the `Aggregates` only while it runs.
struct Builder {
    jobs: Mutex<std::sync::mpsc::Sender<BuildJob>>,
}

impl Builder {
    fn start() -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<BuildJob>();
        let spawned = std::thread::Builder::new()
            .name("snapshot-builder".into())
            .spawn(move || {
                for job in queue {
                    let built = job
                        .db
                        .get()
                        .and_then(|mut c| job.aggregates.build(&mut c, job.version));
                    match job.done {
                        Some(done) => {
                            let _ = done.send(built);
                        }
                        None => {
                            if let Err(e) = built {
                                tracing::warn!(error = %e, "building the rollout aggregates failed; the next request tries again");
                            }
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            // Then every job's sender fails, and `run` answers Unavailable.
            tracing::error!(error = %e, "no thread to build the rollout aggregates on");
        }
        Self {
            jobs: Mutex::new(jobs),
        }
    }

    fn send(&self, job: BuildJob) -> bool {
        self.jobs
            .lock()
            .map(|jobs| jobs.send(job).is_ok())
            .unwrap_or(false)
    }
}

impl Aggregates {
    pub fn new(refresh_every: Duration, record_keys: RecordKeys) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(None),
            directory: RwLock::new(None),
            building: Mutex::new(()),
            refreshing: AtomicBool::new(false),
            refresh_every,
            record_keys,
            builder: Builder::start(),
        })
    }

    /// Builds on the builder thread and waits for it.
    async fn build_there(
        self: &Arc<Self>,
        db: &Db,
        version: Option<i64>,
    ) -> Result<Arc<Snapshot>, DbError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = BuildJob {
            aggregates: self.clone(),
            db: db.clone(),
            version,
            done: Some(done),
        };
        if !self.builder.send(job) {
            return Err(DbError::Unavailable("the snapshot builder is gone".into()));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(DbError::Unavailable("the snapshot build stopped".into())))
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.read().ok().and_then(|g| g.clone())
    }

    /// Builds a snapshot unless one of `version` exists already (single flight: concurrent
    /// callers wait for one build). Blocking.
    fn build(
        &self,
        conn: &mut DbConnection,
        version: Option<i64>,
    ) -> Result<Arc<Snapshot>, DbError> {
        let _guard = self
            .building
            .lock()
            .map_err(|_| DbError::Unavailable("snapshot lock".into()))?;
        if let (Some(s), Some(v)) = (self.current(), version) {
            if s.version == v {
                return Ok(s);
            }
        }
        let started = Instant::now();
        let snapshot = Arc::new(Snapshot::load(conn, &self.record_keys)?);
        tracing::info!(
            version = snapshot.version,
            plan_versions = snapshot.facts.len(),
            app_events = snapshot.events,
            ms = started.elapsed().as_millis() as u64,
            "rollout aggregates built"
        );
        if let Ok(mut g) = self.current.write() {
            *g = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    /// Builds the first snapshot at start, so that the first dashboard after a start does not
    /// wait for it (seconds at national scale) or, at many times that, time out. A request
    /// arriving meanwhile waits for this build rather than starting another.
    pub fn warm(self: &Arc<Self>, db: Db) {
        let job = BuildJob {
            aggregates: self.clone(),
            db,
            version: None,
            done: None,
        };
        if !self.builder.send(job) {
            tracing::warn!(
                "building the rollout aggregates at start failed; the first request builds them"
            );
        }
    }

    /// The directory of clinics and clusters as the data is now: the current snapshot's when
    /// it is of this data version, else read alone (milliseconds), never waiting for a build.
    pub async fn directory(self: &Arc<Self>, db: &Db) -> Result<Arc<Directory>, DbError> {
        let version = db.run(data_version).await?;
        if let Some(s) = self.current().filter(|s| s.version == version) {
            return Ok(s.directory.clone());
        }
        let cached = self.directory.read().ok().and_then(|d| d.clone());
        if let Some((_, d)) = cached.filter(|(v, _)| *v == version) {
            return Ok(d);
        }
        // The version is read before the directory: a batch committed in between makes the
        // next request read it again, never miss it.
        let (version, directory) = db
            .run(|c| Ok((data_version(c)?, crate::facts::directory::directory(c)?)))
            .await?;
        let directory = Arc::new(directory);
        if let Ok(mut d) = self.directory.write() {
            *d = Some((version, directory.clone()));
        }
        Ok(directory)
    }

    /// A snapshot of the data as it is now.
    pub async fn get(self: &Arc<Self>, db: &Db) -> Result<Arc<Snapshot>, DbError> {
        let version = db.run(data_version).await?;
        if let Some(s) = self.current().filter(|s| s.version == version) {
            if s.built.elapsed() >= self.refresh_every
                && !self.refreshing.swap(true, Ordering::SeqCst)
            {
                let (me, db) = (self.clone(), db.clone());
                actix_web::rt::spawn(async move {
                    if let Err(e) = me.build_there(&db, None).await {
                        tracing::warn!(error = %e, "background refresh of the rollout aggregates failed");
                    }
                    me.refreshing.store(false, Ordering::SeqCst);
                });
            }
            return Ok(s);
        }
        self.build_there(db, Some(version)).await
    }

    /// The current snapshot's data version and age, once one is built (metrics).
    pub fn built(&self) -> Option<(i64, Duration)> {
        self.current().map(|s| (s.version, s.built.elapsed()))
    }

    /// Adds a view recorded by this process to the current snapshot.
    pub fn record_view(&self, cpr: &str, on: NaiveDate) {
        if let Some(s) = self.current() {
            s.record_view(cpr, on);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, Settings};

    /// The activity as first written: a set per group, labels for every group, sorted by
    /// them. Slow, but plainly right; the fast one must agree with it row for row.
    fn plainly(s: &Snapshot, q: &Question) -> (Vec<Group>, Group) {
        let label = |dim: Dimension, f: &Fact| -> Option<String> {
            let c = &s.clinics[f.clinic as usize];
            let d = date(f.day);
            match dim {
                Dimension::Region => Some(RegionCode::ALL[c.region as usize].as_str().into()),
                Dimension::Cluster => c.cluster.map(|i| s.cluster_names[i as usize].clone()),
                Dimension::Clinic => Some(c.ydernummer.clone()),
                Dimension::Type => Some(PlanType::ALL[f.plan_type as usize].as_str().into()),
                Dimension::Source => Some(Source::ALL[f.source as usize].as_str().into()),
                Dimension::Week => {
                    let w = d.iso_week();
                    Some(format!("{}-W{:02}", w.year(), w.week()))
                }
                Dimension::Month => Some(format!("{:04}-{:02}", d.year(), d.month())),
                Dimension::Year => Some(format!("{:04}", d.year())),
            }
        };
        type Acc = (i64, i64, HashSet<u32>, HashSet<u32>);
        let mut groups: HashMap<Vec<Option<String>>, Acc> = HashMap::new();
        let mut total: Acc = Default::default();
        for f in s.between(q.from, q.to) {
            let c = &s.clinics[f.clinic as usize];
            let region = RegionCode::ALL[c.region as usize].as_str().to_string();
            if !q.regions.is_empty() && !q.regions.contains(&region) {
                continue;
            }
            let key = q.group_by.iter().map(|d| label(*d, f)).collect();
            for acc in [groups.entry(key).or_default(), &mut total] {
                acc.0 += 1;
                acc.1 += i64::from(f.is_new);
                acc.2.insert(f.clinic);
                acc.3.insert(f.patient);
            }
        }
        let group = |key: &[Option<String>], acc: &Acc| {
            let mut g = Group {
                plans: acc.0,
                new_plans: acc.1,
                clinics: acc.2.len() as i64,
                patients: acc.3.iter().map(|&p| s.keys[p as usize]).collect(),
                ..Group::default()
            };
            for (dim, k) in q.group_by.iter().zip(key) {
                *g.slot(*dim) = k.clone();
            }
            g
        };
        let mut rows: Vec<(i64, Vec<Option<String>>, Group)> = groups
            .iter()
            .map(|(k, acc)| {
                let rank = match q.order {
                    ActivityOrder::Key => 0,
                    ActivityOrder::PlansDesc => -acc.0,
                    ActivityOrder::NewPlansDesc => -acc.1,
                    ActivityOrder::PlansAsc => acc.0,
                };
                (rank, k.clone(), group(k, acc))
            })
            .collect();
        rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        rows.truncate(q.limit as usize + 1);
        (rows.into_iter().map(|r| r.2).collect(), group(&[], &total))
    }

    /// A snapshot of a small demonstration data set, with the connection it was read from.
    fn demo_snapshot() -> (tempfile::TempDir, Db, Snapshot) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = Settings::load_from(None, Vec::new()).expect("defaults");
        settings.database.url = Secret::new(dir.path().join("a.db").display().to_string());
        let db = Db::connect(&settings.database).expect("db");
        let mut conn = db.get().expect("connection");
        crate::db::run_migrations(&mut conn).expect("migrations");
        let data = crate::demo::DemoData::new(40, 7);
        crate::demo::load(&mut conn, &data, Default::default()).expect("demo data");
        let keys = RecordKeys::new(settings.access.record_key_secret.expose()).expect("keys");
        let s = Snapshot::load(&mut conn, &keys).expect("snapshot");
        drop(conn);
        (dir, db, s)
    }

    /// Every local day from 2018 to mid-2024 that is a Monday, the last of a month or in
    /// February around the 29th: before, in and well after the data.
    fn days_to_ask() -> Vec<NaiveDate> {
        let mut d = NaiveDate::from_ymd_opt(2017, 12, 1).expect("date");
        let end = NaiveDate::from_ymd_opt(2024, 6, 1).expect("date");
        let mut out = Vec::new();
        while d <= end {
            let last_of_month = d.succ_opt().is_some_and(|n| n.month() != d.month());
            if d.weekday() == chrono::Weekday::Mon
                || last_of_month
                || (d.month() == 2 && d.day() >= 27)
                || (d.month() == 3 && d.day() <= 2)
            {
                out.push(d);
            }
            d = d.succ_opt().expect("date");
        }
        out
    }

    #[test]
    fn running_totals_agree_with_scanning_the_versions() {
        let (_dir, _db, s) = demo_snapshot();
        let mut compared = 0;
        for until in days_to_ask() {
            let after = crate::facts::metrics::year_back(until);
            let mut want: HashMap<String, ClinicWindow> = HashMap::new();
            for f in s.between(after.succ_opt().expect("date"), until) {
                let w = want
                    .entry(s.clinics[f.clinic as usize].ydernummer.clone())
                    .or_default();
                w.plans += 1;
                w.new_plans += i64::from(f.is_new);
                w.new_heart += i64::from(f.is_new && f.plan_type == PlanType::Ihd as u8);
            }
            compared += want.len();
            assert_eq!(*s.clinic_windows(after, until), want, "{until}");
            assert_eq!(*s.clinic_windows(after, until), want, "{until}, remembered");

            let from = crate::facts::metrics::first_day_needed(until);
            let mut cells: HashMap<(NaiveDate, RegionCode, PlanType, Source, bool), i64> =
                HashMap::new();
            for f in s.between(from, until) {
                let region = RegionCode::ALL[s.clinics[f.clinic as usize].region as usize];
                let key = (
                    date(f.day),
                    region,
                    PlanType::ALL[f.plan_type as usize],
                    Source::ALL[f.source as usize],
                    f.is_new,
                );
                *cells.entry(key).or_default() += 1;
            }
            let mut want: Vec<DayCount> = cells
                .into_iter()
                .map(|((day, region, plan_type, source, is_new), n)| DayCount {
                    day,
                    region,
                    plan_type,
                    source,
                    is_new,
                    n,
                })
                .collect();
            let order = |x: &DayCount| (x.day, x.region, x.plan_type, x.source, x.is_new);
            want.sort_by_key(order);
            let mut got = s.day_counts(from, until);
            got.sort_by_key(order);
            assert_eq!(got, want, "{until}");
        }
        assert!(compared > 2_000, "only {compared} clinic windows compared");
    }

    #[test]
    fn the_app_user_table_agrees_with_counting_the_views_of_each_window() {
        let (_dir, db, s) = demo_snapshot();
        let mut conn = db.get().expect("connection");
        let rows: Vec<(NaiveDate, String)> = app_events::table
            .select((app_events::local_date, app_events::cpr))
            .load(&mut conn)
            .expect("events");
        let stored: Vec<(Day, u32)> = rows
            .into_iter()
            .filter_map(|(d, cpr)| s.patients.get(&cpr).map(|&p| (day(d), p)))
            .collect();
        assert!(stored.len() > 1_000, "only {} views", stored.len());
        // Views recorded after the build: some by patients who viewed in the same window
        // already, some by patients without a stored view, one twice.
        let mut cprs: Vec<&String> = s.patients.keys().collect();
        cprs.sort();
        let on = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let live = [
            (cprs[0], on(2022, 3, 3)),
            (cprs[1], on(2022, 3, 3)),
            (cprs[1], on(2022, 4, 9)),
            (cprs[2], on(2023, 8, 1)),
            (cprs[3], on(2019, 1, 7)),
        ];
        for (cpr, d) in live {
            s.record_view(cpr, d);
        }
        let mut all = stored.clone();
        all.extend(live.iter().map(|(cpr, d)| (day(*d), s.patients[*cpr])));
        let mut compared = 0;
        for until in days_to_ask() {
            let (a, b) = (day(crate::facts::metrics::year_back(until)), day(until));
            for region in RegionCode::ALL.iter().map(Some).chain([None]) {
                let area = region.map_or(NATION, |r| region_index(*r) as usize);
                let first = |p: u32| s.first[p as usize][area];
                let with_plan: PersonSet = (0..s.first.len() as u32)
                    .filter(|&p| first(p) <= b)
                    .map(|p| s.keys[p as usize])
                    .collect();
                let active: PersonSet = all
                    .iter()
                    .filter(|(d, p)| *d > a && *d <= b && first(*p) <= b)
                    .map(|(_, p)| *p)
                    .collect::<HashSet<u32>>()
                    .into_iter()
                    .map(|p| s.keys[p as usize])
                    .collect();
                compared += active.len();
                assert_eq!(
                    s.app_users(until, region.copied()),
                    (with_plan, active),
                    "{until} {region:?}"
                );
            }
        }
        assert!(compared > 10_000, "only {compared} active users compared");
    }

    #[test]
    fn the_directory_does_not_wait_for_a_snapshot_build() {
        let (_dir, db, _) = demo_snapshot();
        let settings = Settings::load_from(None, Vec::new()).expect("defaults");
        let keys = RecordKeys::new(settings.access.record_key_secret.expose()).expect("keys");
        let aggregates = Aggregates::new(Duration::from_secs(30), keys);
        // A build under way (none finished): the directory is read alone meanwhile.
        let runtime = actix_web::rt::System::new();
        let building = aggregates.building.lock().expect("lock");
        let answered = runtime.block_on(async {
            let read = aggregates.directory(&db);
            actix_web::rt::time::timeout(Duration::from_secs(5), read).await
        });
        // Released before anything can fail, so that a read stuck behind it finishes.
        drop(building);
        let directory = answered
            .expect("answered while the build holds its lock")
            .expect("directory");
        assert_eq!(directory.clinics.len(), 40);
        assert!(aggregates.current().is_none());
    }

    fn shown(g: &Group) -> String {
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} {} {:?}",
            g.d_region,
            g.d_cluster,
            g.d_clinic,
            g.d_type,
            g.d_source,
            g.d_week,
            g.d_month,
            g.d_year,
            g.plans,
            g.new_plans,
            g.clinics,
            g.patients
        )
    }

    #[test]
    fn the_fast_activity_agrees_with_the_plain_one_row_for_row() {
        let (_dir, _db, s) = demo_snapshot();
        use Dimension::*;
        let groupings = [
            vec![Region],
            vec![Clinic],
            vec![Week, Cluster],
            vec![Cluster, Type, Source],
            vec![Year, Month, Type],
            vec![Region, Cluster, Clinic, Type, Source, Week, Month, Year],
        ];
        let orders = [
            ActivityOrder::Key,
            ActivityOrder::PlansDesc,
            ActivityOrder::NewPlansDesc,
            ActivityOrder::PlansAsc,
        ];
        let mut compared = 0;
        for group_by in groupings {
            for order in orders {
                for (limit, regions) in [(1000, vec![]), (3, vec!["1084".to_string()])] {
                    let q = Question {
                        from: NaiveDate::from_ymd_opt(2021, 3, 1).expect("date"),
                        to: NaiveDate::from_ymd_opt(2022, 12, 31).expect("date"),
                        group_by: group_by.clone(),
                        regions,
                        clusters: vec![],
                        clinics: vec![],
                        types: vec![],
                        sources: vec![],
                        order,
                        limit,
                    };
                    let (rows, total) = s.activity(&q, &Deadline::none()).expect("in time");
                    let (want_rows, want_total) = plainly(&s, &q);
                    assert!(!want_rows.is_empty(), "{q:?}");
                    let (got, want): (Vec<_>, Vec<_>) = (
                        rows.iter().map(shown).collect(),
                        want_rows.iter().map(shown).collect(),
                    );
                    assert_eq!(got, want, "{q:?}");
                    assert_eq!(shown(&total), shown(&want_total), "{q:?}");
                    compared += rows.len();
                }
            }
        }
        assert!(compared > 1000, "only {compared} rows compared");
    }
}
