//! `/graphql` over GET and POST per the GraphQL-over-HTTP specification, in the order a
//! request meets the checks: rate limit per address, token, rate limit per user; then per
//! GraphQL request the trusted-document gate, operation limits, the subgraph's root fields,
//! introspection, and execution within the deadline with the audit record before the answer.
//!
//! The handler is ours rather than async-graphql-actix-web's extractor: the spec asks for
//! GraphQL-shaped error bodies on malformed requests, `application/graphql-response+json`
//! negotiation with its status-code rules, and 405 for mutations over GET, which the
//! extractor answers differently.

use super::{limits, AppState};
use crate::access::admission::{self, Admitted, NotAdmitted, Roots};
use crate::access::work::Deadline;
use crate::access::{write_audit, AuditContext, Charge, Question};
use crate::auth::Principal;
use crate::domain::Timestamp;
use crate::error::{Code, HttpError};
use crate::gql;
use crate::http::request::{bad_request, check_content_type, read_body, GraphqlCall, ResponseType};
use crate::http::{client, subgraph, RequestId};
use crate::trusted::{self, Manifest, TrustedDocument};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpMessage;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::Variables;
use serde_json::{json, Value};

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let response_type = ResponseType::negotiate(&req)?;
    check_content_type(&req)?;
    // The address's slot and first token before the body: a client that trickles bodies is
    // bounded before it costs a read, and the read itself has a deadline.
    let _slot = address_gate(&req, &state, 1).await?;
    let body = actix_web::rt::time::timeout(
        state.body_timeout,
        read_body(&req, payload, state.body_limit),
    )
    .await
    .map_err(|_| {
        HttpError::new(
            Code::RequestTimeout,
            format!(
                "the request body did not arrive within {} ms",
                state.body_timeout.as_millis()
            ),
        )
    })??;
    let json: Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("the request body is not valid JSON: {e}")))?;
    match json {
        Value::Array(items) => {
            let max = state.limits.batch;
            if max == 0 || items.len() > max {
                return Err(HttpError::new(
                    Code::OperationLimit,
                    limits::Exceeded {
                        limit: "batch",
                        max: max as u64,
                    }
                    .to_string(),
                ));
            }
            if items.is_empty() {
                return Err(bad_request("a batch must hold at least one request"));
            }
            // A malformed member spoils the whole batch: the client's serializer is broken.
            let calls = items
                .into_iter()
                .map(GraphqlCall::from_json)
                .collect::<Result<Vec<_>, _>>()?;
            respond(&req, &state, calls, Shape::Batch, response_type, false).await
        }
        single => {
            let call = GraphqlCall::from_json(single)?;
            respond(
                &req,
                &state,
                vec![call],
                Shape::Single,
                response_type,
                false,
            )
            .await
        }
    }
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    let response_type = ResponseType::negotiate(&req)?;
    let _slot = address_gate(&req, &state, 1).await?;
    let call = GraphqlCall::from_query_string(req.query_string())?;
    respond(&req, &state, vec![call], Shape::Single, response_type, true).await
}

