//! `forloeb demo`: a deterministic synthetic dataset with the national shape (DOMAIN.md; the
//! steering group's status of May 2022), written as supplier-feed lines and loaded through the
//! same import as real feeds. People, clinics and numbers are invented.

use crate::auth::{Actor, Principal};
use crate::db::{DbConnection, DbError};
use crate::domain::{Cpr, RegionCode, Source, Ydernummer};
use crate::ingest::{FeedKind, FileSummary, ImportError, ImportOptions, Importer};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Weekday};
use chrono_tz::Europe::Copenhagen;
use serde_json::json;
use std::collections::HashSet;
use std::io::{BufWriter, Write};

/// The national number of clinics.
pub const NATIONAL_CLINICS: usize = 1693;

/// Share of clinics per region (Nordjylland … Sjælland), as in the national listing.
const REGION_WEIGHTS: [(RegionCode, f64); 5] = [
    (RegionCode::Nordjylland, 0.10),
    (RegionCode::Midtjylland, 0.23),
    (RegionCode::Syddanmark, 0.22),
    (RegionCode::Hovedstaden, 0.31),
    (RegionCode::Sjaelland, 0.14),
];

const TOWNS: [&str; 12] = [
    "Aalborg",
    "Aarhus",
    "Odense",
    "København",
    "Roskilde",
    "Holbæk",
    "Næstved",
    "Vejle",
    "Esbjerg",
    "Herning",
    "Viborg",
    "Hillerød",
];
const STREETS: [&str; 10] = [
    "Algade",
    "Torvet",
    "Nørregade",
    "Søndergade",
    "Østergade",
    "Vestergade",
    "Kirkevej",
    "Havnegade",
    "Bredgade",
    "Storegade",
];
const GOALS: [&str; 8] = [
    "Gå en tur hver dag",
    "Stoppe med at ryge",
    "Tabe 5 kg",
    "Deltage i rehabilitering",
    "Tage medicinen hver morgen",
    "Spise mere grønt",
    "Måle blodtryk hjemme hver uge",
    "Træne to gange om ugen",
];

/// (type, mean listed patients per clinic, the date plans of the type became available)
const TYPES: [(&str, u64, (i32, u32, u32)); 3] = [
    ("KOL", 110, (2018, 4, 1)),
    ("DM2", 140, (2019, 3, 1)),
    ("IHD", 80, (2021, 2, 1)),
];

