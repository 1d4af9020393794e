//! Execution: within the request's deadline, on the viewer's database lane, and nothing leaves
//! before its record is written — the question log when the answer holds controlled counts
//! (`access::budget`), the audit when it holds person-level data (`access::audit`).

use super::document::Document;
use super::{Answer, Caller, GraphqlService};
use crate::access::work::Deadline;
use crate::access::{AuditContext, AuditRecords, Charge, Question};
use crate::domain::Timestamp;
use crate::error::{ApiError, Code};
use crate::gql;
use tracing::Instrument;

/// An operation admitted to run, with what the records of it need.
pub struct Admitted {
    pub request: async_graphql::Request,
    pub operation_name: Option<String>,
    pub document: Document,
    pub writes: bool,
}

impl Admitted {
    /// Whether the operation is a mutation (the HTTP layer charges the write budget).
    pub fn writes(&self) -> bool {
        self.writes
    }
}

/// Runs the admitted request; stopped with TIMEOUT at `server.request_timeout_ms`.
pub async fn execute(
    service: &GraphqlService,
    caller: &Caller,
    admitted: Admitted,
) -> Result<Answer, ApiError> {
    let deadline = service.request_timeout;
    let run = run_and_record(service, caller, admitted);
    match actix_web::rt::time::timeout(deadline, run).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                timeout_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
                "request stopped at server.request_timeout_ms"
            );
            Err(ApiError::new(
                Code::Timeout,
                format!(
                    "the request took longer than {} ms and was stopped; ask for less, or try \
                     again later",
                    deadline.as_millis()
                ),
            )
            .with_request_id(&caller.request_id))
        }
    }
}

async fn run_and_record(
    service: &GraphqlService,
    caller: &Caller,
    admitted: Admitted,
) -> Result<Answer, ApiError> {
    let Admitted {
        request,
        operation_name,
        document,
        ..
    } = admitted;
    let internal = |message: &str| {
        ApiError::new(Code::Internal, message.to_string()).with_request_id(&caller.request_id)
    };
    let viewer = match &caller.principal {
        Some(p) => Some(
            gql::viewer_for(&service.db, p.clone(), service.disclosure_threshold)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot look up the clinician's clinic");
                    internal("internal error")
                })?,
        ),
        None => None,
    };
    let cells = viewer.as_ref().map(|v| v.cells.clone());
    // The variables as the question log keeps them; only roles with a cell budget have a log
    // (patients, on the hot path, are spared the serialization).
    let variables = caller
        .principal
        .as_ref()
        .filter(|p| service.cell_budget.limit(p.role()).is_some())
        .map(|_| serde_json::to_string(&request.variables).unwrap_or_default())
        .unwrap_or_default();
    let asked = AuditContext {
        request_id: caller.request_id.clone(),
        trusted_operation: document.trusted,
        client_request_id: caller.client_request_id.clone(),
        client_operation: operation_name.clone(),
    };
    let (request, request_state) = crate::schema::attach(
        request,
        &service.db,
        viewer,
        &service.work,
        Deadline::after(service.request_timeout),
        asked,
    );
    let mut response = service
        .schema
        .execute(request)
        .instrument(tracing::debug_span!("execute"))
        .await;
    // Turned away for capacity: the whole request is 503, to be tried again shortly.
    if request_state.work.overloaded() {
        return Err(ApiError::overloaded());
    }
    // Controlled counts leave only within the user's daily budget, and the question is
    // logged before the answer leaves (access::budget).
    if let (Some(principal), Some(cells)) = (&caller.principal, cells) {
        let cells = cells.cell_ids();
        let now = Timestamp::now();
        let trusted = document.trusted.is_some();
        if service
            .cell_budget
            .needs_write(principal, trusted, &cells, now)
        {
            let budget = service.cell_budget.clone();
            let principal = principal.clone();
            let request_id = caller.request_id.clone();
            let operation = document
                .trusted
                .map(str::to_string)
                .or(operation_name.clone());
            let asked = match document.trusted {
                Some(name) => name.to_string(),
                None => document.text,
            };
            let charge = service
                .db
                .run(move |c| {
                    let question = Question {
                        request_id: &request_id,
                        operation: operation.as_deref(),
                        trusted,
                        document: &asked,
                        variables: &variables,
                    };
                    budget.charge(c, &principal, &question, &cells, now)
                })
                .instrument(tracing::debug_span!("question_log"))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "question log write failed; the answer is withheld");
                    internal(
                        "internal error: the answer was withheld because its question could \
                         not be logged",
                    )
                })?;
            if let Charge::Exceeded { budget } = charge {
                return Err(ApiError::disclosure_budget(budget, now));
            }
        }
    }
    // Internal errors say which request they were, so a report can be matched to the log.
    for e in &mut response.errors {
        let code = e.extensions.as_ref().and_then(|x| x.get("code")).cloned();
        if code == Some(async_graphql::Value::from(Code::Internal.as_str())) {
            e.extensions
                .get_or_insert_with(Default::default)
                .set("requestId", caller.request_id.as_str());
        }
    }
    // The audit goes first: person-level data leaves only once its reads are on record.
    if let Some(principal) = caller
        .principal
        .as_ref()
        .filter(|_| !request_state.trail.is_empty())
    {
        let views = request_state.trail.viewed_by();
        let now = Timestamp::now();
        let written =
            match AuditRecords::of(&request_state.trail, principal, &request_state.asked, now) {
                Ok(records) => {
                    service
                        .audit
                        .write(records)
                        .instrument(tracing::debug_span!("audit"))
                        .await
                }
                Err(e) => Err(e),
            };
        written.map_err(|e| {
            tracing::error!(error = %e, "audit write failed; the answer is withheld");
            internal(
                "internal error: the answer was withheld because its audit record could \
                     not be written",
            )
        })?;
        for cpr in views {
            service.aggregates.record_view(&cpr, now.local_date());
        }
    }
    Ok(Answer::new(response))
}
