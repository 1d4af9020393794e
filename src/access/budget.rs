//! The bounded question space (DOMAIN.md): each user's distinct controlled cells per day count
//! against a budget, and questions are kept in an append-only log the operator can read.
//!
//! Why a budget at all: the cell-key method answers the same set of persons the same way, so
//! repeating a question teaches nothing; but averaging the differences of many *different*
//! pairs of sets around one hidden set does pin it down. With the published table an attacker
//! needs 42 distinct cells (21 pairs) before their 95 % interval is within ±1
//! (`disclosure::tests::averaging_needs_more_cells_than_a_few_dozen`); the default budget is
//! below that.
//!
//! What is charged: the controlled cells answered to documents of the user's own (ad hoc). The
//! trusted documents of `schema/operations/` are reviewed shapes whose variables only move
//! month-aligned dates and pick clinics, clusters or regions: they cannot be steered into
//! many pairs around one set, so their cells are free and dashboards run all day. Every ad-hoc
//! question of a region or ministry user is logged, answered or refused.

use crate::auth::{Principal, Role};
use crate::config::RoleAmounts;
use crate::db::sql::placeholders;
use crate::db::tables::{disclosure_cells, question_log};
use crate::db::{DbConnection, DbError};
use crate::domain::Timestamp;
use crate::on_backend;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Date, Text};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// One question as it is logged.
pub struct Question<'a> {
    pub request_id: &'a str,
    /// The trusted document's name, or the client's operation name for an ad-hoc document.
    pub operation: Option<&'a str>,
    pub trusted: bool,
    pub document: &'a str,
    pub variables: &'a str,
}

/// The outcome of charging one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// The answer may leave.
    Within,
    /// The answer would take the user past their budget: refused, nothing charged.
    Exceeded { budget: u64 },
}

/// The budgets per role, and per user and day the cells known to be charged already (so that
/// a dashboard asking the same cells again does not write).
pub struct CellBudget {
    limits: RoleAmounts,
    known: Mutex<HashMap<(NaiveDate, String), HashSet<String>>>,
}

#[derive(Insertable)]
#[diesel(table_name = question_log)]
struct LogRow<'a> {
    at: i64,
    request_id: &'a str,
    actor_role: &'a str,
    actor_sub: &'a str,
    operation: Option<&'a str>,
    trusted: bool,
    document: &'a str,
    variables: &'a str,
    cells: i32,
    new_cells: i32,
    refused: bool,
}

