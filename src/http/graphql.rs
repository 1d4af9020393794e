//! `/graphql` over GET and POST per the GraphQL-over-HTTP specification.
//!
//! The handler is ours rather than async-graphql-actix-web's extractor: the spec asks for
//! GraphQL-shaped error bodies on malformed requests, `application/graphql-response+json`
//! negotiation with its status-code rules, and 405 for mutations over GET, which the
//! extractor answers differently.

use super::{limits, AppState};
use crate::access::write_audit;
use crate::domain::Timestamp;
use crate::error::{Code, HttpError};
use crate::gql;
use crate::http::RequestId;
use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpMessage;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use async_graphql::Variables;
use futures_util::StreamExt;
use serde_json::{Map, Value};
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
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
}

impl GraphqlCall {
    fn from_json(body: Value) -> Result<Self, HttpError> {
        let mut fields =
            match body {
                Value::Object(m) => m,
                Value::Array(_) => return Err(bad_request(
                    "batched requests (a JSON array) are not supported; send one request object",
                )),
                _ => return Err(bad_request("the request body must be a JSON object")),
            };
        let query = match fields.remove("query") {
            Some(Value::String(q)) => q,
            None | Some(Value::Null) => return Err(missing_query()),
            Some(_) => return Err(bad_request("query: must be a string")),
        };
        let operation_name = match fields.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(bad_request("operationName: must be a string or null")),
        };
        let variables = object_or_null(fields.remove("variables"), "variables")?;
        object_or_null(fields.remove("extensions"), "extensions")?;
        Ok(Self {
            query,
            operation_name,
            variables,
        })
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
        let query = params
            .get("query")
            .filter(|q| !q.is_empty())
            .cloned()
            .ok_or_else(missing_query)?;
        Ok(Self {
            query,
            operation_name: params
                .get("operationName")
                .filter(|s| !s.is_empty())
                .cloned(),
            variables: json_param("variables")?,
        })
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

fn missing_query() -> HttpError {
    bad_request("query: missing; send the GraphQL document in the \"query\" parameter")
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
    let call = GraphqlCall::from_json(json)?;
    execute(&req, &state, call, response_type, false).await
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    let response_type = ResponseType::negotiate(&req)?;
    let call = GraphqlCall::from_query_string(req.query_string())?;
    execute(&req, &state, call, response_type, true).await
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

async fn execute(
    req: &HttpRequest,
    state: &AppState,
    call: GraphqlCall,
    response_type: ResponseType,
    over_get: bool,
) -> Result<HttpResponse, HttpError> {
    let limit = |e: limits::Exceeded| HttpError::new(Code::OperationLimit, e.to_string());
    limits::check_text(&state.limits, &call.query).map_err(limit)?;
    let mut request = async_graphql::Request::new(call.query);
    if let Some(name) = call.operation_name {
        request = request.operation_name(name);
    }
    if let Some(vars) = call.variables {
        request = request.variables(Variables::from_json(Value::Object(vars)));
    }
    // Parse once up front (the schema reuses it) to learn the operation's name and kind.
    let wanted = request.operation_name.clone();
    let mut operation_name = None;
    let mut introspection_only = false;
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
            if over_get && op.node.ty != OperationType::Query {
                return Err(HttpError::new(
                    Code::MethodNotAllowed,
                    "only queries may be sent over GET; send mutations with POST",
                ));
            }
            limits::check_operation(&state.limits, doc, &op.node, &variables).map_err(limit)?;
            introspection_only = op.node.ty == OperationType::Query
                && op.node.selection_set.node.items.iter().all(|s| {
                    matches!(&s.node, Selection::Field(f) if f.node.name.node.starts_with("__"))
                });
            if let Some(name) = &name {
                tracing::Span::current().record("operation", name.as_str());
            }
            operation_name = name;
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
        None if unparsable || (state.anonymous_introspection && introspection_only) => None,
        None => {
            return Err(HttpError::new(
                Code::Unauthenticated,
                "Authorization: missing; send \"Authorization: Bearer <token>\"",
            ))
        }
    };
    let viewer = match &principal {
        Some(p) => Some(
            gql::viewer_for(&state.db, p.clone(), state.disclosure_threshold)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot look up the clinician's clinic");
                    HttpError::new(Code::Internal, "internal error")
                })?,
        ),
        None => None,
    };
    let (request, request_state) = gql::attach(request, &state.db, viewer);
    let response = state.schema.execute(request).await;
    // A request error (the document did not parse or validate) leaves no data; field errors
    // carry a path. With graphql-response+json the former is a 400, the latter a 200.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if request_error && response_type == ResponseType::GraphqlResponseJson {
        actix_web::http::StatusCode::BAD_REQUEST
    } else {
        actix_web::http::StatusCode::OK
    };
    // The audit goes first: person-level data leaves only once its reads are on record.
    if let Some(principal) = principal.filter(|_| !request_state.trail.is_empty()) {
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let views = request_state.trail.viewed_by();
        let now = Timestamp::now();
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
                HttpError::new(
                    Code::Internal,
                    "internal error: the answer was withheld because its audit record could \
                     not be written",
                )
            })?;
        for cpr in views {
            state.aggregates.record_view(&cpr, now.local_date());
        }
    }
    let body = serde_json::to_vec(&response).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a GraphQL response");
        HttpError::new(Code::Internal, "internal error")
    })?;
    Ok(HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(response_type.content_type()),
        ))
        .body(body))
}
