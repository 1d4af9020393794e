//! Aggregate reads over plan versions and app events. No person-level rows leave these
//! functions: only counts per clinic, day, region, type and source.

use crate::db::sql::placeholders;
use crate::db::tables::milestones;
use crate::db::{DbConnection, DbError};
use crate::on_backend;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Text};
use std::collections::HashMap;

/// One clinic's plan versions in a window of local dates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClinicWindow {
    pub plans: i64,
    pub new_plans: i64,
    pub new_heart: i64,
}

#[derive(QueryableByName)]
struct WindowRow {
    #[diesel(sql_type = Text)]
    ydernummer: String,
    #[diesel(sql_type = BigInt)]
    plans: i64,
    #[diesel(sql_type = BigInt)]
    new_plans: i64,
    #[diesel(sql_type = BigInt)]
    new_heart: i64,
}

/// Per clinic: versions, new versions and new heart plans with local date in (after, until].
pub fn clinic_windows(
    conn: &mut DbConnection,
    after: NaiveDate,
    until: NaiveDate,
) -> Result<HashMap<String, ClinicWindow>, DbError> {
    let sql = placeholders(
        conn,
        "SELECT ydernummer, COUNT(*) AS plans, \
         COALESCE(SUM(CASE WHEN is_new THEN 1 ELSE 0 END), 0) AS new_plans, \
         COALESCE(SUM(CASE WHEN is_new AND plan_type = 'IHD' THEN 1 ELSE 0 END), 0) AS new_heart \
         FROM plan_versions WHERE local_date > ? AND local_date <= ? GROUP BY ydernummer",
    );
    let rows: Vec<WindowRow> = on_backend!(conn, |c| diesel::sql_query(&sql)
        .bind::<Date, _>(after)
        .bind::<Date, _>(until)
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.ydernummer,
                ClinicWindow {
                    plans: r.plans,
                    new_plans: r.new_plans,
                    new_heart: r.new_heart,
                },
            )
        })
        .collect())
}

/// Plan versions of one local day, region, type and source, new or maintained.
#[derive(Debug, Clone, QueryableByName)]
pub struct DayCount {
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = Text)]
    pub region: String,
    #[diesel(sql_type = Text)]
    pub plan_type: String,
    #[diesel(sql_type = Text)]
    pub source: String,
    #[diesel(sql_type = Integer)]
    pub is_new: i32,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Daily counts for local dates in [from, until].
pub fn day_counts(
    conn: &mut DbConnection,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<DayCount>, DbError> {
    let sql = placeholders(
        conn,
        "SELECT v.local_date AS day, c.region_code AS region, v.plan_type AS plan_type, \
         v.source AS source, CASE WHEN v.is_new THEN 1 ELSE 0 END AS is_new, COUNT(*) AS n \
         FROM plan_versions v JOIN clinics c ON c.ydernummer = v.ydernummer \
         WHERE v.local_date >= ? AND v.local_date <= ? \
         GROUP BY v.local_date, c.region_code, v.plan_type, v.source, \
         CASE WHEN v.is_new THEN 1 ELSE 0 END",
    );
    Ok(on_backend!(conn, |c| diesel::sql_query(&sql)
        .bind::<Date, _>(from)
        .bind::<Date, _>(until)
        .load(c))?)
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Active app users (DOMAIN.md): patients with a plan version on or before `until`, and of
/// those, the ones with a `plan_viewed` event in (after, until]. With a region: patients with
/// a plan version made by one of the region's clinics.
pub fn app_users(
    conn: &mut DbConnection,
    after: NaiveDate,
    until: NaiveDate,
    region: Option<&str>,
) -> Result<(i64, i64), DbError> {
    let in_region = if region.is_some() {
        " AND v.ydernummer IN (SELECT ydernummer FROM clinics WHERE region_code = ?)"
    } else {
        ""
    };
    let with_plan_sql = placeholders(
        conn,
        &format!(
            "SELECT COUNT(DISTINCT v.cpr) AS n FROM plan_versions v WHERE v.local_date <= ?{in_region}"
        ),
    );
    let active_sql = placeholders(
        conn,
        &format!(
            "SELECT COUNT(DISTINCT e.cpr) AS n FROM app_events e \
             WHERE e.local_date > ? AND e.local_date <= ? AND EXISTS \
             (SELECT 1 FROM plan_versions v WHERE v.cpr = e.cpr AND v.local_date <= ?{in_region})"
        ),
    );
    let region = region.unwrap_or_default().to_string();
    let with_plan: CountRow = on_backend!(conn, |c| {
        let q = diesel::sql_query(&with_plan_sql).bind::<Date, _>(until);
        if in_region.is_empty() {
            q.get_result(c)
        } else {
            q.bind::<Text, _>(&region).get_result(c)
        }
    })?;
    let active: CountRow = on_backend!(conn, |c| {
        let q = diesel::sql_query(&active_sql)
            .bind::<Date, _>(after)
            .bind::<Date, _>(until)
            .bind::<Date, _>(until);
        if in_region.is_empty() {
            q.get_result(c)
        } else {
            q.bind::<Text, _>(&region).get_result(c)
        }
    })?;
    Ok((with_plan.n, active.n))
}

#[derive(Debug, Clone, Queryable)]
pub struct MilestoneRow {
    pub number: i32,
    pub text: String,
    pub planned: NaiveDate,
    pub reached: Option<NaiveDate>,
}

pub fn milestones(conn: &mut DbConnection) -> Result<Vec<MilestoneRow>, DbError> {
    Ok(milestones::table
        .order(milestones::number)
        .select((
            milestones::number,
            milestones::text,
            milestones::planned,
            milestones::reached,
        ))
        .load(conn)?)
}
