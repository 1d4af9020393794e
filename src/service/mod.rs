//! The GraphQL request path without the transport: a caller (who, from where, which request)
//! and a call (document text or trusted id, operation name, variables) in, an answer or a
//! refusal out. The HTTP layer decodes requests into calls and maps outcomes to statuses; the
//! benchmarks and tests call the same service.
//!
//! The stages, in order, each a typed step:
//! 1. `document::resolve`: the document by trusted id or text (`trusted::Manifest`);
//! 2. `admission::document`: may this role send it at all (before the parse is paid for);
//!    an ad-hoc document's text within `[limits]`;
//! 3. `document::inspect`: parsed once (the schema reuses the parse), the selected operation
//!    found, its kind checked against the call, an ad-hoc operation within `[limits]`;
//! 4. `admission::subgraph_roots` and `admission::operation`: the root fields this process
//!    answers, and how the operation runs (with or without introspection);
//! 5. `run::execute`: execution within `server.request_timeout_ms`, the disclosure budget
//!    charged and the audit written before the answer leaves (`run.rs`);
//! 6. `Answer`: the response as GraphQL-over-HTTP shapes it (no `data` when nothing ran).

mod document;
mod run;

pub use run::Admitted;

use crate::access::admission::{self, NotAdmitted, Roots};
use crate::access::limits::{self, Exceeded};
use crate::access::work::WorkAdmission;
use crate::access::{AuditWriter, CellBudget};
use crate::auth::Principal;
use crate::config::{DocumentSettings, LimitSettings, Settings};
use crate::db::Db;
use crate::error::{ApiError, Code};
use crate::facts::snapshot::Aggregates;
use crate::federation::Subgraph;
use crate::schema::Served;
use crate::trusted::Manifest;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Who asks: the authenticated principal (or nobody), and the request's ids for the log.
pub struct Caller {
    pub principal: Option<Principal>,
    /// Ours, in every log line and on INTERNAL and TIMEOUT errors.
    pub request_id: String,
    /// The client's own `x-request-id`, recorded beside ours, never in its place.
    pub client_request_id: Option<String>,
}

/// One GraphQL request, as decoded from the transport.
#[derive(Debug, Default)]
pub struct Call {
    pub query: Option<String>,
    /// A trusted document's id: `documentId`, or Apollo's
    /// `extensions.persistedQuery.sha256Hash`.
    pub document_id: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
    /// Only queries may run (GraphQL-over-HTTP: a GET must not change anything).
    pub queries_only: bool,
}

/// What a call that was not refused answers.
pub struct Answer {
    pub response: async_graphql::Response,
    /// Nothing ran: the document did not parse or validate (errors without a path).
    pub request_error: bool,
    /// The trusted document that ran, if it was one (logs and metrics name it; an ad-hoc
    /// document's own name is free text and is not used).
    pub trusted: Option<&'static str>,
}

impl Answer {
    fn new(response: async_graphql::Response) -> Self {
        let request_error = response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        Self {
            response,
            request_error,
            trusted: None,
        }
    }

    /// The response as JSON; a request error has no `data` entry at all (GraphQL-over-HTTP).
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        if self.request_error {
            serde_json::to_vec(&serde_json::json!({ "errors": self.response.errors }))
        } else {
            serde_json::to_vec(&self.response)
        }
    }
}

/// The GraphQL service one process runs: the schema and everything a request is checked
/// against on its way to it.
pub struct GraphqlService {
    schema: Served,
    /// The subgraph this process serves, or None for the whole graph.
    subgraph: Option<Subgraph>,
    db: Db,
    manifest: Manifest,
    limits: LimitSettings,
    documents: DocumentSettings,
    anonymous_introspection: bool,
    aggregates: Arc<Aggregates>,
    disclosure_threshold: u32,
    /// The daily budget of distinct controlled cells, and the question log.
    cell_budget: Arc<CellBudget>,
    /// Cost budgets and permits for aggregate work.
    work: Arc<WorkAdmission>,
    request_timeout: Duration,
    /// The audit's writer, committing concurrent answers' records in one transaction.
    audit: AuditWriter,
}

