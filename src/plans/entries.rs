//! The patient's own entries: stored append-only, each with the audit record of its write in
//! the same transaction, and read back only through a `Scope` (the patient and the people
//! they may act for, the clinicians of the patient's clinic, or a supplier for the plans of
//! its own source).

use super::repo::{self, PlanVersionRow};
use crate::access::{AuditRecords, Scope};
use crate::db::tables::patient_entries;
use crate::db::{DbConnection, DbError};
use crate::domain::{
    Cpr, EntryContent, EntryId, EntryKind, Invalid, MeasurementCode, PlanStatus, Source, Timestamp,
};
use crate::on_backend;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::collections::HashSet;

/// One stored entry, typed as it is read.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its place in the order entries were stored (a supplier's cursor).
    pub seq: i64,
    pub id: EntryId,
    pub source: Source,
    pub plan_id: String,
    /// Whose plan: the patient.
    pub cpr: Cpr,
    /// Who made it: the patient, or their power-of-attorney holder.
    pub author: Cpr,
    pub at: Timestamp,
    pub content: EntryContent,
    /// Whether a stored withdrawal takes it back.
    pub withdrawn: bool,
}

impl Entry {
    /// Made by the patient's power-of-attorney holder rather than the patient.
    pub fn by_delegate(&self) -> bool {
        self.author != self.cpr
    }
}

/// A row in the table's column order (`patient_entries::all_columns`).
#[derive(Queryable)]
struct EntryRow {
    seq: i64,
    id: String,
    source: String,
    plan_id: String,
    cpr: String,
    author_cpr: String,
    /// Kept for the audit's sake; the token subject is not part of what an entry says.
    _author_sub: String,
    at: i64,
    kind: String,
    goal_text: Option<String>,
    goal_set_on: Option<NaiveDate>,
    reached: Option<bool>,
    code: Option<String>,
    value: Option<f64>,
    measured_on: Option<NaiveDate>,
    note: Option<String>,
    withdraws: Option<String>,
}

impl TryFrom<EntryRow> for Entry {
    type Error = Invalid;

    fn try_from(r: EntryRow) -> Result<Self, Invalid> {
        let missing = |column: &str| Invalid::new(format!("{column} is null for a {}", r.kind));
        let content = match EntryKind::parse(&r.kind)? {
            EntryKind::GoalMark => EntryContent::GoalMark {
                goal_text: r.goal_text.clone().ok_or_else(|| missing("goal_text"))?,
                goal_set_on: r.goal_set_on.ok_or_else(|| missing("goal_set_on"))?,
                reached: r.reached.ok_or_else(|| missing("reached"))?,
            },
            EntryKind::HomeMeasurement => EntryContent::HomeMeasurement {
                code: MeasurementCode::parse(r.code.as_deref().ok_or_else(|| missing("code"))?)?,
                value: r.value.ok_or_else(|| missing("value"))?,
                measured_on: r.measured_on.ok_or_else(|| missing("measured_on"))?,
            },
            EntryKind::Note => EntryContent::Note(r.note.clone().ok_or_else(|| missing("note"))?),
            EntryKind::Withdrawal => EntryContent::Withdrawal(EntryId::parse(
                r.withdraws.as_deref().ok_or_else(|| missing("withdraws"))?,
            )?),
        };
        Ok(Self {
            seq: r.seq,
            id: EntryId::parse(&r.id)?,
            source: Source::parse(&r.source)?,
            plan_id: r.plan_id,
            cpr: Cpr::parse(&r.cpr)?,
            author: Cpr::parse(&r.author_cpr)?,
            at: Timestamp::from_micros(r.at).ok_or_else(|| Invalid::new("at out of range"))?,
            content,
            withdrawn: false,
        })
    }
}

/// The rows typed.
fn parsed(rows: Vec<EntryRow>) -> Result<Vec<Entry>, DbError> {
    rows.into_iter()
        .map(|r| {
            Entry::try_from(r).map_err(|e| {
                DbError::Query(DieselError::DeserializationError(
                    format!("stored patient entry does not parse: {e}").into(),
                ))
            })
        })
        .collect()
}

/// The rows typed, each marked withdrawn when a stored withdrawal takes it back (one more
/// statement, for the ids that could be).
fn typed(conn: &mut DbConnection, rows: Vec<EntryRow>) -> Result<Vec<Entry>, DbError> {
    let mut entries = parsed(rows)?;
    let candidates: Vec<&str> = entries
        .iter()
        .filter(|e| !matches!(e.content, EntryContent::Withdrawal(_)))
        .map(|e| e.id.as_str())
        .collect();
    if candidates.is_empty() {
        return Ok(entries);
    }
    let withdrawn: HashSet<String> = patient_entries::table
        .filter(patient_entries::withdraws.eq_any(candidates))
        .select(patient_entries::withdraws.assume_not_null())
        .load::<String>(conn)?
        .into_iter()
        .collect();
    for e in &mut entries {
        e.withdrawn = withdrawn.contains(e.id.as_str());
    }
    Ok(entries)
}

