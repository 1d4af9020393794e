//! Prometheus metrics (`GET /metrics`, text exposition format, through the `prometheus`
//! crate). Every label has a bounded set of values: an operation is a trusted document's name
//! or `ad_hoc`, a role one of five or `anonymous`, an outcome one of four, an error one of the
//! gateway's codes. No label ever carries a CPR number, a token or an argument.

use crate::auth::Role;
use crate::error::Code;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::LazyLock;

/// How one GraphQL request (or a refused HTTP request) ended; a batch's is its worst member's
/// (the order below).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Answered without errors.
    Ok,
    /// Answered with data and errors beside it (fields refused or failed).
    Partial,
    /// Answered with errors and no data (a request error, or every root field failed).
    Error,
    /// Turned away before it ran: authentication, admission, limits, rate limits, budget.
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Partial => "partial",
            Outcome::Error => "error",
            Outcome::Refused => "refused",
        }
    }
}

/// The operation label: a trusted document's name, or `ad_hoc` for a document of the
/// caller's own (whatever name it gives itself: that name is free text).
pub fn operation_label(trusted: Option<&'static str>) -> &'static str {
    trusted.unwrap_or("ad_hoc")
}

pub fn role_label(role: Option<Role>) -> &'static str {
    role.map_or("anonymous", Role::as_str)
}

/// Why a request with this code was turned away, as the `refusals_total` label says it.
pub fn refusal_reason(code: Code) -> &'static str {
    match code {
        Code::Unauthenticated => "authentication",
        Code::Forbidden | Code::PersistedQueryRequired | Code::PersistedQueryNotFound => {
            "admission"
        }
        Code::OperationLimit | Code::PayloadTooLarge => "limit",
        Code::RateLimited => "rate_limit",
        Code::DisclosureBudget => "budget",
        Code::Overloaded => "overload",
        Code::RequestTimeout | Code::Timeout => "timeout",
        Code::BadRequest
        | Code::BadUserInput
        | Code::Conflict
        | Code::NotFound
        | Code::MethodNotAllowed
        | Code::NotAcceptable
        | Code::UnsupportedMediaType
        | Code::Internal => "http",
    }
}

struct Families {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    errors: IntCounterVec,
    refusals: IntCounterVec,
    audit_records: IntCounter,
    audit_commits: IntCounter,
    audit_failures: IntCounter,
    audit_commit_seconds: Histogram,
    pool: IntGaugeVec,
    checkout_seconds: Histogram,
    checkout_failures: IntCounter,
    snapshot_version: IntGauge,
    snapshot_age: IntGauge,
    db_statements: IntCounter,
    unparsable: IntCounter,
}

/// Request latencies from half a millisecond (a patient's plans) to the 10 s deadline.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn families() -> Result<Families, prometheus::Error> {
    let registry = Registry::new_custom(Some("forloeb".into()), None)?;
    let requests = IntCounterVec::new(
        Opts::new(
            "graphql_requests_total",
            "GraphQL requests by operation (trusted name or ad_hoc), role and outcome.",
        ),
        &["operation", "role", "outcome"],
    )?;
    let duration = HistogramVec::new(
        HistogramOpts::new(
            "graphql_request_duration_seconds",
            "Time from the parsed call to the serialized answer, per operation.",
        )
        .buckets(LATENCY_BUCKETS.to_vec()),
        &["operation"],
    )?;
    let errors = IntCounterVec::new(
        Opts::new(
            "graphql_errors_total",
            "GraphQL errors answered, by extensions.code.",
        ),
        &["code"],
    )?;
    let refusals = IntCounterVec::new(
        Opts::new(
            "refusals_total",
            "Requests turned away before they ran, by why: authentication, admission, limit, \
             rate_limit, budget, overload, timeout, http.",
        ),
        &["reason"],
    )?;
    let audit_records = IntCounter::new(
        "audit_records_total",
        "Audit records committed (person-level reads and a patient's plan views).",
    )?;
    let audit_commits = IntCounter::new(
        "audit_commits_total",
        "Group commits of the audit (each holds the records of the answers that waited).",
    )?;
    let audit_failures = IntCounter::new(
        "audit_commit_failures_total",
        "Audit group commits that failed: every answer of the group was withheld.",
    )?;
    let audit_commit_seconds = Histogram::with_opts(
        HistogramOpts::new(
            "audit_commit_duration_seconds",
            "Time one audit group commit took.",
        )
        .buckets(LATENCY_BUCKETS.to_vec()),
    )?;
    let pool = IntGaugeVec::new(
        Opts::new(
            "db_pool_connections",
            "Database connections of the serving pools, by state (in_use, idle).",
        ),
        &["state"],
    )?;
    let checkout_seconds = Histogram::with_opts(
        HistogramOpts::new(
            "db_pool_checkout_duration_seconds",
            "Time to get a database connection from the pool: above the first buckets, a \
             request waited for a connection.",
        )
        .buckets(vec![0.0001, 0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10.0]),
    )?;
    let checkout_failures = IntCounter::new(
        "db_pool_checkout_failures_total",
        "Connections not had within the pool's timeout (the database down, or every \
         connection busy).",
    )?;
    let snapshot_version = IntGauge::new(
        "aggregates_data_version",
        "The data version the in-memory aggregates were built from (every import batch adds one).",
    )?;
    let snapshot_age = IntGauge::new(
        "aggregates_age_seconds",
        "Seconds since the in-memory aggregates were built (-1: not built yet).",
    )?;
    let db_statements = IntCounter::new(
        "db_statements_total",
        "SQL statements executed by this process.",
    )?;
    let unparsable = IntCounter::new(
        "stored_values_unparsable_total",
        "Stored values read back that did not parse (each also logged as an internal error).",
    )?;
    for c in [
        Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(duration.clone()),
        Box::new(errors.clone()),
        Box::new(refusals.clone()),
        Box::new(audit_records.clone()),
        Box::new(audit_commits.clone()),
        Box::new(audit_failures.clone()),
        Box::new(audit_commit_seconds.clone()),
        Box::new(pool.clone()),
        Box::new(checkout_seconds.clone()),
        Box::new(checkout_failures.clone()),
        Box::new(snapshot_version.clone()),
        Box::new(snapshot_age.clone()),
        Box::new(db_statements.clone()),
        Box::new(unparsable.clone()),
    ] {
        registry.register(c)?;
    }
    Ok(Families {
        registry,
        requests,
        duration,
        errors,
        refusals,
        audit_records,
        audit_commits,
        audit_failures,
        audit_commit_seconds,
        pool,
        checkout_seconds,
        checkout_failures,
        snapshot_version,
        snapshot_age,
        db_statements,
        unparsable,
    })
}

