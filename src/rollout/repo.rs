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

/// Where a milestone stands on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Reached on or before the date.
    Reached,
    /// Planned before the date and not reached by it.
    Late,
    /// Planned on or after the date and not reached yet.
    Pending,
}

impl MilestoneRow {
    /// Its standing on `d`: the one place the API and the report decide it.
    pub fn standing_on(&self, d: NaiveDate) -> Standing {
        match self.reached {
            Some(r) if r <= d => Standing::Reached,
            _ if self.planned < d => Standing::Late,
            _ => Standing::Pending,
        }
    }

    /// When it was reached, if by `d`.
    pub fn reached_by(&self, d: NaiveDate) -> Option<NaiveDate> {
        self.reached.filter(|r| *r <= d)
    }
}