/// All of some persons' entries typed, marked withdrawn from among themselves: a withdrawal is
/// always on its entry's plan (`withdrawEntry` takes the plan from the entry), so a person's
/// entries hold every withdrawal of them, and no statement more is needed.
fn typed_whole(rows: Vec<EntryRow>) -> Result<Vec<Entry>, DbError> {
    let mut entries = parsed(rows)?;
    let withdrawn: HashSet<String> = entries
        .iter()
        .filter_map(|e| match &e.content {
            EntryContent::Withdrawal(id) => Some(id.as_str().to_string()),
            _ => None,
        })
        .collect();
    for e in &mut entries {
        e.withdrawn = withdrawn.contains(e.id.as_str());
    }
    Ok(entries)
}

fn rows_of(conn: &mut DbConnection, id: &EntryId) -> Result<Vec<EntryRow>, DbError> {
    Ok(patient_entries::table
        .filter(patient_entries::id.eq(id.as_str()))
        .select(patient_entries::all_columns)
        .load(conn)?)
}

/// The stored entry with this id, whoever's it is, marked withdrawn or not.
fn by_id(conn: &mut DbConnection, id: &EntryId) -> Result<Option<Entry>, DbError> {
    let rows = rows_of(conn, id)?;
    Ok(typed(conn, rows)?.into_iter().next())
}

/// A plan as an entry on it sees it: its current version (whose plan it is: `current.cpr`).
pub struct WritablePlan {
    pub current: PlanVersionRow,
}

impl WritablePlan {
    /// Entries go only on a plan whose current version is active.
    pub fn is_active(&self) -> bool {
        self.current.status == PlanStatus::Active
    }
}

/// The plan `source:plan_id` with its current version, if `scope` reaches its patient; else
/// None, exactly as for a plan that does not exist.
pub fn plan_in_scope(
    conn: &mut DbConnection,
    scope: &Scope,
    source: &str,
    plan_id: &str,
) -> Result<Option<WritablePlan>, DbError> {
    // Versions come in version order: the last is the current one.
    let versions = repo::plan_versions(conn, scope, source, plan_id)?;
    Ok(versions
        .and_then(|mut v| v.pop())
        .map(|current| WritablePlan { current }))
}

/// An entry by its id, if `scope` reaches its patient.
pub fn entry_in_scope(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &EntryId,
) -> Result<Option<Entry>, DbError> {
    let Some(entry) = by_id(conn, id)? else {
        return Ok(None);
    };
    let key = [entry.cpr.as_str().to_string()];
    let reached = !repo::persons_in_scope(conn, scope, &key)?.is_empty();
    Ok(reached.then_some(entry))
}

/// A new entry, checked against its plan by the caller.
pub struct NewEntry {
    pub id: EntryId,
    pub source: Source,
    pub plan_id: String,
    pub cpr: Cpr,
    pub author: Cpr,
    pub author_sub: String,
    pub at: Timestamp,
    pub content: EntryContent,
}

/// What recording an entry came to.
#[derive(Debug)]
pub enum Recorded {
    /// Stored now, with its audit record.
    Stored(Entry),
    /// The same id with the same content was stored before: that entry, nothing stored.
    Repeated(Entry),
    /// The same id was stored before with other content: nothing stored.
    Conflict,
    /// The entry it withdraws was withdrawn by another entry first: nothing stored.
    AlreadyWithdrawn,
}

