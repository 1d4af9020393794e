//! `/graphql` over GET and POST per the GraphQL-over-HTTP specification.
//!
//! The handler is ours rather than async-graphql-actix-web's extractor: the spec asks for
//! GraphQL-shaped error bodies on malformed requests, `application/graphql-response+json`
//! negotiation with its status-code rules, and 405 for mutations over GET, which the
//! extractor answers differently.

use super::{limits, AppState};
use crate::access::write_audit;
use crate::auth::Principal;
use crate::domain::Timestamp;
use crate::error::{Code, HttpError};
use crate::gql;
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
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type the answer is written in, chosen from the client's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseType {
    GraphqlResponseJson,
    Json,
}

impl ResponseType {
    fn negotiate(req: &HttpRequest) -> Result<Self, HttpError> {
        let Some(accept) = req.headers().get(header::ACCEPT) else {
            return Ok(Self::Json);
        };
        let accept = accept.to_str().unwrap_or_default();
        for part in accept.split(',') {
            let mut params = part.split(';');
            let media = params
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let refused = params.any(|p| {
                let p = p.replace(' ', "");
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            if refused {
                continue;
            }
            match media.as_str() {
                GRAPHQL_RESPONSE_JSON => return Ok(Self::GraphqlResponseJson),
                JSON | "application/*" | "*/*" => return Ok(Self::Json),
                _ => {}
            }
        }
        Err(HttpError::new(
            Code::NotAcceptable,
            "Accept: the gateway answers in application/graphql-response+json or application/json",
        ))
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// The parameters of one GraphQL request, checked field by field.
struct GraphqlCall {
    query: Option<String>,
    /// A trusted document's id: `documentId`, or Apollo's
    /// `extensions.persistedQuery.sha256Hash`.
    document_id: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
}

impl GraphqlCall {
    fn from_json(body: Value) -> Result<Self, HttpError> {
        let Value::Object(mut fields) = body else {
            return Err(bad_request("a request must be a JSON object"));
        };
        let query = match fields.remove("query") {
            Some(Value::String(q)) => Some(q),
            None | Some(Value::Null) => None,
            Some(_) => return Err(bad_request("query: must be a string")),
        };
        let operation_name = match fields.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(bad_request("operationName: must be a string or null")),
        };
        let variables = object_or_null(fields.remove("variables"), "variables")?;
        let extensions = object_or_null(fields.remove("extensions"), "extensions")?;
        let document_id = match fields.remove("documentId") {
            None | Some(Value::Null) => persisted_hash(extensions.as_ref())?,
            Some(Value::String(id)) => Some(id),
            Some(_) => return Err(bad_request("documentId: must be a string")),
        };
        Self {
            query,
            document_id,
            operation_name,
            variables,
        }
        .named()
    }

    fn from_query_string(qs: &str) -> Result<Self, HttpError> {
        let params = web::Query::<HashMap<String, String>>::from_query(qs)
            .map_err(|_| bad_request("the query string is not valid URL encoding"))?
            .into_inner();
        let json_param = |name: &str| -> Result<Option<Map<String, Value>>, HttpError> {
            match params.get(name).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(raw) => {
                    let parsed = serde_json::from_str::<Value>(raw)
                        .map_err(|_| bad_request(format!("{name}: must be JSON")))?;
                    object_or_null(Some(parsed), name)
                }
            }
        };
        let non_empty = |name: &str| params.get(name).filter(|s| !s.is_empty()).cloned();
        let document_id = match non_empty("documentId") {
            Some(id) => Some(id),
            None => persisted_hash(json_param("extensions")?.as_ref())?,
        };
        Self {
            query: non_empty("query"),
            document_id,
            operation_name: non_empty("operationName"),
            variables: json_param("variables")?,
        }
        .named()
    }

    /// A request must name its document one way or the other.
    fn named(self) -> Result<Self, HttpError> {
        if self.query.is_none() && self.document_id.is_none() {
            return Err(bad_request(
                "query: missing; send the GraphQL document in \"query\", or a trusted \
                 document's id in \"documentId\"",
            ));
        }
        Ok(self)
    }
}

/// `extensions.persistedQuery.sha256Hash`, as Apollo clients send it.
fn persisted_hash(extensions: Option<&Map<String, Value>>) -> Result<Option<String>, HttpError> {
    let Some(pq) = extensions.and_then(|e| e.get("persistedQuery")) else {
        return Ok(None);
    };
    match pq.get("sha256Hash") {
        Some(Value::String(h)) => Ok(Some(h.clone())),
        _ => Err(bad_request(
            "extensions.persistedQuery.sha256Hash: must be the document's SHA-256 in hex",
        )),
    }
}

fn object_or_null(v: Option<Value>, name: &str) -> Result<Option<Map<String, Value>>, HttpError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(bad_request(format!("{name}: must be an object or null"))),
    }
}