/// Any other method on /graphql.
pub async fn method_not_allowed() -> Result<HttpResponse, HttpError> {
    Err(HttpError::new(
        Code::MethodNotAllowed,
        "/graphql accepts GET (queries) and POST",
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Single,
    Batch,
}

/// A slot among the address's requests in flight, and `cost` tokens of its rate limit.
async fn address_gate(
    req: &HttpRequest,
    state: &AppState,
    cost: u32,
) -> Result<client::InFlightGuard, HttpError> {
    let address = client::address(req, state.limiter.trusted_proxies());
    let slot = state.in_flight.enter(address).ok_or_else(|| {
        HttpError::rate_limited(1, "address (too many requests in flight at once)")
    })?;
    if state.limiter.enabled() {
        let verdict = state.limiter.check_address(address, cost).await;
        if let Some(secs) = verdict.retry_after_secs() {
            return Err(HttpError::rate_limited(secs, "address"));
        }
    }
    Ok(slot)
}

/// The token and the user's rate limit once per HTTP request (a batch costs one token per
/// member, the first paid at the address gate), then each GraphQL request.
async fn respond(
    req: &HttpRequest,
    state: &AppState,
    calls: Vec<GraphqlCall>,
    shape: Shape,
    response_type: ResponseType,
    over_get: bool,
) -> Result<HttpResponse, HttpError> {
    let ids = req.extensions().get::<RequestId>().cloned();
    let request_id = ids.as_ref().map(|r| r.id.clone()).unwrap_or_default();
    let client_request_id = ids.and_then(|r| r.client);
    let cost = u32::try_from(calls.len()).unwrap_or(u32::MAX);
    if state.limiter.enabled() && cost > 1 {
        let address = client::address(req, state.limiter.trusted_proxies());
        let verdict = state.limiter.check_address(address, cost - 1).await;
        if let Some(secs) = verdict.retry_after_secs() {
            return Err(HttpError::rate_limited(secs, "address"));
        }
    }
    let principal = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => Some(
            state
                .auth
                .authenticate(value.as_bytes())
                .await
                .map_err(|e| HttpError::new(Code::Unauthenticated, e.to_string()))?,
        ),
        None => None,
    };
    if let Some(p) = &principal {
        let verdict = state.limiter.check_principal(p.role(), &p.sub, cost).await;
        if let Some(secs) = verdict.retry_after_secs() {
            return Err(HttpError::rate_limited(secs, "user"));
        }
    }
    let json_response = |status, body: Vec<u8>| {
        HttpResponse::build(status)
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static(response_type.content_type()),
            ))
            .body(body)
    };
    let ctx = Ctx {
        state,
        principal: principal.as_ref(),
        request_id: &request_id,
        client_request_id: client_request_id.as_deref(),
        response_type,
        over_get,
    };
    if shape == Shape::Single {
        let Some(call) = calls.into_iter().next() else {
            return Err(bad_request("no request"));
        };
        let (status, body) = execute(&ctx, call).await?;
        return Ok(json_response(status, body));
    }
    // Members answer in order; one refused member does not spoil the others.
    let mut out = b"[".to_vec();
    for (i, call) in calls.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match execute(&ctx, call).await {
            Ok((_, body)) => out.extend_from_slice(&body),
            Err(e) => {
                out.extend_from_slice(json!({ "errors": [e.to_graphql()] }).to_string().as_bytes())
            }
        }
    }
    out.push(b']');
    Ok(json_response(StatusCode::OK, out))
}

/// What every GraphQL request of one HTTP request shares.
struct Ctx<'a> {
    state: &'a AppState,
    principal: Option<&'a Principal>,
    request_id: &'a str,
    /// The caller's x-request-id, recorded beside ours, never in its place.
    client_request_id: Option<&'a str>,
    response_type: ResponseType,
    over_get: bool,
}

/// The document a request runs, and whether it is a trusted one.
fn resolve_document(
    manifest: &Manifest,
    query: Option<String>,
    document_id: Option<String>,
) -> Result<(String, Option<&TrustedDocument>), HttpError> {
    match (query, document_id) {
        (Some(text), None) => {
            let trusted = manifest.by_text(&text);
            Ok((text, trusted))
        }
        (Some(text), Some(id)) => {
            if trusted::normalize_id(&id) != trusted::document_id(&text) {
                return Err(bad_request(
                    "documentId: is not the SHA-256 of the query sent with it",
                ));
            }
            let trusted = manifest.get(&id);
            Ok((text, trusted))
        }
        (None, Some(id)) => match manifest.get(&id) {
            Some(doc) => Ok((doc.text.to_string(), Some(doc))),
            None => Err(HttpError::new(
                Code::PersistedQueryNotFound,
                "documentId: no trusted document has this id; `forloeb schema --manifest` \
                 lists them",
            )),
        },
        (None, None) => Err(bad_request("query: missing")),
    }
}

/// The root fields an operation selects, through fragments and inline fragments at the root.
/// `depth` stops fragment cycles, which validation refuses only later.
fn root_fields<'d>(
    doc: &'d ExecutableDocument,
    set: &'d SelectionSet,
    depth: usize,
    out: &mut Vec<&'d str>,
) {
    if depth > 16 {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f.node.name.node.as_str()),
            Selection::InlineFragment(i) => {
                root_fields(doc, &i.node.selection_set.node, depth + 1, out)
            }
            Selection::FragmentSpread(s) => {
                if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                    root_fields(doc, &f.node.selection_set.node, depth + 1, out);
                }
            }
        }
    }
}

/// A document `access::admission` turned away, as the client sees it.
fn not_admitted(n: NotAdmitted) -> HttpError {
    let code = match n {
        NotAdmitted::TrustedOnly(_) => Code::PersistedQueryRequired,
        NotAdmitted::Unauthenticated => Code::Unauthenticated,
        NotAdmitted::IntrospectionClosed(_) => Code::Forbidden,
    };
    HttpError::new(code, n.to_string())
}

