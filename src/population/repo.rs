//! Population counts. These read person rows but return only their attributes needed for
//! counting (birth date, sex, diagnosis and plan flags), never who they are.

use crate::access::{RecordKey, RecordKeys};
use crate::db::tables::{clinics, patients, plan_versions};
use crate::db::{DbConnection, DbError};
use crate::domain::PlanType;
use chrono::NaiveDate;
use diesel::dsl::min;
use diesel::prelude::*;
use std::collections::HashMap;

/// One listed patient with at least one diagnosis, as counting sees them: their record key
/// (never who they are), birth date and sex, diagnoses, and when they first had a plan of
/// each type, so that one read serves any as-of date.
#[derive(Debug, Clone)]
pub struct Counted {
    pub key: RecordKey,
    pub ydernummer: String,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub has_kol: bool,
    pub has_dm2: bool,
    pub has_ihd: bool,
    /// The local date of the first plan version of each type (KOL, DM2, IHD), any clinic.
    pub first_plan: [Option<NaiveDate>; 3],
}

fn type_slot(t: PlanType) -> usize {
    match t {
        PlanType::Kol => 0,
        PlanType::Dm2 => 1,
        PlanType::Ihd => 2,
    }
}

impl Counted {
    pub fn has(&self, t: PlanType) -> bool {
        match t {
            PlanType::Kol => self.has_kol,
            PlanType::Dm2 => self.has_dm2,
            PlanType::Ihd => self.has_ihd,
        }
    }
    /// A plan of this type (from any clinic) on or before `d`.
    pub fn planned(&self, t: PlanType, d: NaiveDate) -> bool {
        self.first_plan
            .get(type_slot(t))
            .copied()
            .flatten()
            .is_some_and(|first| first <= d)
    }
}

/// Which clinics to count: these clinics, and the clinics of these clusters.
#[derive(Debug, Clone, Default)]
pub struct Clinics {
    pub ydernumre: Vec<String>,
    pub clusters: Vec<String>,
}

/// The listed patients with a diagnosis of the clinics chosen. Two index-driven reads (the
/// patients, then the first plan of each type of each of them) rather than one statement
/// with correlated subqueries, which PostgreSQL plans as scans of every plan version.
pub fn counted(
    conn: &mut DbConnection,
    which: &Clinics,
    keys: &RecordKeys,
) -> Result<Vec<Counted>, DbError> {
    let mut ydernumre = which.ydernumre.clone();
    ydernumre.extend(clusters_of(conn, &which.clusters)?.into_keys());
    ydernumre.sort_unstable();
    ydernumre.dedup();
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
    let mut first: HashMap<(String, String), NaiveDate> = HashMap::new();
    let cprs: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    for chunk in cprs.chunks(5_000) {
        let found: Vec<(String, String, Option<NaiveDate>)> = plan_versions::table
            .filter(plan_versions::cpr.eq_any(chunk))
            .group_by((plan_versions::cpr, plan_versions::plan_type))
            .select((
                plan_versions::cpr,
                plan_versions::plan_type,
                min(plan_versions::local_date),
            ))
            .load(conn)?;
        first.extend(
            found
                .into_iter()
                .filter_map(|(cpr, t, d)| Some(((cpr, t), d?))),
        );
    }
    Ok(rows
        .into_iter()
        .map(
            |(cpr, ydernummer, birth_date, sex, has_kol, has_dm2, has_ihd)| {
                let first_of =
                    |t: PlanType| first.get(&(cpr.clone(), t.as_str().to_string())).copied();
                Counted {
                    key: keys.of(&cpr),
                    first_plan: [
                        first_of(PlanType::Kol),
                        first_of(PlanType::Dm2),
                        first_of(PlanType::Ihd),
                    ],
                    ydernummer,
                    birth_date,
                    sex,
                    has_kol,
                    has_dm2,
                    has_ihd,
                }
            },
        )
        .collect())
}

/// The clinics of these clusters, each with its cluster.
pub fn clusters_of(
    conn: &mut DbConnection,
    clusters: &[String],
) -> Result<HashMap<String, String>, DbError> {
    if clusters.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Option<String>)> = clinics::table
        .filter(clinics::cluster_id.eq_any(clusters))
        .select((clinics::ydernummer, clinics::cluster_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(y, c)| Some((y, c?)))
        .collect())
}
