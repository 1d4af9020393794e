//! Applying a batch of parsed records to the database: reference checks, no-ops, conflicts,
//! upserts and the new/maintained classification. Each function runs inside the caller's
//! transaction, so a batch is stored whole or not at all.

use super::parse::{
    AppEventRecord, ClinicRecord, ClusterRecord, MilestoneRecord, PatientRecord, PlanRecord,
    Rejection,
};
use super::rows::{
    ClinicRow, ClusterRow, DelegationRow, EventRow, MilestoneRow, PatientRow, PlanRow,
};
use crate::db::tables::{
    app_events, clinics, clusters, delegations, milestones, patients, plan_versions,
};
use crate::db::{DbConnection, DbError};
use crate::domain::PlanType;
use crate::domain::{Cpr, Delegation, Sex};
use crate::on_backend;
use diesel::prelude::*;
use diesel::upsert::excluded;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// What became of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Loaded,
    Unchanged,
    Rejected(Rejection),
}

/// Keys per `IN (…)` / `= ANY(…)` lookup. SQLite takes long lists well (10,000 imported
/// 9 % faster than 1,000 at national scale). PostgreSQL gets 1,000 so that its planner keeps to
/// the index.
fn keys_per_lookup(conn: &DbConnection) -> usize {
    match conn {
        DbConnection::Sqlite(_) => 10_000,
        DbConnection::Postgres(_) => 1_000,
    }
}

/// Runs a statement over the distinct `keys` in chunks of `IN (…)` lists and concatenates the
/// rows. Batches repeat keys heavily (50,000 plan lines name about 1,700 clinics; a patient's
/// app events all name the same CPR), so each key is sent once.
fn lookup<K: Ord + Clone, T>(
    per_lookup: usize,
    keys: &[K],
    mut query: impl FnMut(&[K]) -> Result<Vec<T>, diesel::result::Error>,
) -> Result<Vec<T>, DbError> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::new();
    for chunk in keys.chunks(per_lookup) {
        out.extend(query(chunk)?);
    }
    Ok(out)
}

/// Inserts `rows` into `table` in the order of `key` (the table's primary key): neighbouring
/// inserts then land on the same pages of the tree instead of all over it. On SQLite,
/// in-process, one cached prepared statement per row (at national scale 32.1 s against 33.6 s
/// with 500-row statements); on PostgreSQL one UNNEST statement per batch (`pg_bulk`).
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr, $pg_bulk:path, |$row:ident| $key:expr) => {
        $rows.sort_unstable_by(|a, b| {
            let ka = {
                let $row = a;
                $key
            };
            let $row = b;
            ka.cmp(&$key)
        });
        match $conn {
            DbConnection::Sqlite(c) => {
                for row in $rows.iter() {
                    diesel::insert_into($table).values(row).execute(c)?;
                }
            }
            DbConnection::Postgres(c) => $pg_bulk(c, &$rows)?,
        }
    };
}

/// Walks the records in order against the current state of their keys: a record equal to the
/// state is unchanged, any other replaces it. A record that a later one of the same batch
/// replaces is counted unchanged and never compared: only the batch's last word on a key is
/// written, so a file that says "granted" and then "revoked" for one key, imported again,
/// changes nothing (rather than writing both and reporting two lines loaded). Returns each
/// record's outcome and the final state of every key that changed, which is what must be
/// written.
fn settle<K: Eq + Hash + Clone, S: PartialEq>(
    mut state: HashMap<K, S>,
    records: impl IntoIterator<Item = Result<(K, S), Rejection>>,
) -> (Vec<Outcome>, HashMap<K, S>) {
    let records: Vec<Result<(K, S), Rejection>> = records.into_iter().collect();
    let mut last: HashMap<&K, usize> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Ok((key, _)) = r {
            last.insert(key, i);
        }
    }
    let last: HashSet<usize> = last.into_values().collect();
    let mut outcomes = Vec::with_capacity(records.len());
    let mut changed = HashSet::new();
    for (i, r) in records.into_iter().enumerate() {
        match r {
            Err(rejection) => outcomes.push(Outcome::Rejected(rejection)),
            Ok(_) if !last.contains(&i) => outcomes.push(Outcome::Unchanged),
            Ok((key, new)) => {
                if state.get(&key) == Some(&new) {
                    outcomes.push(Outcome::Unchanged);
                } else {
                    changed.insert(key.clone());
                    state.insert(key, new);
                    outcomes.push(Outcome::Loaded);
                }
            }
        }
    }
    state.retain(|k, _| changed.contains(k));
    (outcomes, state)
}

