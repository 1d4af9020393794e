//! What every resolver needs from the request: the viewer, the database, the rollout snapshot
//! (with the directory of clinics and clusters) taken once per request, the audit trail, and
//! the errors clients act on.

pub mod entities;
pub mod quality;
mod vocabulary;

pub use entities::Graph;
pub use vocabulary::{MeasurementCode, PlanStatus, PlanType, Sex, Source};

use crate::access::work::{
    Deadline, Expired, HeavyPermit, Permit, Refusal, WorkAdmission, WorkMeter,
};
use crate::access::{AuditContext, AuditTrail, CountWindow, Viewer};
use crate::auth::Principal;
use crate::db::{Db, DbError};
use crate::error::Code;
use crate::facts::snapshot::{Aggregates, Snapshot};
use crate::facts::Directory;
use async_graphql::{
    Context, ErrorExtensions, InputValueError, InputValueResult, Scalar, ScalarType, Value,
};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Per-request state, put into the GraphQL request by the HTTP layer.
#[derive(Default)]
pub struct RequestState {
    pub trail: AuditTrail,
    /// Who asked, for the audit records (a write's are written with it).
    pub asked: AuditContext,
    /// The work this request has cost, its deadline, and whether it was turned away.
    pub work: WorkMeter,
    /// The permit of this request's aggregate work, taken by the first resolver that needs
    /// one and held until the request ends, so a request holds one permit however many
    /// fields it has.
    permit: tokio::sync::Mutex<Option<Permit>>,
    /// The heavy-work slot, once some field's work is heavy.
    heavy: tokio::sync::Mutex<Option<HeavyPermit>>,
    /// Held while one of this request's computations runs: the request's permit and heavy
    /// slot stand for one core's worth of work, however many aliased fields it has.
    computing: tokio::sync::Mutex<()>,
    /// Loaded once per request and date, however many fields ask at once (each cluster view
    /// of a list asks): the first to ask loads, the others wait for its answer.
    windows: Mutex<HashMap<NaiveDate, Arc<Once<Windows>>>>,
    /// Taken once per request, likewise.
    snapshot: Once<Arc<Snapshot>>,
    /// Likewise, for requests that need only the directory.
    directory: Once<Arc<Directory>>,
}

type Once<T> = tokio::sync::OnceCell<T>;
type Windows = crate::facts::snapshot::ClinicWindows;

pub type Result<T> = std::result::Result<T, async_graphql::Error>;

/// The caller as the resolvers see them; a clinician's cluster and region come from their
/// clinic's row.
pub async fn viewer_for(
    db: &Db,
    principal: Principal,
    disclosure_threshold: u32,
) -> std::result::Result<Viewer, DbError> {
    let cluster = match principal.clinic() {
        Some(y) => {
            let y = y.as_str().to_string();
            db.run(move |c| crate::facts::directory::clinic_cluster(c, &y))
                .await?
        }
        None => None,
    };
    Ok(Viewer {
        principal,
        cluster,
        disclosure_threshold,
        cells: Default::default(),
    })
}

impl RequestState {
    /// Fresh state for one request, with its deadline.
    pub fn new(deadline: Deadline, asked: AuditContext) -> Self {
        RequestState {
            work: WorkMeter::new(deadline),
            asked,
            ..RequestState::default()
        }
    }
}

/// The connections a viewer's reads use: patients have their own (`db::Lane::Reserved`).
pub fn lane(db: &Db, viewer: &Viewer) -> Db {
    match viewer.role() {
        crate::auth::Role::Patient => db.reserved(),
        _ => db.clone(),
    }
}

