//! The audit trail: person-level reads are collected while a request resolves and written in
//! one transaction before the answer leaves. If the write fails, the answer is not sent.

use crate::auth::{Actor, Principal};
use crate::db::sql::placeholders;
use crate::db::tables::audit_log;
use crate::db::{DbConnection, DbError};
use crate::domain::{Cpr, Timestamp};
use crate::on_backend;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// What one request read, filled in by the resolvers that load person-level rows.
#[derive(Default)]
pub struct AuditTrail {
    inner: Mutex<Trail>,
}

#[derive(Default)]
struct Trail {
    /// Whose data, and which types of it.
    subjects: BTreeMap<String, BTreeSet<&'static str>>,
    /// Plans a patient read themselves: (cpr, source, plan_id), recorded as `plan_viewed`.
    views: BTreeSet<(String, String, String)>,
}

impl AuditTrail {
    /// Notes that person-level data of `cpr`, of GraphQL type `type_name`, is in the answer.
    pub fn read(&self, cpr: &Cpr, type_name: &'static str) {
        if let Ok(mut t) = self.inner.lock() {
            t.subjects
                .entry(cpr.as_str().to_string())
                .or_default()
                .insert(type_name);
        }
    }

    /// Notes that a patient read their own plan through the gateway (an app event).
    pub fn viewed(&self, cpr: &Cpr, source: &str, plan_id: &str) {
        if let Ok(mut t) = self.inner.lock() {
            t.views.insert((
                cpr.as_str().to_string(),
                source.to_string(),
                plan_id.to_string(),
            ));
        }
    }

    /// The persons who read their own plans in this request.
    pub fn viewed_by(&self) -> Vec<String> {
        self.inner
            .lock()
            .map(|t| t.views.iter().map(|(cpr, _, _)| cpr.clone()).collect())
            .unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.inner
            .lock()
            .map(|t| t.subjects.is_empty() && t.views.is_empty())
            .unwrap_or(false)
    }
}

/// Who asked, as the audit records it: the gateway's own request id and the trusted
/// document's name (or `ad hoc`), with what the client said kept apart and labelled. Kept in
/// the request's state, since a write records its audit in its own transaction.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    pub request_id: String,
    /// The trusted document's name, or None for a document of the client's own.
    pub trusted_operation: Option<&'static str>,
    /// The caller's x-request-id, when it sent a usable one.
    pub client_request_id: Option<String>,
    /// The operation name the client gave its document.
    pub client_operation: Option<String>,
}

/// What `operation` says of a document that is not a trusted one.
pub const AD_HOC: &str = "ad hoc";

#[derive(Insertable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
struct AuditRow {
    at: i64,
    request_id: String,
    actor_role: String,
    actor_sub: String,
    actor_clinic: Option<String>,
    subject_cpr: String,
    operation: Option<String>,
    types: String,
    client_request_id: Option<String>,
    client_operation: Option<String>,
}

struct ViewRow {
    cpr: String,
    source: String,
    plan_id: String,
    at: i64,
    event: String,
    local_date: chrono::NaiveDate,
}

/// What one answer puts on record: an audit row per person read, and the patient's own plan
/// views (`plan_viewed`). Taken from the trail once the answer is complete.
pub struct AuditRecords {
    audit: Vec<AuditRow>,
    views: Vec<ViewRow>,
}