fn known_clinics(conn: &mut DbConnection, ids: Vec<&str>) -> Result<HashSet<String>, DbError> {
    let found: Vec<String> = lookup(keys_per_lookup(conn), &ids, |keys| {
        on_backend!(&mut *conn, |c| clinics::table
            .filter(clinics::ydernummer.eq_any(keys))
            .select(clinics::ydernummer)
            .load(c))
    })?;
    Ok(found.into_iter().collect())
}

fn unknown_clinic() -> Rejection {
    Rejection::new("ydernummer", "unknown clinic (load clinics.ndjson first)")
}

/// A feed whose lines upsert one row each by key (clusters, clinics, milestones): the stored
/// rows of a batch's keys are read, each record settles against them (`settle`), and the rows
/// that changed are upserted one by one (these tables are small, and later feeds reference
/// them).
trait UpsertFeed {
    type Record;
    type Key: Eq + Hash + Ord + Clone;
    type Row: PartialEq;
    /// The row a record asks for, or why it is refused (its references checked here).
    fn row(&self, record: &Self::Record) -> Result<Self::Row, Rejection>;
    fn key(row: &Self::Row) -> Self::Key;
    /// The stored rows of these keys.
    fn stored(conn: &mut DbConnection, keys: &[Self::Key]) -> QueryResult<Vec<Self::Row>>;
    /// Inserts the row, or replaces the stored row of its key.
    fn upsert(conn: &mut DbConnection, row: &Self::Row) -> QueryResult<usize>;
}

fn upsert_feed<F: UpsertFeed>(
    conn: &mut DbConnection,
    feed: &F,
    recs: &[F::Record],
) -> Result<Vec<Outcome>, DbError> {
    let asked: Vec<Result<F::Row, Rejection>> = recs.iter().map(|r| feed.row(r)).collect();
    let keys: Vec<F::Key> = asked.iter().flatten().map(F::key).collect();
    let stored = lookup(keys_per_lookup(conn), &keys, |chunk| {
        F::stored(&mut *conn, chunk)
    })?;
    let state = stored.into_iter().map(|row| (F::key(&row), row)).collect();
    let (outcomes, changed) = settle(
        state,
        asked.into_iter().map(|r| r.map(|row| (F::key(&row), row))),
    );
    for row in changed.values() {
        F::upsert(conn, row)?;
    }
    Ok(outcomes)
}

/// The types, key, lookup and upsert of an `UpsertFeed` from `$record`s to `$row`s in
/// `$table`, keyed by the column `$key`; an upsert replaces the `$column`s.
macro_rules! by_key {
    ($record:ty => $row:ty, $table:ident, $key:ident: $key_type:ty, [$($column:ident),+]) => {
        type Record = $record;
        type Key = $key_type;
        type Row = $row;

        fn key(row: &$row) -> Self::Key {
            Clone::clone(&row.$key)
        }
        fn stored(conn: &mut DbConnection, keys: &[Self::Key]) -> QueryResult<Vec<$row>> {
            on_backend!(conn, |c| $table::table
                .filter($table::$key.eq_any(keys))
                .select(<$row>::as_select())
                .load(c))
        }
        fn upsert(conn: &mut DbConnection, row: &$row) -> QueryResult<usize> {
            on_backend!(conn, |c| diesel::insert_into($table::table)
                .values(row)
                .on_conflict($table::$key)
                .do_update()
                .set(($($table::$column.eq(excluded($table::$column)),)+))
                .execute(c))
        }
    };
}

struct Clusters;

impl UpsertFeed for Clusters {
    by_key!(ClusterRecord => ClusterRow, clusters, cluster_id: String, [name, region_code]);

