//! Bulk inserts for PostgreSQL: one `INSERT … SELECT * FROM UNNEST($1, $2, …)` per batch, one
//! array parameter per column. PostgreSQL then parses and plans one small statement instead of
//! multi-row VALUES lists with tens of thousands of parameters.

use diesel::pg::PgConnection;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Nullable, Text};
use diesel::RunQueryDsl;

use super::rows::{EventRow, PatientRow, PlanRow};

/// One column of `rows` as an array parameter, borrowing the strings.
fn texts<'a, R>(rows: &'a [R], f: impl Fn(&'a R) -> &'a str) -> Vec<&'a str> {
    rows.iter().map(f).collect()
}

pub fn patients(c: &mut PgConnection, rows: &[PatientRow]) -> diesel::QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let flag = |f: fn(&PatientRow) -> bool| rows.iter().map(f).collect::<Vec<_>>();
    diesel::sql_query(
        "INSERT INTO patients (cpr, ydernummer, listed, birth_date, sex, has_kol, has_dm2, \
         has_ihd, diagnoses) SELECT * FROM UNNEST($1::text[], $2::text[], $3::bool[], \
         $4::date[], $5::text[], $6::bool[], $7::bool[], $8::bool[], $9::text[])",
    )
    .bind::<Array<Text>, _>(texts(rows, |r| &r.cpr))
    .bind::<Array<Text>, _>(texts(rows, |r| &r.ydernummer))
    .bind::<Array<Bool>, _>(flag(|r| r.listed))
    .bind::<Array<Date>, _>(rows.iter().map(|r| r.birth_date).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(texts(rows, |r| &r.sex))
    .bind::<Array<Bool>, _>(flag(|r| r.has_kol))
    .bind::<Array<Bool>, _>(flag(|r| r.has_dm2))
    .bind::<Array<Bool>, _>(flag(|r| r.has_ihd))
    .bind::<Array<Text>, _>(texts(rows, |r| &r.diagnoses))
    .execute(c)
    .map(|_| ())
}

pub fn plan_versions(c: &mut PgConnection, rows: &[PlanRow]) -> diesel::QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO plan_versions (source, plan_id, version, cpr, ydernummer, plan_type, \
         created_at, local_date, status, next_control, is_new, content_hash, goals, \
         measurements) SELECT * FROM UNNEST($1::text[], $2::text[], $3::int[], $4::text[], \
         $5::text[], $6::text[], $7::bigint[], $8::date[], $9::text[], $10::date[], \
         $11::bool[], $12::text[], $13::text[], $14::text[])",
    )
    .bind::<Array<Text>, _>(texts(rows, |r| &r.source))
    .bind::<Array<Text>, _>(texts(rows, |r| &r.plan_id))
    .bind::<Array<Integer>, _>(rows.iter().map(|r| r.version).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(texts(rows, |r| &r.cpr))
    .bind::<Array<Text>, _>(texts(rows, |r| &r.ydernummer))
    .bind::<Array<Text>, _>(texts(rows, |r| &r.plan_type))
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind::<Array<Date>, _>(rows.iter().map(|r| r.local_date).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(texts(rows, |r| &r.status))
    .bind::<Array<Nullable<Date>>, _>(rows.iter().map(|r| r.next_control).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(rows.iter().map(|r| r.is_new).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(texts(rows, |r| &r.content_hash))
    .bind::<Array<Text>, _>(texts(rows, |r| &r.goals))
    .bind::<Array<Text>, _>(texts(rows, |r| &r.measurements))
    .execute(c)
    .map(|_| ())
}

pub fn app_events(c: &mut PgConnection, rows: &[EventRow]) -> diesel::QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO app_events (cpr, source, plan_id, at, event, local_date) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], \
         $6::date[])",
    )
    .bind::<Array<Text>, _>(texts(rows, |r| &r.cpr))
    .bind::<Array<Text>, _>(texts(rows, |r| &r.source))
    .bind::<Array<Text>, _>(texts(rows, |r| &r.plan_id))
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(texts(rows, |r| &r.event))
    .bind::<Array<Date>, _>(rows.iter().map(|r| r.local_date).collect::<Vec<_>>())
    .execute(c)
    .map(|_| ())
}