/// One GraphQL request: its document, the checks that apply to it, execution within the
/// deadline, and the audit record before the answer.
async fn execute(ctx: &Ctx<'_>, call: GraphqlCall) -> Result<(StatusCode, Vec<u8>), HttpError> {
    let state = ctx.state;
    let limit = |e: limits::Exceeded| HttpError::new(Code::OperationLimit, e.to_string());
    let (text, trusted) = resolve_document(&state.manifest, call.query, call.document_id)?;
    let role = ctx.principal.map(Principal::role);
    admission::document(role, trusted.is_some(), &state.documents).map_err(not_admitted)?;
    if trusted.is_none() {
        limits::check_text(&state.limits, &text).map_err(limit)?;
    }
    let mut request = async_graphql::Request::new(text);
    if let Some(name) = call.operation_name {
        request = request.operation_name(name);
    }
    if let Some(vars) = call.variables {
        request = request.variables(Variables::from_json(Value::Object(vars)));
    }
    // Parse once up front (the schema reuses it) to learn the operation's name, kind and roots.
    let wanted = request.operation_name.clone();
    let mut operation_name = None;
    let mut roots = Vec::new();
    let mut service = None;
    let mut parsed = false;
    let variables = request.variables.clone();
    if let Ok(doc) = request.parsed_query() {
        parsed = true;
        let selected = match &doc.operations {
            DocumentOperations::Single(op) => Some((None, op)),
            DocumentOperations::Multiple(ops) => match &wanted {
                Some(name) => ops.get(name.as_str()).map(|op| (Some(name.clone()), op)),
                // One named operation and no operationName: that one runs.
                None if ops.len() == 1 => {
                    ops.iter().next().map(|(n, op)| (Some(n.to_string()), op))
                }
                None => None,
            },
        };
        if let Some((name, op)) = selected {
            if ctx.over_get && op.node.ty != OperationType::Query {
                return Err(HttpError::new(
                    Code::MethodNotAllowed,
                    "only queries may be sent over GET; send mutations with POST",
                ));
            }
            if trusted.is_none() {
                limits::check_operation(&state.limits, doc, &op.node, &variables).map_err(limit)?;
            }
            if op.node.ty == OperationType::Query {
                root_fields(doc, &op.node.selection_set.node, 0, &mut roots);
            } else {
                roots.push("");
            }
            if let Some(sg) = state.subgraph {
                subgraph::check_roots(sg, &roots)?;
                service = subgraph::service_answer(sg, &op.node.selection_set.node);
            }
            if let Some(name) = &name {
                tracing::Span::current().record("operation", name.as_str());
            }
            operation_name = name;
        }
    }
    let admitted = admission::operation(
        role,
        Roots::of(parsed, &roots),
        &state.documents,
        state.anonymous_introspection,
    )
    .map_err(not_admitted)?;
    if admitted == Admitted::WithoutIntrospection {
        request = request.disable_introspection();
    }
    if let Some(answer) = service {
        let body = json!({ "data": answer? });
        return Ok((StatusCode::OK, body.to_string().into_bytes()));
    }
    let deadline = state.request_timeout;
    // What the question log keeps: the document as sent, or the trusted document's name.
    let asked = Asked {
        trusted: trusted.map(|t| t.name),
        document: match trusted {
            Some(t) => t.name.to_string(),
            None => request.query.clone(),
        },
        variables: serde_json::to_string(&request.variables).unwrap_or_default(),
    };
    let run = run_and_audit(ctx, request, operation_name, asked);
    match actix_web::rt::time::timeout(deadline, run).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                timeout_ms = deadline.as_millis() as u64,
                "request stopped at server.request_timeout_ms"
            );
            Err(HttpError::new(
                Code::Timeout,
                format!(
                    "the request took longer than {} ms and was stopped; ask for less, or try \
                     again later",
                    deadline.as_millis()
                ),
            )
            .with_request_id(ctx.request_id))
        }
    }
}

/// The question as the question log keeps it.
struct Asked {
    /// The trusted document's name, when the request used one.
    trusted: Option<&'static str>,
    document: String,
    variables: String,
}

