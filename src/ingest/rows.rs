//! The rows the import writes, one struct per table: what `store` builds from the records and
//! what `pg_bulk` sends in one statement per batch.

use crate::db::tables::{
    app_events, clinics, clusters, delegations, milestones, patients, plan_versions,
};
use chrono::NaiveDate;
use diesel::prelude::*;

#[derive(Insertable, Queryable, Selectable, PartialEq)]
#[diesel(table_name = clusters)]
pub struct ClusterRow {
    pub cluster_id: String,
    pub name: String,
    pub region_code: String,
}

#[derive(Insertable, Queryable, Selectable, PartialEq)]
#[diesel(table_name = clinics)]
pub struct ClinicRow {
    pub ydernummer: String,
    pub name: String,
    pub region_code: String,
    pub cluster_id: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

#[derive(Insertable)]
#[diesel(table_name = patients)]
pub struct PatientRow {
    pub cpr: String,
    pub ydernummer: String,
    pub listed: bool,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub has_kol: bool,
    pub has_dm2: bool,
    pub has_ihd: bool,
    pub diagnoses: String,
}

#[derive(Insertable)]
#[diesel(table_name = plan_versions, treat_none_as_default_value = false)]
pub struct PlanRow {
    pub source: String,
    pub plan_id: String,
    pub version: i32,
    pub cpr: String,
    pub ydernummer: String,
    pub plan_type: String,
    pub created_at: i64,
    pub local_date: NaiveDate,
    pub status: String,
    pub next_control: Option<NaiveDate>,
    pub is_new: bool,
    pub content_hash: String,
    pub goals: String,
    pub measurements: String,
}

#[derive(Insertable)]
#[diesel(table_name = app_events)]
pub struct EventRow {
    pub cpr: String,
    pub source: String,
    pub plan_id: String,
    pub at: i64,
    pub event: String,
    pub local_date: NaiveDate,
}

#[derive(Insertable, Queryable, Selectable, PartialEq)]
#[diesel(table_name = milestones)]
pub struct MilestoneRow {
    pub number: i32,
    pub text: String,
    pub planned: NaiveDate,
    pub reached: Option<NaiveDate>,
}

#[derive(Insertable, Queryable, Selectable, PartialEq)]
#[diesel(table_name = delegations)]
pub struct DelegationRow {
    pub grantor: String,
    pub delegate: String,
    pub scope: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub revoked_on: Option<NaiveDate>,
}
