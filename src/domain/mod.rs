//! Pure domain types that parse, never just validate: once a value has one of these types it
//! is known to follow DOMAIN.md. No diesel, actix or async-graphql in here.

mod codes;
mod content;
mod cpr;
mod delegation;
mod entry;
mod json;
mod time;

pub use codes::{MeasurementCode, PlanStatus, PlanType, RegionCode, Source, Ydernummer};
pub use content::{from_stored, to_stored, Diagnosis, Goal, Measurement, StoredList};
pub use cpr::{Cpr, Sex};
pub use delegation::{scope as delegation_scope, Delegation, InvalidDelegation};
pub use entry::{EntryContent, EntryId, EntryKind, InvalidEntry, HOME_CODES, NOTE_MAX_CHARS};
pub use json::parse_unique;
pub use time::{parse_date, IsoWeek, Timestamp};

/// Why a value was refused; the caller adds the field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}