    fn row(&self, r: &ClusterRecord) -> Result<ClusterRow, Rejection> {
        Ok(ClusterRow {
            cluster_id: r.cluster_id.clone(),
            name: r.name.clone(),
            region_code: r.region.as_str().to_string(),
        })
    }
}

pub fn clusters(conn: &mut DbConnection, recs: &[ClusterRecord]) -> Result<Vec<Outcome>, DbError> {
    upsert_feed(conn, &Clusters, recs)
}

/// Clinics, checked against the clusters already stored: a clinic's cluster must exist and be
/// of the clinic's region.
struct Clinics {
    cluster_regions: HashMap<String, String>,
}

impl UpsertFeed for Clinics {
    by_key!(
        ClinicRecord => ClinicRow,
        clinics,
        ydernummer: String,
        [name, region_code, cluster_id, opened_on, closed_on]
    );

    fn row(&self, r: &ClinicRecord) -> Result<ClinicRow, Rejection> {
        let region = r.region.as_str();
        if let Some(cid) = &r.cluster_id {
            if self.cluster_regions.get(cid).map(String::as_str) != Some(region) {
                return Err(Rejection::new(
                    "cluster_id",
                    "unknown cluster, or a cluster of another region",
                ));
            }
        }
        Ok(ClinicRow {
            ydernummer: r.ydernummer.to_string(),
            name: r.name.clone(),
            region_code: region.to_string(),
            cluster_id: r.cluster_id.clone(),
            opened_on: r.opened_on,
            closed_on: r.closed_on,
        })
    }
}

pub fn clinics(conn: &mut DbConnection, recs: &[ClinicRecord]) -> Result<Vec<Outcome>, DbError> {
    let cluster_regions = on_backend!(conn, |c| clusters::table
        .select((clusters::cluster_id, clusters::region_code))
        .load::<(String, String)>(c))?
    .into_iter()
    .collect();
    upsert_feed(conn, &Clinics { cluster_regions }, recs)
}

/// A patient's stored listing, compared as a whole (the diagnoses in their canonical JSON,
/// and the plan types they name: KOL, DM2, IHD).
#[derive(PartialEq, Queryable)]
struct Listing {
    ydernummer: String,
    listed: bool,
    diagnoses: String,
    types: (bool, bool, bool),
}

pub fn patients(conn: &mut DbConnection, recs: &[PatientRecord]) -> Result<Vec<Outcome>, DbError> {
    let clinics = known_clinics(conn, recs.iter().map(|r| r.ydernummer.as_str()).collect())?;
    let cprs: Vec<&str> = recs.iter().map(|r| r.cpr.as_str()).collect();
    /// A stored listing, its CPR number typed as it is read: one that does not parse fails
    /// the batch rather than being skipped (and then written again).
    #[derive(Queryable)]
    struct Stored {
        #[diesel(deserialize_as = String)]
        cpr: Cpr,
        listing: Listing,
    }
    let stored: Vec<Stored> = lookup(keys_per_lookup(conn), &cprs, |keys| {
        on_backend!(&mut *conn, |c| patients::table
            .filter(patients::cpr.eq_any(keys))
            .select((
                patients::cpr,
                (
                    patients::ydernummer,
                    patients::listed,
                    patients::diagnoses,
                    (patients::has_kol, patients::has_dm2, patients::has_ihd),
                ),
            ))
            .load(c))
    })?;
    let state: HashMap<Cpr, Listing> = stored.into_iter().map(|s| (s.cpr, s.listing)).collect();
    let was_stored: HashSet<Cpr> = state.keys().cloned().collect();
    let (outcomes, changed) = settle(
        state,
        recs.iter().map(|r| {
            if !clinics.contains(&r.ydernummer) {
                return Err(unknown_clinic());
            }
            let has = |t| r.diagnoses.iter().any(|d| d.plan_type == t);
            let listing = Listing {
                ydernummer: r.ydernummer.clone(),
                listed: r.listed,
                diagnoses: r.diagnoses_json(),
                types: (has(PlanType::Kol), has(PlanType::Dm2), has(PlanType::Ihd)),
            };
            Ok((r.cpr.clone(), listing))
        }),
    );
    if changed.is_empty() {
        return Ok(outcomes);
    }
    // Replaced whole: nothing references patients. Only keys that had a row are deleted (a
    // first import would otherwise probe the table once more for every new patient).
    let dirty: Vec<&str> = changed
        .keys()
        .filter(|cpr| was_stored.contains(*cpr))
        .map(Cpr::as_str)
        .collect();
    lookup(keys_per_lookup(conn), &dirty, |keys| {
        on_backend!(&mut *conn, |c| diesel::delete(
            patients::table.filter(patients::cpr.eq_any(keys))
        )
        .execute(c))
        .map(|_| Vec::<()>::new())
    })?;
    let mut rows: Vec<PatientRow> = changed
        .iter()
        .map(|(cpr, l)| PatientRow {
            cpr: cpr.as_str().to_string(),
            ydernummer: l.ydernummer.clone(),
            listed: l.listed,
            birth_date: cpr.birth_date(),
            sex: match cpr.sex() {
                Sex::Female => "F",
                Sex::Male => "M",
            }
            .to_string(),
            has_kol: l.types.0,
            has_dm2: l.types.1,
            has_ihd: l.types.2,
            diagnoses: l.diagnoses.clone(),
        })
        .collect();
    insert_all!(conn, patients::table, rows, super::pg_bulk::patients, |r| r
        .cpr
        .as_str());
    Ok(outcomes)
}