/// The families, made once. They are fixed at compile time, so making them cannot fail but
/// by a bug; if it does, metrics are off (logged) rather than the gateway.
static FAMILIES: LazyLock<Option<Families>> = LazyLock::new(|| match families() {
    Ok(f) => Some(f),
    Err(e) => {
        tracing::error!(error = %e, "the metrics could not be registered; /metrics is empty");
        None
    }
});

fn with(f: impl FnOnce(&Families)) {
    if let Some(families) = FAMILIES.as_ref() {
        f(families);
    }
}

/// One GraphQL request answered (or refused) after `seconds`.
pub fn request(operation: &'static str, role: &'static str, outcome: Outcome, seconds: f64) {
    with(|m| {
        m.requests
            .with_label_values(&[operation, role, outcome.as_str()])
            .inc();
        m.duration.with_label_values(&[operation]).observe(seconds);
    });
}

/// One error answered, by its code.
pub fn error(code: &'static str) {
    with(|m| m.errors.with_label_values(&[code]).inc());
}

/// One request turned away, and why.
pub fn refusal(reason: &'static str) {
    with(|m| m.refusals.with_label_values(&[reason]).inc());
}

/// One audit group commit of `records` records that took `seconds`, and whether it held.
pub fn audit_commit(records: usize, seconds: f64, committed: bool) {
    with(|m| {
        m.audit_commit_seconds.observe(seconds);
        if committed {
            m.audit_commits.inc();
            m.audit_records
                .inc_by(u64::try_from(records).unwrap_or(u64::MAX));
        } else {
            m.audit_failures.inc();
        }
    });
}

/// One connection checkout from a pool, how long it took, and whether one was had.
pub fn pool_checkout(seconds: f64, had: bool) {
    with(|m| {
        m.checkout_seconds.observe(seconds);
        if !had {
            m.checkout_failures.inc();
        }
    });
}

/// What is read at scrape time rather than counted as it happens.
pub struct Gauges {
    pub pool_in_use: u32,
    pub pool_idle: u32,
    /// The aggregates' data version and age in seconds, once built.
    pub snapshot: Option<(i64, u64)>,
}

fn catch_up(counter: &IntCounter, now: u64) {
    counter.inc_by(now.saturating_sub(counter.get()));
}

/// The text exposition of every family.
pub fn render(g: &Gauges) -> String {
    let mut out = Vec::new();
    with(|m| {
        m.pool
            .with_label_values(&["in_use"])
            .set(i64::from(g.pool_in_use));
        m.pool
            .with_label_values(&["idle"])
            .set(i64::from(g.pool_idle));
        let (version, age) = g
            .snapshot
            .map_or((0, -1), |(v, a)| (v, i64::try_from(a).unwrap_or(i64::MAX)));
        m.snapshot_version.set(version);
        m.snapshot_age.set(age);
        // Counted elsewhere as plain atomics (on every statement, where a label lookup would
        // cost); brought up to date here.
        catch_up(&m.db_statements, crate::db::statements_executed());
        catch_up(&m.unparsable, crate::db::unparsable_stored_values());
        if let Err(e) = TextEncoder::new().encode(&m.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
    });
    String::from_utf8(out).unwrap_or_default()
}

/// An import's figures in the text format, for a node exporter's textfile collector
/// (`forloeb import --metrics-file`): lines read, loaded, unchanged and rejected per feed,
/// how long it took, and when it finished. A registry of its own: these are one run's.
pub fn import_textfile(
    summaries: &[crate::ingest::FileSummary],
    seconds: f64,
    finished_at_unix: i64,
) -> Result<String, prometheus::Error> {
    let registry = Registry::new_custom(Some("forloeb".into()), None)?;
    let lines = IntGaugeVec::new(
        Opts::new(
            "import_lines",
            "Lines of the last import per feed, by what became of them (read, loaded, \
             unchanged, rejected).",
        ),
        &["feed", "result"],
    )?;
    let duration =
        prometheus::Gauge::new("import_duration_seconds", "How long the last import took.")?;
    let finished = IntGauge::new(
        "import_last_finished_timestamp_seconds",
        "When the last import finished (Unix time).",
    )?;
    registry.register(Box::new(lines.clone()))?;
    registry.register(Box::new(duration.clone()))?;
    registry.register(Box::new(finished.clone()))?;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    for s in summaries {
        for (result, n) in [
            ("read", s.read),
            ("loaded", s.loaded),
            ("unchanged", s.unchanged),
            ("rejected", s.rejected),
        ] {
            lines.with_label_values(&[s.feed, result]).add(count(n));
        }
    }
    duration.set(seconds);
    finished.set(finished_at_unix);
    let mut out = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