/// SplitMix64: small, fast and deterministic for a given seed on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Below `n`, as the small type it is used as (the value is below `n`, so it fits).
    fn below_as<T: TryFrom<u64> + TryInto<u64> + Default>(&mut self, n: T) -> T {
        let n = n.try_into().unwrap_or(u64::MAX);
        T::try_from(self.below(n)).unwrap_or_default()
    }
    /// One of `items` (the generator's word lists).
    fn pick(&mut self, items: &[&'static str]) -> &'static str {
        let i = self.below_as(items.len());
        items.get(i).copied().unwrap_or_default()
    }
    fn day_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = u64::try_from((to - from).num_days()).unwrap_or(0);
        from + Duration::days(i64::try_from(self.below(span + 1)).unwrap_or(0))
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn weekday_on_or_after(mut d: NaiveDate) -> NaiveDate {
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d += Duration::days(1);
    }
    d
}

/// A working-hours timestamp on a local date, with its real Copenhagen offset.
fn local_timestamp(rng: &mut Rng, day: NaiveDate) -> String {
    let (h, m, s) = (
        8 + rng.below_as(8u32),
        rng.below_as(60u32),
        rng.below_as(60u32),
    );
    let naive = day.and_hms_opt(h, m, s).unwrap_or_default();
    Copenhagen
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

/// The lines of every feed, generated on demand in dependency order.
pub struct DemoData {
    clinics: usize,
    seed: u64,
}

struct Clinic {
    ydernummer: String,
    activity: f64,
    source: &'static str,
}

impl DemoData {
    pub fn new(clinics: usize, seed: u64) -> Self {
        Self {
            clinics: clinics.max(1),
            seed,
        }
    }

    /// Clinic numbers and regions are drawn first, from their own stream, so that every feed
    /// agrees on them.
    fn clinics(&self) -> Vec<(String, RegionCode, String)> {
        let mut rng = Rng(self.seed ^ 0xC11);
        let mut used = HashSet::new();
        let mut out = Vec::with_capacity(self.clinics);
        for _ in 0..self.clinics {
            let r = rng.unit();
            let mut acc = 0.0;
            let mut region = RegionCode::Hovedstaden;
            for (code, w) in REGION_WEIGHTS {
                acc += w;
                if r <= acc {
                    region = code;
                    break;
                }
            }
            let y = loop {
                let y = format!("{:06}", 1 + rng.below(999_998));
                if used.insert(y.clone()) {
                    break y;
                }
            };
            out.push((y, region, String::new()));
        }
        // Clusters of 8–22 clinics within each region.
        for (code, _) in REGION_WEIGHTS {
            let mut k = 0;
            let mut members = out.iter_mut().filter(|c| c.1 == code).peekable();
            while members.peek().is_some() {
                k += 1;
                let size = 8 + rng.below_as(15usize);
                for clinic in members.by_ref().take(size) {
                    clinic.2 = format!("K{code}-{k:02}");
                }
            }
        }
        out
    }

    /// Writes one feed as NDJSON.
    pub fn write(&self, kind: FeedKind, out: &mut impl Write) -> std::io::Result<()> {
        let clinics = self.clinics();
        match kind {
            FeedKind::Clusters => {
                let mut seen = HashSet::new();
                let mut rng = Rng(self.seed ^ 0xC1);
                for (_, region, cid) in &clinics {
                    if seen.insert(cid.clone()) {
                        let name = format!("Klynge {} {}", rng.pick(&TOWNS), &cid[6..]);
                        writeln!(
                            out,
                            "{}",
                            json!({"cluster_id": cid, "name": name, "region": region.as_str()})
                        )?;
                    }
                }
            }
            FeedKind::Clinics => {
                let mut rng = Rng(self.seed ^ 0xC2);
                for (y, region, cid) in &clinics {
                    let name = format!(
                        "Lægerne {} {}, {}",
                        rng.pick(&STREETS),
                        1 + rng.below(120),
                        rng.pick(&TOWNS)
                    );
                    writeln!(
                        out,
                        "{}",
                        json!({"ydernummer": y, "name": name, "region": region.as_str(), "cluster_id": cid})
                    )?;
                }
            }
            FeedKind::Milestones => {
                for (n, text, planned, reached) in MILESTONES {
                    writeln!(
                        out,
                        "{}",
                        json!({"number": n, "text": text, "planned": planned, "reached": reached})
                    )?;
                }
            }
            FeedKind::Patients | FeedKind::Plans | FeedKind::AppEvents => {
                self.write_people(kind, &clinics, out)?;
            }
            FeedKind::Delegations => self.write_delegations(&clinics, out)?,
        }
        Ok(())
    }

    /// Powers of attorney between the demo's patients (about one in a hundred grants one, often
    /// to another patient with plans of their own): current ones, and of each kind that does
    /// not hold today: ended, revoked, and starting later. From a stream of their own, so that
    /// the other feeds stay what they were.
    fn write_delegations(
        &self,
        clinics: &[(String, RegionCode, String)],
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let mut patients = Vec::new();
        self.write_people(FeedKind::Patients, clinics, &mut patients)?;
        let cprs: Vec<String> = patients
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
            .filter_map(|v| v.get("cpr")?.as_str().map(str::to_string))
            .collect();
        if cprs.len() < 2 {
            return Ok(());
        }
        let mut rng = Rng(self.seed ^ 0xDE1E);
        for (i, grantor) in cprs.iter().enumerate().step_by(97) {
            let delegate = loop {
                let d = cprs.get(rng.below_as(cprs.len())).unwrap_or(grantor);
                if d != grantor {
                    break d;
                }
            };
            // (valid_from, valid_to, revoked_on): mostly current; then ended, revoked, and
            // one that starts in 2030.
            let (from, to, revoked) = match i / 97 % 10 {
                0..=6 => ("2021-06-01", None, None),
                7 => ("2019-01-01", Some("2021-01-01"), None),
                8 => ("2020-03-01", None, Some("2022-02-01")),
                _ => ("2030-01-01", None, None),
            };
            let line = json!({"grantor": grantor, "delegate": delegate, "scope": "forloebsplaner",
                "valid_from": from, "valid_to": to, "revoked_on": revoked});
            writeln!(out, "{line}")?;
        }
        Ok(())
    }

    /// Patients, their plans and their app use come from one stream so that they agree; each
    /// call replays it and writes only the lines of `kind`.
    fn write_people(
        &self,
        kind: FeedKind,
        clinics: &[(String, RegionCode, String)],
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let mut rng = Rng(self.seed ^ 0xDA7A);
        let (start, end, app_from) = (date(2018, 1, 1), date(2022, 12, 31), date(2019, 6, 1));
        let mut used = HashSet::new();
        let clinic_params: Vec<Clinic> = clinics
            .iter()
            .map(|(y, _, _)| {
                // About a quarter of clinics make no plans; the rest vary widely.
                let activity = if rng.unit() < 0.23 {
                    0.0
                } else {
                    (0.06 + 1.25 * rng.unit() * rng.unit()).min(1.0)
                };
                let source = if rng.unit() < 0.8 { "PLSP" } else { "KIAP" };
                Clinic {
                    ydernummer: y.clone(),
                    activity,
                    source,
                }
            })
            .collect();
        for c in &clinic_params {
            for (ptype, mean, (ay, am, ad)) in TYPES {
                let n = mean / 2 + rng.below(mean + 1);
                for _ in 0..n {
                    let cpr = loop {
                        let born = rng.day_between(date(1925, 1, 1), date(1990, 12, 31));
                        let yy = born.year() % 100;
                        let seventh = if born.year() >= 1937 && rng.unit() < 0.2 && yy > 36 {
                            4
                        } else {
                            rng.below(4)
                        };
                        let cpr = format!(
                            "{}{:02}{}{:03}",
                            born.format("%d%m"),
                            yy,
                            seventh,
                            rng.below(1000)
                        );
                        if used.insert(cpr.clone()) {
                            break cpr;
                        }
                    };
                    let since = rng.day_between(date(2000, 1, 1), end);
                    if kind == FeedKind::Patients {
                        let line = json!({"cpr": cpr, "ydernummer": c.ydernummer, "diagnoses": [{"type": ptype, "since": since.to_string()}], "listed": true});
                        writeln!(out, "{line}")?;
                    }
                    if c.activity <= 0.0 || rng.unit() > c.activity {
                        continue;
                    }
                    let mut day =
                        weekday_on_or_after(rng.day_between(date(ay, am, ad).max(start), end));
                    let plan_id = format!("{}-{:010x}", c.source, rng.next() & 0xFF_FFFF_FFFF);
                    let mut version = 1;
                    while day <= end {
                        let created_at = local_timestamp(&mut rng, day);
                        let goals: Vec<_> = (0..1 + rng.below(3))
                            .map(|_| json!({"text": rng.pick(&GOALS), "set_on": day.to_string(), "achieved": rng.unit() < 0.3}))
                            .collect();
                        let measurements = measurements(&mut rng, ptype, day);
                        if kind == FeedKind::Plans {
                            let line = json!({"source": c.source, "plan_id": plan_id, "version": version, "cpr": cpr,
                                "ydernummer": c.ydernummer, "type": ptype, "created_at": created_at, "status": "active",
                                "next_control": (day + Duration::days(365)).to_string(), "goals": goals, "measurements": measurements});
                            writeln!(out, "{line}")?;
                        }
                        if day >= app_from && rng.unit() < 0.8 {
                            for _ in 0..rng.below(7) {
                                let viewed = rng.day_between(day, end);
                                let at = local_timestamp(&mut rng, viewed);
                                if kind == FeedKind::AppEvents {
                                    let line = json!({"cpr": cpr, "plan_id": plan_id, "source": c.source, "at": at, "event": "plan_viewed"});
                                    writeln!(out, "{line}")?;
                                }
                            }
                        }
                        if rng.unit() > 0.7 {
                            break;
                        }
                        day =
                            weekday_on_or_after(day + Duration::days(300 + rng.below(131) as i64));
                        version += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

fn measurements(rng: &mut Rng, ptype: &str, day: NaiveDate) -> Vec<serde_json::Value> {
    let codes: &[(&str, f64, f64, bool)] = match ptype {
        "KOL" => &[
            ("FEV1_PCT", 25.0, 95.0, false),
            ("MRC", 1.0, 5.0, true),
            ("SMOKER", 0.0, 1.0, true),
        ],
        "DM2" => &[
            ("HBA1C", 38.0, 95.0, true),
            ("BP_SYS", 110.0, 175.0, true),
            ("LDL", 1.0, 4.5, false),
        ],
        _ => &[
            ("BP_SYS", 105.0, 170.0, true),
            ("LDL", 0.9, 4.0, false),
            ("WEIGHT", 50.0, 140.0, false),
        ],
    };
    let mut out = Vec::with_capacity(codes.len());
    for (code, lo, hi, whole) in codes {
        if rng.unit() >= 0.85 {
            continue;
        }
        let v = lo + rng.unit() * (hi - lo);
        let v = if *whole {
            v.round()
        } else {
            (v * 10.0).round() / 10.0
        };
        let on = day - Duration::days(rng.below(30) as i64);
        out.push(json!({"code": code, "value": v, "measured_on": on.to_string()}));
    }
    out
}

const MILESTONES: [(u32, &str, &str, Option<&str>); 9] = [
    (
        1,
        "Hjerteforløbsplan released til drift i alle lægepraksissystemer",
        "2021-01-01",
        Some("2021-02-01"),
    ),
    (
        2,
        "Automatisk aktivering af forløbsplaner idriftsat",
        "2021-06-30",
        Some("2021-06-30"),
    ),
    (
        3,
        "Ny visning via Min Læge App released",
        "2021-11-01",
        None,
    ),
    (
        4,
        "Udbredelsesmål for OK18 er nået",
        "2021-12-31",
        Some("2021-12-31"),
    ),
    (
        5,
        "70% af klinikker har udarbejdet min 5 nye planer",
        "2022-06-30",
        None,
    ),
    (
        6,
        "85% af klinikker har udarbejdet min 5 nye planer",
        "2022-12-31",
        None,
    ),
    (
        7,
        "Der er udarbejdet 120.000 planer i 2022",
        "2022-12-31",
        None,
    ),
    (
        8,
        "50% af klinikker er aktive med hjerteplaner",
        "2022-12-31",
        None,
    ),
    (
        9,
        "75% af patienter med digitale planer er aktive brugere af forløbsplanen",
        "2022-12-31",
        None,
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("cannot generate demo data: {0}")]
    Generate(std::io::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Generates every feed and loads it, streaming each through a pipe into the importer so that
/// memory stays flat at national scale. Loading the same seed again changes nothing.
pub fn load(
    conn: &mut DbConnection,
    data: &DemoData,
    options: ImportOptions,
) -> Result<Vec<FileSummary>, DemoError> {
    let mut importer = Importer::new(conn, options);
    let mut summaries = Vec::new();
    for kind in FeedKind::ORDER {
        let (reader, writer) = std::io::pipe().map_err(DemoError::Generate)?;
        let summary = std::thread::scope(|scope| {
            let producer = scope.spawn(move || {
                let mut w = BufWriter::with_capacity(1 << 20, writer);
                data.write(kind, &mut w).and_then(|()| w.flush())
            });
            let summary = importer.import_reader(
                kind,
                kind.file_name(),
                std::io::BufReader::with_capacity(1 << 20, reader),
                None,
            );
            let produced = producer
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the demo generator panicked")));
            produced.map_err(DemoError::Generate)?;
            Ok::<_, DemoError>(summary?)
        })?;
        summaries.push(summary);
    }
    Ok(summaries)
}

/// The people and places the demo's tokens are for: the first listed patient (by CPR) with a
/// plan, their clinic, its cluster and region. The examples in `schema/operations/` name
/// these (for the default `forloeb demo`), so that a copied example answers.
#[derive(Debug, Clone)]
pub struct Cast {
    pub patient: Cpr,
    pub birth_date: NaiveDate,
    pub clinic: Ydernummer,
    pub clinic_name: String,
    pub cluster: Option<String>,
    pub region: RegionCode,
}

impl Cast {
    pub fn find(conn: &mut DbConnection) -> Result<Option<Self>, DbError> {
        use crate::db::tables::{clinics, patients, plan_versions};
        use diesel::prelude::*;
        type Row = (String, NaiveDate, String, String, Option<String>, String);
        let found: Option<Row> = patients::table
            .inner_join(clinics::table)
            .filter(patients::listed.eq(true))
            .filter(diesel::dsl::exists(
                plan_versions::table.filter(plan_versions::cpr.eq(patients::cpr)),
            ))
            .order(patients::cpr)
            .select((
                patients::cpr,
                patients::birth_date,
                patients::ydernummer,
                clinics::name,
                clinics::cluster_id,
                clinics::region_code,
            ))
            .first(conn)
            .optional()?;
        // The rows were parsed on the way in; one that does not parse now is no cast.
        Ok(
            found.and_then(|(cpr, birth_date, y, clinic_name, cluster, region)| {
                Some(Self {
                    patient: Cpr::parse(&cpr).ok()?,
                    birth_date,
                    clinic: Ydernummer::parse(&y).ok()?,
                    clinic_name,
                    cluster,
                    region: RegionCode::parse(&region).ok()?,
                })
            }),
        )
    }

    /// A person who holds a power of attorney today for someone with a plan: the demo's
    /// delegate, to show delegated access (the first such delegate by CPR number).
    pub fn delegate(conn: &mut DbConnection) -> Result<Option<Cpr>, DbError> {
        use crate::db::tables::{delegations, plan_versions};
        use diesel::prelude::*;
        let delegates: Vec<String> = delegations::table
            .filter(diesel::dsl::exists(
                plan_versions::table.filter(plan_versions::cpr.eq(delegations::grantor)),
            ))
            .select(delegations::delegate)
            .distinct()
            .order(delegations::delegate)
            .load(conn)?;
        let today = crate::access::delegation::today();
        for d in delegates {
            let Ok(delegate) = Cpr::parse(&d) else {
                continue;
            };
            if !crate::access::delegation::holding(conn, &delegate, None, today)?.is_empty() {
                return Ok(Some(delegate));
            }
        }
        Ok(None)
    }

    /// One principal per role, in the order `demo` prints them; patient, clinician and region
    /// only when the data has a cast.
    pub fn principals(cast: Option<&Self>) -> Vec<Principal> {
        let mut out = Vec::new();
        if let Some(c) = cast {
            out.push(Principal::new(
                "demo-patient",
                Actor::Patient(c.patient.clone()),
            ));
            out.push(Principal::new(
                "demo-clinician",
                Actor::Clinician(c.clinic.clone()),
            ));
            out.push(Principal::new("demo-region", Actor::Region(c.region)));
        }
        out.push(Principal::new("demo-ministry", Actor::Ministry));
        out.push(Principal::new(
            "demo-supplier",
            Actor::Supplier(Source::Plsp),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(kind: FeedKind, clinics: usize, seed: u64) -> String {
        let mut out = Vec::new();
        DemoData::new(clinics, seed)
            .write(kind, &mut out)
            .expect("write");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn the_same_seed_gives_the_same_lines() {
        for kind in FeedKind::ORDER {
            assert_eq!(feed(kind, 12, 7), feed(kind, 12, 7), "{kind:?}");
        }
        assert_ne!(feed(FeedKind::Plans, 12, 7), feed(FeedKind::Plans, 12, 8));
    }

    #[test]
    fn every_line_is_valid_feed_json() {
        for kind in FeedKind::ORDER {
            for line in feed(kind, 12, 3).lines() {
                let v: serde_json::Value = serde_json::from_str(line).expect("json");
                assert!(v.is_object(), "{kind:?}: {line}");
            }
        }
    }
}