/// The order that decides which version of a patient's plans of one type is the new one.
type FirstKey = (i64, String, String, i32);

pub fn plans(conn: &mut DbConnection, recs: &[PlanRecord]) -> Result<Vec<Outcome>, DbError> {
    let clinics = known_clinics(conn, recs.iter().map(|r| r.ydernummer.as_str()).collect())?;
    let plan_ids: Vec<&str> = recs.iter().map(|r| r.plan_id.as_str()).collect();
    let stored: Vec<(String, String, i32, String)> =
        lookup(keys_per_lookup(conn), &plan_ids, |keys| {
            on_backend!(&mut *conn, |c| plan_versions::table
                .filter(plan_versions::plan_id.eq_any(keys))
                .select((
                    plan_versions::source,
                    plan_versions::plan_id,
                    plan_versions::version,
                    plan_versions::content_hash,
                ))
                .load(c))
        })?;
    let mut known: HashMap<(String, String, i32), String> = stored
        .into_iter()
        .map(|(s, p, v, h)| ((s, p, v), h))
        .collect();

    let mut outcomes = Vec::with_capacity(recs.len());
    let mut fresh: Vec<&PlanRecord> = Vec::new();
    for r in recs {
        if !clinics.contains(&r.ydernummer) {
            outcomes.push(Outcome::Rejected(unknown_clinic()));
            continue;
        }
        let hash = &r.stored.content_hash;
        let key = (r.source.as_str().to_string(), r.plan_id.clone(), r.version);
        match known.get(&key) {
            Some(h) if h == hash => outcomes.push(Outcome::Unchanged),
            Some(_) => outcomes.push(Outcome::Rejected(Rejection::new(
                "plan_id",
                "conflict: this source, plan_id and version is stored with other content; \
                 the stored version is kept",
            ))),
            None => {
                known.insert(key, hash.clone());
                fresh.push(r);
                outcomes.push(Outcome::Loaded);
            }
        }
    }
    if fresh.is_empty() {
        return Ok(outcomes);
    }

    // New or maintained: the current first version of each (cpr, type) the batch touches,
    // challenged by the batch's versions. A late older version takes over as the new one.
    let cprs: Vec<&str> = fresh.iter().map(|r| r.cpr.as_str()).collect();
    let firsts: Vec<(String, String, i64, String, String, i32)> =
        lookup(keys_per_lookup(conn), &cprs, |keys| {
            on_backend!(&mut *conn, |c| plan_versions::table
                .filter(plan_versions::cpr.eq_any(keys))
                .filter(plan_versions::is_new.eq(true))
                .select((
                    plan_versions::cpr,
                    plan_versions::plan_type,
                    plan_versions::created_at,
                    plan_versions::source,
                    plan_versions::plan_id,
                    plan_versions::version,
                ))
                .load(c))
        })?;
    let mut first: HashMap<(String, String), (FirstKey, bool)> = firsts
        .into_iter()
        .map(|(cpr, t, at, s, p, v)| ((cpr, t), ((at, s, p, v), true)))
        .collect();
    let mut demoted: Vec<FirstKey> = Vec::new();
    for r in &fresh {
        let pair = (r.cpr.as_str().to_string(), r.plan_type.as_str().to_string());
        let candidate: FirstKey = (
            r.created_at.micros(),
            r.source.as_str().to_string(),
            r.plan_id.clone(),
            r.version,
        );
        match first.get(&pair) {
            Some((current, _)) if *current <= candidate => {}
            Some((current, stored)) => {
                if *stored {
                    demoted.push(current.clone());
                }
                first.insert(pair, (candidate, false));
            }
            None => {
                first.insert(pair, (candidate, false));
            }
        }
    }
    for (_, source, plan_id, version) in &demoted {
        on_backend!(conn, |c| diesel::update(plan_versions::table.find((
            plan_id.as_str(),
            source.as_str(),
            *version
        )))
        .set(plan_versions::is_new.eq(false))
        .execute(c))?;
    }

    let mut rows: Vec<PlanRow> = fresh
        .iter()
        .map(|r| {
            let source = r.source.as_str();
            let pair = (r.cpr.as_str().to_string(), r.plan_type.as_str().to_string());
            let is_new = first.get(&pair).is_some_and(|((at, s, p, v), _)| {
                *at == r.created_at.micros() && s == source && *p == r.plan_id && *v == r.version
            });
            PlanRow {
                source: source.to_string(),
                plan_id: r.plan_id.clone(),
                version: r.version,
                cpr: r.cpr.as_str().to_string(),
                ydernummer: r.ydernummer.clone(),
                plan_type: r.plan_type.as_str().to_string(),
                created_at: r.created_at.micros(),
                local_date: r.created_at.local_date(),
                status: r.status.as_str().to_string(),
                next_control: r.next_control,
                is_new,
                content_hash: r.stored.content_hash.clone(),
                goals: r.stored.goals.clone(),
                measurements: r.stored.measurements.clone(),
            }
        })
        .collect();
    insert_all!(
        conn,
        plan_versions::table,
        rows,
        super::pg_bulk::plan_versions,
        |r| (r.plan_id.as_str(), r.source.as_str(), r.version)
    );
    Ok(outcomes)
}

