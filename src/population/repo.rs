//! Population counts. These read person rows but return only their attributes needed for
//! counting (birth date, sex, diagnosis and plan flags), never who they are.

use crate::db::sql::placeholders;
use crate::db::{DbConnection, DbError};
use crate::domain::PlanType;
use crate::on_backend;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Text};

/// One listed patient with at least one diagnosis, as counting sees them.
#[derive(Debug, Clone, QueryableByName)]
pub struct Counted {
    #[diesel(sql_type = Text)]
    pub ydernummer: String,
    #[diesel(sql_type = Date)]
    pub birth_date: NaiveDate,
    #[diesel(sql_type = Text)]
    pub sex: String,
    #[diesel(sql_type = Bool)]
    pub has_kol: bool,
    #[diesel(sql_type = Bool)]
    pub has_dm2: bool,
    #[diesel(sql_type = Bool)]
    pub has_ihd: bool,
    #[diesel(sql_type = Bool)]
    pub planned_kol: bool,
    #[diesel(sql_type = Bool)]
    pub planned_dm2: bool,
    #[diesel(sql_type = Bool)]
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

/// The listed patients with a diagnosis of the clinics chosen, as of `d`.
pub fn counted(
    conn: &mut DbConnection,
    clinics: &Clinics,
    d: NaiveDate,
) -> Result<Vec<Counted>, DbError> {
    let planned = |t: &str| {
        format!(
            "EXISTS (SELECT 1 FROM plan_versions v WHERE v.cpr = p.cpr \
             AND v.plan_type = '{t}' AND v.local_date <= ?)"
        )
    };
    let which = match clinics {
        Clinics::One(_) => "p.ydernummer = ?",
        Clinics::Cluster(_) => {
            "p.ydernummer IN (SELECT ydernummer FROM clinics WHERE cluster_id = ?)"
        }
    };
    let sql = placeholders(
        conn,
        &format!(
            "SELECT p.ydernummer, p.birth_date, p.sex, p.has_kol, p.has_dm2, p.has_ihd, \
             {} AS planned_kol, {} AS planned_dm2, {} AS planned_ihd \
             FROM patients p WHERE {which} AND p.listed \
             AND (p.has_kol OR p.has_dm2 OR p.has_ihd)",
            planned("KOL"),
            planned("DM2"),
            planned("IHD")
        ),
    );
    let key = match clinics {
        Clinics::One(k) | Clinics::Cluster(k) => k.clone(),
    };
    Ok(on_backend!(conn, |c| diesel::sql_query(&sql)
        .bind::<Date, _>(d)
        .bind::<Date, _>(d)
        .bind::<Date, _>(d)
        .bind::<Text, _>(&key)
        .load(c))?)
}
