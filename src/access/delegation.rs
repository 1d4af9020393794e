//! Delegated access (DOMAIN.md, "Delegated access"): the people a patient may act for today.
//! "Own" data for a patient is theirs and that of everyone whose delegation to them holds on
//! the day of the request in Copenhagen; the day one stops holding, the grantor is a stranger.

use crate::db::tables::delegations;
use crate::db::{DbConnection, DbError};
use crate::domain::{Cpr, Delegation, Timestamp};
use chrono::NaiveDate;
use diesel::prelude::*;

/// Of `grantors`, the ones whose delegation to `delegate` holds on `day`. A stored row that
/// does not parse into a `Delegation` fails the read (it is never taken as holding).
pub fn holding(
    conn: &mut DbConnection,
    delegate: &Cpr,
    grantors: Option<&[String]>,
    day: NaiveDate,
) -> Result<Vec<Cpr>, DbError> {
    let mut q = delegations::table
        .filter(delegations::delegate.eq(delegate.as_str()))
        .select((
            delegations::grantor,
            delegations::valid_from,
            delegations::valid_to,
            delegations::revoked_on,
        ))
        .order(delegations::grantor)
        .into_boxed();
    if let Some(grantors) = grantors {
        q = q.filter(delegations::grantor.eq_any(grantors));
    }
    let rows: Vec<(String, NaiveDate, Option<NaiveDate>, Option<NaiveDate>)> = q.load(conn)?;
    let mut held = Vec::new();
    for (grantor, valid_from, valid_to, revoked_on) in rows {
        let grantor = Cpr::parse(&grantor).map_err(unparsable)?;
        let d = Delegation::new(grantor, delegate.clone(), valid_from, valid_to, revoked_on)
            .map_err(unparsable)?;
        if d.holds_on(day) {
            held.push(d.grantor().clone());
        }
    }
    Ok(held)
}

/// Today, as a live request's delegations are decided: the date in Copenhagen.
pub fn today() -> NaiveDate {
    Timestamp::now().local_date()
}

fn unparsable(e: impl std::fmt::Display) -> DbError {
    DbError::Query(diesel::result::Error::DeserializationError(
        format!("stored delegation does not parse: {e}").into(),
    ))
}