/// Stores `new` and its write's audit record in one transaction, or neither. An id stored
/// before answers the stored entry when its content is the same (the app's retry after a lost
/// answer) and a conflict when it is not.
///
/// The transaction writes first: on SQLite a transaction that reads before it writes cannot
/// take the write lock once another connection has committed since its read (SQLITE_BUSY,
/// which the busy timeout does not wait out), so "already stored?" and "already withdrawn?" are
/// the constraints' answers (`id` and `withdraws` are unique), read back after.
pub fn record(
    conn: &mut DbConnection,
    new: &NewEntry,
    audit: &AuditRecords,
) -> Result<Recorded, DbError> {
    let outcome = conn.transaction::<_, DbError, _>(|c| {
        if insert(c, new)? == 0 {
            return Ok(None);
        }
        crate::access::insert_audit(c, &[audit])?;
        // Stored this moment, so withdrawn by nothing yet: no statement to ask.
        parsed(rows_of(c, &new.id)?)?
            .pop()
            .map(|stored| Some(Recorded::Stored(stored)))
            .ok_or_else(|| DbError::Unavailable("a stored entry cannot be read back".into()))
    });
    let withdrawn_before = match outcome {
        Ok(Some(stored)) => return Ok(stored),
        Ok(None) => false,
        // The other unique column: the entry it withdraws is withdrawn already (by this
        // withdrawal, sent again, or by another).
        Err(DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)))
            if matches!(new.content, EntryContent::Withdrawal(_)) =>
        {
            true
        }
        Err(e) => return Err(e),
    };
    match by_id(conn, &new.id)? {
        Some(stored) => Ok(compare(stored, new)),
        None if withdrawn_before => Ok(Recorded::AlreadyWithdrawn),
        None => Err(DbError::Unavailable(
            "an entry's id was taken, but no entry has it".into(),
        )),
    }
}

/// The same id again: the stored entry when it says the same, else a conflict.
fn compare(stored: Entry, new: &NewEntry) -> Recorded {
    let same = stored.source == new.source
        && stored.plan_id == new.plan_id
        && stored.cpr == new.cpr
        && stored.author == new.author
        && stored.content == new.content;
    if same {
        Recorded::Repeated(stored)
    } else {
        Recorded::Conflict
    }
}

/// Inserts the row unless its id is stored: the number of rows inserted.
fn insert(conn: &mut DbConnection, new: &NewEntry) -> Result<usize, DbError> {
    use patient_entries as e;
    let (mut goal_text, mut goal_set_on, mut reached) = (None, None, None);
    let (mut code, mut value, mut measured_on) = (None, None, None);
    let (mut note, mut withdraws) = (None, None);
    match &new.content {
        EntryContent::GoalMark {
            goal_text: t,
            goal_set_on: on,
            reached: r,
        } => (goal_text, goal_set_on, reached) = (Some(t.clone()), Some(*on), Some(*r)),
        EntryContent::HomeMeasurement {
            code: c,
            value: v,
            measured_on: on,
        } => (code, value, measured_on) = (Some(c.as_str().to_string()), Some(*v), Some(*on)),
        EntryContent::Note(text) => note = Some(text.clone()),
        EntryContent::Withdrawal(id) => withdraws = Some(id.as_str().to_string()),
    }
    let row = (
        e::id.eq(new.id.as_str().to_string()),
        e::source.eq(new.source.as_str().to_string()),
        e::plan_id.eq(new.plan_id.clone()),
        e::cpr.eq(new.cpr.as_str().to_string()),
        e::author_cpr.eq(new.author.as_str().to_string()),
        e::author_sub.eq(new.author_sub.clone()),
        e::at.eq(new.at.micros()),
        e::kind.eq(new.content.kind().as_str().to_string()),
        e::goal_text.eq(goal_text),
        e::goal_set_on.eq(goal_set_on),
        e::reached.eq(reached),
        e::code.eq(code),
        e::value.eq(value),
        e::measured_on.eq(measured_on),
        e::note.eq(note),
        e::withdraws.eq(withdraws),
    );
    Ok(on_backend!(conn, |c| diesel::insert_into(e::table)
        .values(row.clone())
        .on_conflict(e::id)
        .do_nothing()
        .execute(c))?)
}

/// The entries on the plans of the persons in `cprs` that `scope` reaches, in the order they
/// were stored.
pub fn entries_of(
    conn: &mut DbConnection,
    scope: &Scope,
    cprs: &[String],
) -> Result<Vec<Entry>, DbError> {
    let reach: Vec<String> = repo::persons_in_scope(conn, scope, cprs)?
        .into_iter()
        .collect();
    if reach.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<EntryRow> = patient_entries::table
        .filter(patient_entries::cpr.eq_any(&reach))
        .order(patient_entries::seq)
        .select(patient_entries::all_columns)
        .load(conn)?;
    typed_whole(rows)
}

/// A supplier's next entries after `after` (a `seq`), oldest first: only entries on plans of
/// its own source, and nothing for any other scope.
pub fn entries_since(
    conn: &mut DbConnection,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<Entry>, DbError> {
    let Scope::Supplier(source) = scope else {
        return Ok(Vec::new());
    };
    let rows: Vec<EntryRow> = patient_entries::table
        .filter(patient_entries::source.eq(source.as_str()))
        .filter(patient_entries::seq.gt(after))
        .order(patient_entries::seq)
        .limit(limit)
        .select(patient_entries::all_columns)
        .load(conn)?;
    typed(conn, rows)
}