pub fn app_events(
    conn: &mut DbConnection,
    recs: &[AppEventRecord],
) -> Result<Vec<Outcome>, DbError> {
    let plan_ids: Vec<&str> = recs.iter().map(|r| r.plan_id.as_str()).collect();
    let owners: HashMap<(String, String), String> =
        lookup(keys_per_lookup(conn), &plan_ids, |keys| {
            on_backend!(&mut *conn, |c| plan_versions::table
                .filter(plan_versions::plan_id.eq_any(keys))
                .select((
                    plan_versions::source,
                    plan_versions::plan_id,
                    plan_versions::cpr
                ))
                .distinct()
                .load::<(String, String, String)>(c))
        })?
        .into_iter()
        .map(|(s, p, cpr)| ((s, p), cpr))
        .collect();
    // By CPR, the key's first column: app_events has no index on plan_id alone.
    let cprs: Vec<&str> = recs.iter().map(|r| r.cpr.as_str()).collect();
    let stored: Vec<(String, String, String, i64)> =
        lookup(keys_per_lookup(conn), &cprs, |keys| {
            on_backend!(&mut *conn, |c| app_events::table
                .filter(app_events::cpr.eq_any(keys))
                .select((
                    app_events::cpr,
                    app_events::source,
                    app_events::plan_id,
                    app_events::at
                ))
                .load(c))
        })?;
    let mut seen: HashSet<(String, String, String, i64)> = stored.into_iter().collect();
    let mut outcomes = Vec::with_capacity(recs.len());
    let mut rows = Vec::new();
    for r in recs {
        let owner = owners.get(&(r.source.clone(), r.plan_id.clone()));
        if owner.map(String::as_str) != Some(r.cpr.as_str()) {
            outcomes.push(Outcome::Rejected(Rejection::new(
                "plan_id",
                "unknown plan for this patient (load plans.ndjson first)",
            )));
            continue;
        }
        let key = (
            r.cpr.as_str().to_string(),
            r.source.clone(),
            r.plan_id.clone(),
            r.at.micros(),
        );
        if seen.insert(key) {
            rows.push(EventRow {
                cpr: r.cpr.as_str().to_string(),
                source: r.source.clone(),
                plan_id: r.plan_id.clone(),
                at: r.at.micros(),
                event: super::parse::PLAN_VIEWED.to_string(),
                local_date: r.at.local_date(),
            });
            outcomes.push(Outcome::Loaded);
        } else {
            outcomes.push(Outcome::Unchanged);
        }
    }
    insert_all!(
        conn,
        app_events::table,
        rows,
        super::pg_bulk::app_events,
        |r| (r.cpr.as_str(), r.source.as_str(), r.plan_id.as_str(), r.at)
    );
    Ok(outcomes)
}

