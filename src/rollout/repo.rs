//! The shapes the rollout metrics work on, and the milestones. The aggregates themselves come
//! from `snapshot`.

use crate::db::tables::milestones;
use crate::db::{DbConnection, DbError};
use chrono::NaiveDate;
use diesel::prelude::*;

/// One clinic's plan versions in a window of local dates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClinicWindow {
    pub plans: i64,
    pub new_plans: i64,
    pub new_heart: i64,
}

/// Plan versions of one local day, region, type and source, new or maintained.
#[derive(Debug, Clone)]
pub struct DayCount {
    pub day: NaiveDate,
    pub region: String,
    pub plan_type: String,
    pub source: String,
    /// 1 for new plans, 0 for maintained.
    pub is_new: i32,
    pub n: i64,
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