impl GraphqlService {
    /// The service, with the audit's writer started on the database's reserved lane.
    pub fn new(
        settings: &Settings,
        db: Db,
        schema: Served,
        aggregates: Arc<Aggregates>,
    ) -> std::io::Result<Self> {
        let audit = AuditWriter::start(db.reserved())?;
        Ok(Self {
            audit,
            schema,
            subgraph: settings.server.subgraph,
            db,
            manifest: Manifest::builtin(),
            limits: settings.limits.clone(),
            documents: settings.documents.clone(),
            anonymous_introspection: settings.auth.anonymous_introspection,
            aggregates,
            disclosure_threshold: settings.access.disclosure_threshold,
            cell_budget: Arc::new(CellBudget::new(settings.access.cell_budget.clone())),
            work: Arc::new(WorkAdmission::new(settings.work.clone())),
            request_timeout: Duration::from_millis(settings.server.request_timeout_ms),
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn aggregates(&self) -> &Arc<Aggregates> {
        &self.aggregates
    }

    /// Runs one call for one caller through every stage (see the module's documentation).
    pub async fn execute(&self, caller: &Caller, call: Call) -> Result<Answer, ApiError> {
        let admitted = self.admit(caller, call)?;
        self.run(caller, admitted).await
    }

    /// Stage 5 and 6 of an admitted call (the HTTP layer charges a mutation's write budget
    /// between the two).
    pub async fn run(&self, caller: &Caller, admitted: Admitted) -> Result<Answer, ApiError> {
        let trusted_name = admitted.document.trusted;
        let mut answer = run::execute(self, caller, admitted).await?;
        answer.trusted = trusted_name;
        Ok(answer)
    }

    /// Stages 1 to 4: the document found, checked and parsed, and how it may run.
    pub fn admit(&self, caller: &Caller, call: Call) -> Result<Admitted, ApiError> {
        tracing::debug_span!("admit").in_scope(|| self.admit_now(caller, call))
    }

    fn admit_now(&self, caller: &Caller, call: Call) -> Result<Admitted, ApiError> {
        let role = caller.principal.as_ref().map(Principal::role);
        let document = document::resolve(&self.manifest, call.query, call.document_id)?;
        let trusted = document.trusted.is_some();
        let sendable = admission::document(role, trusted, &self.documents).map_err(not_admitted)?;
        if !trusted {
            limits::check_text(&self.limits, &document.text).map_err(limit)?;
        }
        let mut request = async_graphql::Request::new(document.text.clone());
        if let Some(parsed) = document.trusted.and_then(|name| self.manifest.parsed(name)) {
            request.set_parsed_query(parsed.clone());
        }
        if let Some(name) = call.operation_name {
            request = request.operation_name(name);
        }
        if let Some(vars) = call.variables {
            request = request.variables(async_graphql::Variables::from_json(Value::Object(vars)));
        }
        let limits = (!trusted).then_some(&self.limits);
        let operation = document::inspect(&mut request, call.queries_only, limits)?;
        let roots: Vec<&str> = operation.roots.iter().map(String::as_str).collect();
        admission::subgraph_roots(self.subgraph, &roots).map_err(not_admitted)?;
        let admitted = admission::operation(
            role,
            sendable,
            Roots::of(operation.parsed, &roots),
            &self.documents,
            self.anonymous_introspection,
        )
        .map_err(not_admitted)?;
        if admitted == admission::Admitted::WithoutIntrospection {
            request = request.disable_introspection();
        }
        Ok(Admitted {
            request,
            operation_name: operation.name,
            document,
            writes: operation.writes,
        })
    }
}

/// A document `access::admission` turned away, as the client sees it.
fn not_admitted(n: NotAdmitted) -> ApiError {
    let code = match n {
        NotAdmitted::TrustedOnly(_) => Code::PersistedQueryRequired,
        NotAdmitted::Unauthenticated => Code::Unauthenticated,
        NotAdmitted::IntrospectionClosed(_) => Code::Forbidden,
        NotAdmitted::ForeignRoot { .. } => Code::BadRequest,
    };
    ApiError::new(code, n.to_string())
}

fn limit(e: Exceeded) -> ApiError {
    ApiError::new(Code::OperationLimit, e.to_string())
}