/// Admits aggregate work of `cost` units for this request (`access::work`): charged against
/// the role's budget, then run under the request's one permit.
pub async fn admit(ctx: &Context<'_>, cost: u64) -> Result<()> {
    let viewer = viewer(ctx)?;
    let state = state(ctx)?;
    let work = ctx
        .data::<Arc<WorkAdmission>>()
        .map_err(|_| internal("no work admission in the schema context"))?;
    work.charge(&state.work, viewer.role(), cost)
        .map_err(refused)?;
    let mut held = state.permit.lock().await;
    if held.is_none() {
        *held = Some(
            work.permit(&state.work, &viewer.principal)
                .await
                .map_err(refused)?,
        );
    }
    drop(held);
    // Heavy by what the whole request has cost so far: many light fields add up.
    if work.is_heavy(state.work.spent()) {
        let mut heavy = state.heavy.lock().await;
        if heavy.is_none() {
            *heavy = Some(work.heavy_permit(&state.work).await.map_err(refused)?);
        }
    }
    Ok(())
}

fn refused(r: Refusal) -> async_graphql::Error {
    let code = match r {
        Refusal::OverBudget { .. } => Code::OperationLimit,
        Refusal::Busy => Code::Overloaded,
    };
    async_graphql::Error::new(r.to_string()).extend_with(move |_, e| e.set("code", code.as_str()))
}

/// Work this small (in units of `access::work`: about a plan version scanned each, so tens of
/// microseconds) runs on the async worker: handing it to another thread would cost more.
const INLINE_WORK: u64 = 4_096;

/// Admitted work off the async workers, on a low-priority thread (`background`), with the
/// request's deadline to check as it goes; small work (`INLINE_WORK`) in place.
pub async fn compute<T, F>(ctx: &Context<'_>, cost: u64, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Deadline) -> std::result::Result<T, Expired> + Send + 'static,
{
    admit(ctx, cost).await?;
    let state = state(ctx)?;
    let deadline = state.work.deadline;
    let done = if cost <= INLINE_WORK {
        f(&deadline)
    } else {
        let _turn = state.computing.lock().await;
        crate::background::run(move || f(&deadline))
            .await
            .ok_or_else(|| internal("aggregate work did not finish"))?
    };
    done.map_err(|Expired| {
        async_graphql::Error::new(
            "the request took longer than its deadline and its work was stopped; ask for \
                 less, or try again later",
        )
        .extend_with(|_, e| e.set("code", Code::Timeout.as_str()))
    })
}

pub fn viewer<'a>(ctx: &Context<'a>) -> Result<&'a Viewer> {
    ctx.data::<Viewer>().map_err(|_| crate::access::forbidden())
}

pub fn db<'a>(ctx: &Context<'a>) -> Result<&'a Db> {
    ctx.data::<Db>()
        .map_err(|_| internal("no database in the schema context"))
}

pub fn state<'a>(ctx: &Context<'a>) -> Result<&'a RequestState> {
    ctx.data::<Arc<RequestState>>()
        .map(|s| s.as_ref())
        .map_err(|_| internal("no request state in the GraphQL request"))
}

/// Clinics and clusters as the data is now: the request's snapshot's when it has one, else
/// read by data version without waiting for a snapshot build (`Aggregates::directory`).
pub async fn directory(ctx: &Context<'_>) -> Result<Arc<Directory>> {
    let state = state(ctx)?;
    // A request that has the snapshot already takes its directory: one view of the data.
    if let Some(s) = state.snapshot.get() {
        return Ok(s.directory.clone());
    }
    state
        .directory
        .get_or_try_init(|| async { aggregates(ctx)?.directory(db(ctx)?).await.map_err(db_error) })
        .await
        .cloned()
}

fn aggregates<'a>(ctx: &Context<'a>) -> Result<&'a Arc<Aggregates>> {
    ctx.data::<Arc<Aggregates>>()
        .map_err(|_| internal("no rollout aggregates in the schema context"))
}

