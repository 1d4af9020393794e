//! The listed patients with a diagnosis (patientgrundlag), as counting sees them, kept in the
//! snapshot per clinic: a cluster view or a clinic's population reads the rows of its clinics
//! in memory instead of half a million rows from the database per question (issue 15). A row
//! holds the person's record key (never who they are), birth date and sex, diagnoses, and when
//! they first had a plan of each type, so that one snapshot serves any as-of date.

use super::series::Day;
use super::snapshot::{date, day};
use crate::access::{RecordKey, RecordKeys};
use crate::db::tables::patients;
use crate::db::{DbConnection, DbError};
use crate::domain::PlanType;
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::HashMap;

/// Per person: the first local day of a plan version of each type (any clinic), in
/// `PlanType::ALL` order; `Day::MAX` for none.
pub type FirstOfType = [Day; PlanType::ALL.len()];

/// One listed patient with at least one diagnosis.
#[derive(Debug, Clone, Copy)]
pub struct Listed {
    pub key: RecordKey,
    /// The snapshot's number for the person (their measurements), `u32::MAX` when they have
    /// no plan version.
    person: u32,
    first_plan: FirstOfType,
    birth: Day,
    /// Diagnoses by `PlanType::ALL` position (bits 0–2), and female (bit 3).
    flags: u8,
}

const FEMALE: u8 = 1 << 3;

fn slot(t: PlanType) -> usize {
    PlanType::ALL.iter().position(|x| *x == t).unwrap_or(0)
}

impl Listed {
    /// Diagnosed with the condition this plan type is for.
    pub fn has(&self, t: PlanType) -> bool {
        self.flags & (1 << slot(t)) != 0
    }

    /// A plan of this type (from any clinic) on or before `d`.
    pub fn planned(&self, t: PlanType, d: NaiveDate) -> bool {
        self.first_plan
            .get(slot(t))
            .is_some_and(|&first| first <= day(d))
    }

    pub fn person(&self) -> u32 {
        self.person
    }

    pub fn birth_date(&self) -> NaiveDate {
        date(self.birth)
    }

    pub fn is_female(&self) -> bool {
        self.flags & FEMALE != 0
    }
}

/// The listed patients with a diagnosis, by clinic (the index `clinic_index` gives a
/// ydernummer; patients of clinics it does not know are left out, as no question names them).
/// `first_plan` gives a person's number and first plans, for those with a plan version.
pub fn load(
    conn: &mut DbConnection,
    keys: &RecordKeys,
    clinic_index: &HashMap<String, u32>,
    clinics: usize,
    first_plan: impl Fn(&str) -> Option<(u32, FirstOfType)>,
) -> Result<Vec<Vec<Listed>>, DbError> {
    type Row = (String, String, NaiveDate, String, bool, bool, bool);
    let rows: Vec<Row> = patients::table
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
    let mut by_clinic: Vec<Vec<Listed>> = vec![Vec::new(); clinics];
    for (cpr, ydernummer, birth, sex, kol, dm2, ihd) in rows {
        let Some(list) = clinic_index
            .get(&ydernummer)
            .and_then(|&c| by_clinic.get_mut(c as usize))
        else {
            continue;
        };
        let mut flags = 0;
        for (t, has) in [
            (PlanType::Kol, kol),
            (PlanType::Dm2, dm2),
            (PlanType::Ihd, ihd),
        ] {
            if has {
                flags |= 1 << slot(t);
            }
        }
        if sex == "F" {
            flags |= FEMALE;
        }
        let (person, first) =
            first_plan(&cpr).unwrap_or((u32::MAX, [Day::MAX; PlanType::ALL.len()]));
        list.push(Listed {
            key: keys.of(&cpr),
            person,
            first_plan: first,
            birth: day(birth),
            flags,
        });
    }
    for list in &mut by_clinic {
        list.shrink_to_fit();
    }
    Ok(by_clinic)
}
