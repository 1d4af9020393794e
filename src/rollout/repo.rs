//! The steering group's milestones. The rollout aggregates come from `snapshot`.

use crate::db::tables::milestones;
use crate::db::{DbConnection, DbError};
use chrono::NaiveDate;
use diesel::prelude::*;

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