fn bad_request(message: impl Into<String>) -> HttpError {
    HttpError::new(Code::BadRequest, message)
}

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let response_type = ResponseType::negotiate(&req)?;
    check_content_type(&req)?;
    let body = read_body(&req, payload, state.body_limit).await?;
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

fn check_content_type(req: &HttpRequest) -> Result<(), HttpError> {
    let unsupported = || {
        HttpError::new(
            Code::UnsupportedMediaType,
            "Content-Type: send the request as application/json",
        )
    };
    let value = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unsupported)?;
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(JSON) {
        return Err(unsupported());
    }
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            let v = v.trim().trim_matches('"');
            if k.trim().eq_ignore_ascii_case("charset") && !v.eq_ignore_ascii_case("utf-8") {
                return Err(HttpError::new(
                    Code::UnsupportedMediaType,
                    "Content-Type: the only charset accepted is utf-8",
                ));
            }
        }
    }
    Ok(())
}

/// Reads the body, refusing it as soon as it passes the limit (not after buffering it all).
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, HttpError> {
    let too_large = || {
        HttpError::new(
            Code::PayloadTooLarge,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| bad_request("the request body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Single,
    Batch,
}

/// Rate limits and the token once per HTTP request (a batch costs one token per member), then
/// each GraphQL request.
async fn respond(
    req: &HttpRequest,
    state: &AppState,
    calls: Vec<GraphqlCall>,
    shape: Shape,
    response_type: ResponseType,
    over_get: bool,
) -> Result<HttpResponse, HttpError> {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let cost = u32::try_from(calls.len()).unwrap_or(u32::MAX);
    if state.limiter.enabled() {
        let address = client::address(req, state.limiter.trusted_proxies());
        let verdict = state.limiter.check_address(address, cost).await;
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
            let trusted = manifest.get(&trusted::document_id(&text));
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

/// One GraphQL request: its document, the checks that apply to it, execution within the
/// deadline, and the audit record before the answer.
async fn execute(ctx: &Ctx<'_>, call: GraphqlCall) -> Result<(StatusCode, Vec<u8>), HttpError> {
    let state = ctx.state;
    let limit = |e: limits::Exceeded| HttpError::new(Code::OperationLimit, e.to_string());
    let (text, trusted) = resolve_document(&state.manifest, call.query, call.document_id)?;
    let role = ctx.principal.map(Principal::role);
    if trusted.is_none() {
        if let Some(role) = role.filter(|r| !state.documents.ad_hoc_roles.contains(r)) {
            return Err(HttpError::new(
                Code::PersistedQueryRequired,
                format!(
                    "the {role} role may run only trusted documents: send a documentId from \
                     `forloeb schema --manifest` (schema/operations/)"
                ),
            ));
        }
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
    // A document that does not parse answers with its syntax error alone, whoever asks.
    let mut unparsable = true;
    let variables = request.variables.clone();
    if let Ok(doc) = request.parsed_query() {
        unparsable = false;
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
    // A subgraph's `_service { sdl }` describes the schema as introspection does.
    let introspects = roots
        .iter()
        .any(|r| matches!(*r, "__schema" | "__type" | "_service"));
    let meta_only = !roots.is_empty()
        && roots
            .iter()
            .all(|r| r.starts_with("__") || *r == "_service");
    match role {
        None => {
            let allowed =
                unparsable || (meta_only && (!introspects || state.anonymous_introspection));
            if !allowed {
                return Err(HttpError::new(
                    Code::Unauthenticated,
                    "Authorization: missing; send \"Authorization: Bearer <token>\"",
                ));
            }
        }
        Some(role) if !state.documents.introspection_roles.contains(&role) => {
            if introspects {
                return Err(HttpError::new(
                    Code::Forbidden,
                    format!(
                        "introspection (__schema, __type, _service) is not open to the {role} \
                         role"
                    ),
                ));
            }
            // Also inside fragments the walk above did not reach.
            request = request.disable_introspection();
        }
        Some(_) => {}
    }
    if let Some(answer) = service {
        let body = json!({ "data": answer? });
        return Ok((StatusCode::OK, body.to_string().into_bytes()));
    }
    let deadline = state.request_timeout;
    let run = run_and_audit(ctx, request, operation_name);
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

async fn run_and_audit(
    ctx: &Ctx<'_>,
    request: async_graphql::Request,
    operation_name: Option<String>,
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
    let (request, request_state) = gql::attach(request, &state.db, viewer);
    let mut response = state.schema.execute(request).await;
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
        state
            .db
            .run(move |c| {
                write_audit(
                    c,
                    &request_state.trail,
                    &principal,
                    &request_id,
                    operation_name.as_deref(),
                    now,
                )
                .map_err(|e| e.0)
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
