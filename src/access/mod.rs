//! Who may see what (DOMAIN.md): the policy table, enforced on every field resolution by one
//! extension; row scopes for the repositories; disclosure control for person counts; the
//! audit trail of person-level reads.

pub mod admission;
mod audit;
pub mod budget;
pub mod delegation;
mod disclosure;
mod field;
mod group_commit;
pub mod limits;
pub mod policy;
mod scope;
pub mod work;

pub use audit::{
    access_log, insert as insert_audit, AccessLogEntry, AuditContext, AuditRecords, AuditTrail,
    AD_HOC, DELEGATE_ROLE,
};
pub use budget::{CellBudget, Charge, Question};
pub use disclosure::{
    BadRecordKeySecret, CellLedger, Disclosure, PersonCount, PersonSet, Rate, RecordKey,
    RecordKeys, Suppression, DEMO_RECORD_KEY_SECRET,
};
pub use field::field;
pub use group_commit::AuditWriter;
pub use scope::{CountScope, CountWindow, Scope, Subject, Viewer};

use crate::error::Code;
use async_graphql::ErrorExtensions;

/// The error a denied field or out-of-scope row resolves to. The text is the same whatever
/// the reason, so it reveals nothing about what exists.
pub fn forbidden() -> async_graphql::Error {
    async_graphql::Error::new("forbidden: your role may not read this")
        .extend_with(|_, e| e.set("code", Code::Forbidden.as_str()))
}
