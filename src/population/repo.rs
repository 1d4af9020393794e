//! Population counts. These read person rows but return only their attributes needed for
//! counting (birth date, sex, diagnosis and plan flags), never who they are.

use crate::db::tables::{clinics, patients, plan_versions};
use crate::db::{DbConnection, DbError};
use crate::domain::PlanType;
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::HashSet;

/// One listed patient with at least one diagnosis, as counting sees them.
#[derive(Debug, Clone)]
pub struct Counted {
    pub ydernummer: String,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub has_kol: bool,
    pub has_dm2: bool,
    pub has_ihd: bool,
    pub planned_kol: bool,
    pub planned_dm2: bool,
    pub planned_ihd: bool,
}

impl Counted {
    pub fn has(&self, t: PlanType) -> bool {
        match t {
            PlanType::Kol => self.has_kol,
            PlanType::Dm2 => self.has_dm2,
            PlanType::Ihd => self.has_ihd,
        }
    }
    /// A plan of this type (from any clinic) on or before the as-of date.
    pub fn planned(&self, t: PlanType) -> bool {
        match t {
            PlanType::Kol => self.planned_kol,
            PlanType::Dm2 => self.planned_dm2,
            PlanType::Ihd => self.planned_ihd,
        }
    }
}

/// Which clinics to count.
#[derive(Debug, Clone)]
pub enum Clinics {
    One(String),
    Cluster(String),
}

/// The listed patients with a diagnosis of the clinics chosen, as of `d`. Two index-driven
/// reads (the patients, then which of them have plans) rather than one statement with
/// correlated subqueries, which PostgreSQL plans as scans of every plan version.
pub fn counted(
    conn: &mut DbConnection,
    which: &Clinics,
    d: NaiveDate,
) -> Result<Vec<Counted>, DbError> {
    let ydernumre: Vec<String> = match which {
        Clinics::One(y) => vec![y.clone()],
        Clinics::Cluster(id) => clinics::table
            .filter(clinics::cluster_id.eq(id))
            .select(clinics::ydernummer)
            .load(conn)?,
    };
    type Row = (String, String, NaiveDate, String, bool, bool, bool);
    let rows: Vec<Row> = patients::table
        .filter(patients::ydernummer.eq_any(&ydernumre))
        .filter(patients::listed.eq(true))
        .filter(
            patients::has_kol
                .eq(true)
                .or(patients::has_dm2.eq(true))
                .or(patients::has_ihd.eq(true)),
        )
        .select((
            patients::cpr,
            patients::ydernummer,
            patients::birth_date,
            patients::sex,
            patients::has_kol,
            patients::has_dm2,
            patients::has_ihd,
        ))
        .load(conn)?;
    let mut planned: HashSet<(String, String)> = HashSet::new();
    let cprs: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    for chunk in cprs.chunks(5_000) {
        let found: Vec<(String, String)> = plan_versions::table
            .filter(plan_versions::cpr.eq_any(chunk))
            .filter(plan_versions::local_date.le(d))
            .select((plan_versions::cpr, plan_versions::plan_type))
            .distinct()
            .load(conn)?;
        planned.extend(found);
    }
    let has = |cpr: &str, t: PlanType| planned.contains(&(cpr.to_string(), t.as_str().to_string()));
    Ok(rows
        .into_iter()
        .map(
            |(cpr, ydernummer, birth_date, sex, has_kol, has_dm2, has_ihd)| Counted {
                planned_kol: has(&cpr, PlanType::Kol),
                planned_dm2: has(&cpr, PlanType::Dm2),
                planned_ihd: has(&cpr, PlanType::Ihd),
                ydernummer,
                birth_date,
                sex,
                has_kol,
                has_dm2,
                has_ihd,
            },
        )
        .collect())
}