impl CellBudget {
    pub fn new(limits: RoleAmounts) -> Self {
        Self {
            limits,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The daily budget of a role; None for roles that see no controlled counts.
    pub fn limit(&self, role: Role) -> Option<u64> {
        self.limits.get(role)
    }

    fn user(principal: &Principal) -> String {
        format!("{}:{}", principal.role().as_str(), principal.sub)
    }

    /// Whether this answer needs the database: a question to log, or cells not yet known to
    /// be charged today. Cheap; called on every answer.
    pub fn needs_write(
        &self,
        principal: &Principal,
        trusted: bool,
        cells: &[String],
        now: Timestamp,
    ) -> bool {
        let role = principal.role();
        if self.limit(role).is_none() {
            return false;
        }
        if !trusted && matches!(role, Role::Region | Role::Ministry) {
            return true;
        }
        if trusted || cells.is_empty() {
            return false;
        }
        let key = (now.local_date(), Self::user(principal));
        let known = self.known.lock();
        match known.as_ref().ok().and_then(|k| k.get(&key)) {
            Some(seen) => cells.iter().any(|c| !seen.contains(c)),
            None => true,
        }
    }

    /// Charges the cells of one answer (ad hoc only) and logs the question, in one
    /// transaction: past the budget nothing is charged, the refusal is logged, and the
    /// answer must not leave. Blocking.
    pub fn charge(
        &self,
        conn: &mut DbConnection,
        principal: &Principal,
        question: &Question<'_>,
        cells: &[String],
        now: Timestamp,
    ) -> Result<Charge, DbError> {
        let role = principal.role();
        let Some(budget) = self.limit(role) else {
            return Ok(Charge::Within);
        };
        let day = now.local_date();
        let (role_s, sub) = (role.as_str(), principal.sub.as_str());
        let charged: &[String] = if question.trusted { &[] } else { cells };
        let mut row = LogRow {
            at: now.micros(),
            request_id: question.request_id,
            actor_role: role_s,
            actor_sub: sub,
            operation: question.operation,
            trusted: question.trusted,
            document: question.document,
            variables: question.variables,
            cells: i32::try_from(cells.len()).unwrap_or(i32::MAX),
            new_cells: 0,
            refused: false,
        };
        let log_always = !question.trusted && matches!(role, Role::Region | Role::Ministry);
        // More new cells than the whole budget: refused without writing them first (a large
        // answer would otherwise hold the database's writer while it inserts thousands of
        // cells only to roll them back).
        let unknown = {
            let known = self.known.lock();
            let seen = known
                .as_ref()
                .ok()
                .and_then(|k| k.get(&(day, Self::user(principal))));
            charged
                .iter()
                .filter(|c| seen.is_none_or(|s| !s.contains(*c)))
                .count()
        };
        if u64::try_from(unknown).unwrap_or(u64::MAX) > budget {
            row.refused = true;
            row.new_cells = i32::try_from(unknown).unwrap_or(i32::MAX);
            diesel::insert_into(question_log::table)
                .values(&row)
                .execute(conn)?;
            return Ok(Charge::Exceeded { budget });
        }
        let mut over = false;
        // Writes come first: on SQLite a transaction that reads and then writes cannot wait
        // for the write lock (it fails at once with "database is locked" when another
        // connection writes), while one that starts by writing waits its busy timeout.
        let result = conn.transaction::<_, DbError, _>(|c| {
            if !charged.is_empty() {
                let inserted = insert_cells(c, day, role_s, sub, charged)?;
                row.new_cells = i32::try_from(inserted).unwrap_or(i32::MAX);
                if inserted > 0 {
                    let total = count_cells(c, day, role_s, sub)?;
                    if u64::try_from(total).unwrap_or(u64::MAX) > budget {
                        over = true;
                        return Err(DbError::Query(diesel::result::Error::RollbackTransaction));
                    }
                }
            }
            if log_always || row.new_cells > 0 {
                diesel::insert_into(question_log::table)
                    .values(&row)
                    .execute(c)?;
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                if let Ok(mut known) = self.known.lock() {
                    known.retain(|(d, _), _| *d == day);
                    known
                        .entry((day, Self::user(principal)))
                        .or_default()
                        .extend(charged.iter().cloned());
                }
                Ok(Charge::Within)
            }
            Err(_) if over => {
                row.refused = true;
                diesel::insert_into(question_log::table)
                    .values(&row)
                    .execute(conn)?;
                Ok(Charge::Exceeded { budget })
            }
            Err(e) => Err(e),
        }
    }
}

fn count_cells(
    conn: &mut DbConnection,
    day: NaiveDate,
    role: &str,
    sub: &str,
) -> Result<i64, DbError> {
    Ok(disclosure_cells::table
        .filter(disclosure_cells::day.eq(day))
        .filter(disclosure_cells::actor_role.eq(role))
        .filter(disclosure_cells::actor_sub.eq(sub))
        .count()
        .get_result(conn)?)
}

/// One statement per thousand cells; a cell charged already today is left as it is. Returns
/// how many were new.
fn insert_cells(
    conn: &mut DbConnection,
    day: NaiveDate,
    role: &str,
    sub: &str,
    cells: &[String],
) -> Result<usize, DbError> {
    let mut inserted = 0;
    for chunk in cells.chunks(1_000) {
        let values = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = placeholders(
            conn,
            &format!(
                "INSERT INTO disclosure_cells (day, actor_role, actor_sub, cell) VALUES {values} \
                 ON CONFLICT DO NOTHING"
            ),
        );
        inserted += on_backend!(conn, |c| {
            let mut q = diesel::sql_query(&sql).into_boxed();
            for cell in chunk {
                q = q
                    .bind::<Date, _>(day)
                    .bind::<Text, _>(role)
                    .bind::<Text, _>(sub)
                    .bind::<Text, _>(cell);
            }
            q.execute(c)
        })?;
    }
    Ok(inserted)
}

/// One logged question, for `forloeb audit questions`.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct LoggedQuestion {
    pub id: i64,
    pub at: i64,
    pub request_id: String,
    pub actor_role: String,
    pub actor_sub: String,
    pub operation: Option<String>,
    pub trusted: bool,
    pub document: String,
    pub variables: String,
    pub cells: i32,
    pub new_cells: i32,
    pub refused: bool,
}

/// The questions logged at or after `since` (microseconds since the epoch), oldest first.
pub fn questions_since(
    conn: &mut DbConnection,
    since: i64,
) -> Result<Vec<LoggedQuestion>, DbError> {
    Ok(question_log::table
        .filter(question_log::at.ge(since))
        .order(question_log::id.asc())
        .load(conn)?)
}