async fn run_and_audit(
    ctx: &Ctx<'_>,
    request: async_graphql::Request,
    operation_name: Option<String>,
    asked: Asked,
) -> Result<(StatusCode, Vec<u8>), HttpError> {
    let state = ctx.state;
    let internal = |message: &str| {
        HttpError::new(Code::Internal, message.to_string()).with_request_id(ctx.request_id)
    };
    let viewer = match ctx.principal {
        Some(p) => Some(
            gql::viewer_for(&state.db, p.clone(), state.disclosure_threshold)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot look up the clinician's clinic");
                    internal("internal error")
                })?,
        ),
        None => None,
    };
    let cells = viewer.as_ref().map(|v| v.cells.clone());
    let asked_trusted = asked.trusted;
    // A patient's own read is recorded on the patients' connections.
    let audit_db = gql::lane(&state.db, viewer.as_ref());
    let (request, request_state) = gql::attach(
        request,
        &state.db,
        viewer,
        state.aggregates.record_keys(),
        &state.work,
        Deadline::after(state.request_timeout),
    );
    let mut response = state.schema.execute(request).await;
    // Turned away for capacity: the whole request is 503, to be tried again shortly.
    if request_state.work.overloaded() {
        return Err(HttpError::overloaded());
    }
    // Controlled counts leave only within the user's daily budget, and the question is
    // logged before the answer leaves (access::budget).
    if let (Some(principal), Some(cells)) = (ctx.principal, cells) {
        let cells = cells.cell_ids();
        let now = Timestamp::now();
        if state
            .cell_budget
            .needs_write(principal, asked.trusted.is_some(), &cells, now)
        {
            let budget = state.cell_budget.clone();
            let principal = principal.clone();
            let request_id = ctx.request_id.to_string();
            let operation = asked.trusted.map(str::to_string).or(operation_name.clone());
            let charge = state
                .db
                .run(move |c| {
                    let question = Question {
                        request_id: &request_id,
                        operation: operation.as_deref(),
                        trusted: asked.trusted.is_some(),
                        document: &asked.document,
                        variables: &asked.variables,
                    };
                    budget.charge(c, &principal, &question, &cells, now)
                })
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "question log write failed; the answer is withheld");
                    internal(
                        "internal error: the answer was withheld because its question could \
                         not be logged",
                    )
                })?;
            if let Charge::Exceeded { budget } = charge {
                return Err(HttpError::disclosure_budget(budget, now));
            }
        }
    }
    nulls_in_place(&mut response);
    // Internal errors say which request they were, so a report can be matched to the log.
    for e in &mut response.errors {
        let code = e.extensions.as_ref().and_then(|x| x.get("code")).cloned();
        if code == Some(async_graphql::Value::from(Code::Internal.as_str())) {
            e.extensions
                .get_or_insert_with(Default::default)
                .set("requestId", ctx.request_id);
        }
    }
    // A request error (the document did not parse or validate) leaves no data; field errors
    // carry a path. With graphql-response+json the former is a 400, the latter a 200.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if request_error && ctx.response_type == ResponseType::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // The audit goes first: person-level data leaves only once its reads are on record.
    if let Some(principal) = ctx.principal.filter(|_| !request_state.trail.is_empty()) {
        let views = request_state.trail.viewed_by();
        let now = Timestamp::now();
        let principal = principal.clone();
        let request_id = ctx.request_id.to_string();
        let client_request_id = ctx.client_request_id.map(str::to_string);
        let trusted = asked_trusted;
        audit_db
            .run(move |c| {
                let asked = AuditContext {
                    request_id: &request_id,
                    trusted_operation: trusted,
                    client_request_id: client_request_id.as_deref(),
                    client_operation: operation_name.as_deref(),
                };
                write_audit(c, &request_state.trail, &principal, &asked, now).map_err(|e| e.0)
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "audit write failed; the answer is withheld");
                internal(
                    "internal error: the answer was withheld because its audit record could \
                     not be written",
                )
            })?;
        for cpr in views {
            state.aggregates.record_view(&cpr, now.local_date());
        }
    }
    let serialized = if request_error {
        // Nothing executed: the answer has no `data` entry at all (GraphQL-over-HTTP).
        serde_json::to_vec(&json!({ "errors": response.errors }))
    } else {
        serde_json::to_vec(&response)
    };
    let body = serialized.map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a GraphQL response");
        internal("internal error")
    })?;
    Ok((status, body))
}

/// async-graphql leaves a nullable field whose resolver failed out of its object (and a
/// query whose every root field failed without `data`); GraphQL answers such a field as null
/// in place. Each field error's path is walked down the data: the first key missing under an
/// object is the field that failed, or the nearest nullable one above a failed non-null field,
/// and becomes null. Request errors (no path) leave the answer without data, as they should.
fn nulls_in_place(response: &mut async_graphql::Response) {
    use async_graphql::{Name, PathSegment, Value as GqlValue};
    let field_errors =
        !response.errors.is_empty() && response.errors.iter().all(|e| !e.path.is_empty());
    if field_errors && response.data == GqlValue::Null {
        response.data = GqlValue::Object(Default::default());
    }
    for error in &response.errors {
        let mut node = &mut response.data;
        for segment in &error.path {
            node = match (segment, node) {
                (PathSegment::Field(f), GqlValue::Object(map)) => {
                    map.entry(Name::new(f)).or_insert(GqlValue::Null)
                }
                (PathSegment::Index(i), GqlValue::List(items)) => match items.get_mut(*i) {
                    Some(item) => item,
                    None => break,
                },
                _ => break,
            };
            if *node == GqlValue::Null {
                break;
            }
        }
    }
}