struct Milestones;

impl UpsertFeed for Milestones {
    by_key!(MilestoneRecord => MilestoneRow, milestones, number: i32, [text, planned, reached]);

    fn row(&self, r: &MilestoneRecord) -> Result<MilestoneRow, Rejection> {
        Ok(MilestoneRow {
            number: r.number,
            text: r.text.clone(),
            planned: r.planned,
            reached: r.reached,
        })
    }
}

pub fn milestones(
    conn: &mut DbConnection,
    recs: &[MilestoneRecord],
) -> Result<Vec<Outcome>, DbError> {
    upsert_feed(conn, &Milestones, recs)
}

/// Delegations, keyed by (grantor, delegate): a later line for the pair replaces the row. No
/// reference to other feeds: a power of attorney may name anyone with a CPR number.
struct Delegations;

impl UpsertFeed for Delegations {
    type Record = Delegation;
    type Key = (String, String);
    type Row = DelegationRow;

    fn row(&self, d: &Delegation) -> Result<DelegationRow, Rejection> {
        Ok(DelegationRow {
            grantor: d.grantor().as_str().to_string(),
            delegate: d.delegate().as_str().to_string(),
            scope: crate::domain::delegation_scope().to_string(),
            valid_from: d.valid_from(),
            valid_to: d.valid_to(),
            revoked_on: d.revoked_on(),
        })
    }
    fn key(row: &DelegationRow) -> (String, String) {
        (row.grantor.clone(), row.delegate.clone())
    }
    fn stored(
        conn: &mut DbConnection,
        keys: &[(String, String)],
    ) -> QueryResult<Vec<DelegationRow>> {
        // By grantor in the database, by pair here (a grantor has few delegates).
        let grantors: Vec<&str> = keys.iter().map(|(g, _)| g.as_str()).collect();
        let wanted: HashSet<&(String, String)> = keys.iter().collect();
        let rows: Vec<DelegationRow> = on_backend!(conn, |c| delegations::table
            .filter(delegations::grantor.eq_any(&grantors))
            .select(DelegationRow::as_select())
            .load(c))?;
        Ok(rows
            .into_iter()
            .filter(|r| wanted.contains(&(r.grantor.clone(), r.delegate.clone())))
            .collect())
    }
    fn upsert(conn: &mut DbConnection, row: &DelegationRow) -> QueryResult<usize> {
        on_backend!(conn, |c| diesel::insert_into(delegations::table)
            .values(row)
            .on_conflict((delegations::grantor, delegations::delegate))
            .do_update()
            .set((
                delegations::valid_from.eq(excluded(delegations::valid_from)),
                delegations::valid_to.eq(excluded(delegations::valid_to)),
                delegations::revoked_on.eq(excluded(delegations::revoked_on)),
            ))
            .execute(c))
    }
}

pub fn delegations(conn: &mut DbConnection, recs: &[Delegation]) -> Result<Vec<Outcome>, DbError> {
    upsert_feed(conn, &Delegations, recs)
}