impl AuditRecords {
    /// How many rows this answer writes (audit records and plan views).
    pub fn len(&self) -> usize {
        self.audit.len() + self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn of(
        trail: &AuditTrail,
        principal: &Principal,
        asked: &AuditContext,
        now: Timestamp,
    ) -> Result<Self, DbError> {
        let t = trail
            .inner
            .lock()
            .map_err(|_| DbError::Unavailable("audit trail poisoned".into()))?;
        let audit = t
            .subjects
            .iter()
            .map(|(cpr, types)| {
                let types = types.iter().copied().collect::<Vec<_>>().join(",");
                AuditRow::new(principal, asked, cpr, types, now)
            })
            .collect();
        let views = t
            .views
            .iter()
            .map(|(cpr, source, plan_id)| ViewRow {
                cpr: cpr.clone(),
                source: source.clone(),
                plan_id: plan_id.clone(),
                at: now.micros(),
                event: "plan_viewed".into(),
                local_date: now.local_date(),
            })
            .collect();
        Ok(Self { audit, views })
    }

    /// The record of a write of `cpr`'s data of type `type_name` (a patient's entry), stored
    /// in the write's own transaction.
    pub fn of_write(
        principal: &Principal,
        asked: &AuditContext,
        cpr: &Cpr,
        type_name: &str,
        now: Timestamp,
    ) -> Self {
        Self {
            audit: vec![AuditRow::new(
                principal,
                asked,
                cpr.as_str(),
                type_name.to_string(),
                now,
            )],
            views: Vec::new(),
        }
    }
}

/// What the audit says of a reader's role. A patient who reads or writes someone else's data
/// can only be doing so under that person's power of attorney: `delegate`, which the person's
/// access log shows as such (DOMAIN.md, "Delegated access").
pub const DELEGATE_ROLE: &str = "delegate";

impl AuditRow {
    fn new(
        principal: &Principal,
        asked: &AuditContext,
        subject: &str,
        types: String,
        now: Timestamp,
    ) -> Self {
        let role = match &principal.actor {
            Actor::Patient(own) if own.as_str() != subject => DELEGATE_ROLE,
            _ => principal.role().as_str(),
        };
        AuditRow {
            at: now.micros(),
            request_id: asked.request_id.clone(),
            actor_role: role.to_string(),
            actor_sub: principal.sub.clone(),
            actor_clinic: principal.clinic().map(|y| y.as_str().to_string()),
            subject_cpr: subject.to_string(),
            operation: Some(asked.trusted_operation.unwrap_or(AD_HOC).to_string()),
            types,
            client_request_id: asked.client_request_id.clone(),
            client_operation: asked.client_operation.clone(),
        }
    }
}

/// Rows per statement: 10 columns × 1,000 stays under the bound parameters SQLite (32,766)
/// and PostgreSQL (65,535) take in one statement.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Inserts the records of any number of answers on `conn`, in the caller's transaction: one
/// statement per table and 1,000 rows, however many answers and persons (diesel's batch insert
/// runs one statement per row on SQLite, so the VALUES list is built here).
pub fn insert(conn: &mut DbConnection, answers: &[&AuditRecords]) -> Result<(), DbError> {
    let audit: Vec<&AuditRow> = answers.iter().flat_map(|a| &a.audit).collect();
    for rows in audit.chunks(ROWS_PER_STATEMENT) {
        let sql = placeholders(
            conn,
            &format!(
                "INSERT INTO audit_log (at, request_id, actor_role, actor_sub, actor_clinic, \
                 subject_cpr, operation, types, client_request_id, client_operation) VALUES {}",
                values_list(rows.len(), 10)
            ),
        );
        on_backend!(conn, |c| {
            let mut q = diesel::sql_query(&sql).into_boxed();
            for r in rows {
                q = q
                    .bind::<BigInt, _>(r.at)
                    .bind::<Text, _>(&r.request_id)
                    .bind::<Text, _>(&r.actor_role)
                    .bind::<Text, _>(&r.actor_sub)
                    .bind::<Nullable<Text>, _>(&r.actor_clinic)
                    .bind::<Text, _>(&r.subject_cpr)
                    .bind::<Nullable<Text>, _>(&r.operation)
                    .bind::<Text, _>(&r.types)
                    .bind::<Nullable<Text>, _>(&r.client_request_id)
                    .bind::<Nullable<Text>, _>(&r.client_operation);
            }
            q.execute(c)
        })?;
    }
    let views: Vec<&ViewRow> = answers.iter().flat_map(|a| &a.views).collect();
    for rows in views.chunks(ROWS_PER_STATEMENT) {
        let sql = placeholders(
            conn,
            &format!(
                "INSERT INTO app_events (cpr, source, plan_id, at, event, local_date) VALUES {} \
                 ON CONFLICT DO NOTHING",
                values_list(rows.len(), 6)
            ),
        );
        on_backend!(conn, |c| {
            let mut q = diesel::sql_query(&sql).into_boxed();
            for v in rows {
                q = q
                    .bind::<Text, _>(&v.cpr)
                    .bind::<Text, _>(&v.source)
                    .bind::<Text, _>(&v.plan_id)
                    .bind::<BigInt, _>(v.at)
                    .bind::<Text, _>(&v.event)
                    .bind::<Date, _>(v.local_date);
            }
            q.execute(c)
        })?;
    }
    Ok(())
}

/// `(?, ?, …), (?, ?, …)`: `rows` tuples of `columns` placeholders.
fn values_list(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// One read of a patient's data, as the patient sees it in the Min Læge App (the plans
/// subgraph shows it).
#[derive(Debug, Clone)]
pub struct AccessLogEntry {
    /// When the data was read (local time, Europe/Copenhagen).
    pub at: String,
    /// The reader's role: patient, delegate (a power-of-attorney holder), clinician.
    pub role: String,
    /// The clinic the reader acted for; None for the patient's own reads.
    pub clinic_id: Option<String>,
    /// What was run: the name of one of the gateway's named operations, or "ad hoc" for a
    /// document the reader's system wrote itself.
    pub operation: Option<String>,
}

/// A patient's own audit entries, newest first.
pub fn access_log(
    conn: &mut DbConnection,
    cpr: &Cpr,
    limit: i64,
) -> Result<Vec<AccessLogEntry>, DbError> {
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = audit_log::table
        .filter(audit_log::subject_cpr.eq(cpr.as_str()))
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(limit)
        .select((
            audit_log::at,
            audit_log::actor_role,
            audit_log::actor_clinic,
            audit_log::operation,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(at, role, clinic_id, operation)| AccessLogEntry {
            at: Timestamp::from_micros(at)
                .map(|t| t.to_local_rfc3339())
                .unwrap_or_default(),
            role,
            clinic_id,
            operation,
        })
        .collect())
}