/// Per clinic, plan versions in the 12 months to `d`; loaded once per request and date.
pub async fn clinic_windows(ctx: &Context<'_>, d: NaiveDate) -> Result<Windows> {
    let state = state(ctx)?;
    let once = state
        .windows
        .lock()
        .map_err(|_| internal("request state lock poisoned"))?
        .entry(d)
        .or_default()
        .clone();
    once.get_or_try_init(|| async {
        let after = crate::facts::metrics::year_back(d);
        let snap = snapshot(ctx).await?;
        // Two lookups in each clinic's running totals.
        let cost = snap.directory.clinics.len() as u64;
        compute(ctx, cost, move |_| Ok(snap.clinic_windows(after, d))).await
    })
    .await
    .cloned()
}

/// The rollout aggregates as of this request (one version check per request).
pub async fn snapshot(ctx: &Context<'_>) -> Result<Arc<Snapshot>> {
    let state = state(ctx)?;
    state
        .snapshot
        .get_or_try_init(|| async { aggregates(ctx)?.get(db(ctx)?).await.map_err(db_error) })
        .await
        .cloned()
}

/// A bad argument: names the argument and the rule it broke.
pub fn bad_input(argument: &str, rule: impl std::fmt::Display) -> async_graphql::Error {
    async_graphql::Error::new(format!("{argument}: {rule}"))
        .extend_with(|_, e| e.set("code", Code::BadUserInput.as_str()))
}

/// An internal failure: logged in full, shown to the client without detail.
pub fn internal(detail: impl std::fmt::Display) -> async_graphql::Error {
    tracing::error!(error = %detail, "internal error while resolving");
    async_graphql::Error::new("internal error; quote the x-request-id when reporting it")
        .extend_with(|_, e| e.set("code", Code::Internal.as_str()))
}

pub fn db_error(e: DbError) -> async_graphql::Error {
    if e.is_unparsable() {
        return unparsable(format!("a stored value does not parse: {e}"));
    }
    if e.is_statement_timeout() {
        tracing::warn!("a statement ran past database.statement_timeout_ms and was cancelled");
        return async_graphql::Error::new(
            "the database took too long to answer; try again, or ask for less",
        )
        .extend_with(|_, x| x.set("code", Code::Timeout.as_str()));
    }
    internal(e)
}

/// A value read back from the database, which parsed when it was stored and must parse now:
/// one that does not (a row written by hand, or by a bug) is logged with its column, counted,
/// and answered as an internal error, never dropped or defaulted quietly.
pub fn stored<T, E: std::fmt::Display>(
    column: &'static str,
    parsed: std::result::Result<T, E>,
) -> Result<T> {
    parsed.map_err(|e| unparsable(format!("stored {column} does not parse: {e}")))
}

/// A stored value that did not parse: counted, then an internal error.
fn unparsable(detail: String) -> async_graphql::Error {
    crate::db::count_unparsable_stored_value();
    internal(detail)
}

/// An optional `asOf` argument: the date given, or today in Copenhagen when absent.
pub fn as_of_or_today(as_of: Option<Date>) -> NaiveDate {
    match as_of {
        Some(Date(d)) => d,
        None => chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Copenhagen)
            .date_naive(),
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date written YYYY-MM-DD (dato).
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => crate::domain::parse_date(s)
                .map(Date)
                .map_err(|e| InputValueError::custom(e.to_string())),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    /// Literal dates are checked when the document is validated, so a bad one is a request
    /// error naming its argument (variables: `service::document`).
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if crate::domain::parse_date(s).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// The dates a person count covers (DOMAIN.md, "Bounded question space"): controlled counts
/// are taken over whole calendar months, and say so.
#[derive(Debug, Clone, Copy, async_graphql::SimpleObject)]
// In several subgraphs, so shareable in federation (ignored in the one-process schema).
#[graphql(shareable)]
pub struct Window {
    /// The first date counted; null when the count takes everything up to `to`.
    pub from: Option<Date>,
    /// The last date counted.
    pub to: Date,
    /// True when the dates asked for were widened to whole months (controlled counts).
    pub widened: bool,
}

impl From<CountWindow> for Window {
    fn from(w: CountWindow) -> Self {
        Window {
            from: w.from.map(Date),
            to: Date(w.to),
            widened: w.widened,
        }
    }
}
