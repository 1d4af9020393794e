//! `/graphql` over GET and POST per the GraphQL-over-HTTP specification: what comes before
//! GraphQL (the address's rate limit and slot, the body, the token, the user's rate limit),
//! then each GraphQL request of the body through `service::GraphqlService`, whose outcome is
//! mapped to a status and a media type here.
//!
//! The handler is ours rather than async-graphql-actix-web's extractor: the spec asks for
//! GraphQL-shaped error bodies on malformed requests, `application/graphql-response+json`
//! negotiation with its status-code rules, and 405 for mutations over GET, which the
//! extractor answers differently.

use super::AppState;
use crate::access::limits;
use crate::error::{ApiError, Code};
use crate::http::request::{bad_request, call, check_content_type, read_body, ResponseType};
use crate::http::request_span::RequestFacts;
use crate::http::{client, RequestId};
use crate::metrics::Outcome;
use crate::service::{Call, Caller};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpMessage;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use tracing::Instrument;

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
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
        ApiError::new(
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
            limits::check_batch(&state.limits, items.len())
                .map_err(|e| ApiError::new(Code::OperationLimit, e.to_string()))?;
            if items.is_empty() {
                return Err(bad_request("a batch must hold at least one request"));
            }
            // A malformed member spoils the whole batch: the client's serializer is broken.
            let calls = items
                .into_iter()
                .map(call::from_json)
                .collect::<Result<Vec<_>, _>>()?;
            respond(&req, &state, calls, Shape::Batch, response_type).await
        }
        single => {
            let call = call::from_json(single)?;
            respond(&req, &state, vec![call], Shape::Single, response_type).await
        }
    }
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let response_type = ResponseType::negotiate(&req)?;
    let _slot = address_gate(&req, &state, 1).await?;
    let call = call::from_query_string(req.query_string())?;
    respond(&req, &state, vec![call], Shape::Single, response_type).await
}

/// Any other method on /graphql.
pub async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
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
) -> Result<client::InFlightGuard, ApiError> {
    let address = client::address(req, state.limiter.trusted_proxies());
    let slot = state.in_flight.enter(address).ok_or_else(|| {
        ApiError::rate_limited(1, "address (too many requests in flight at once)")
    })?;
    if state.limiter.enabled() {
        let verdict = state.limiter.check_address(address, cost).await;
        if let Some(secs) = verdict.retry_after_secs() {
            return Err(ApiError::rate_limited(secs, "address"));
        }
    }
    Ok(slot)
}

/// The token and the user's rate limit once per HTTP request (a batch costs one token per
/// member, the first paid at the address gate), then each GraphQL request.
async fn respond(
    req: &HttpRequest,
    state: &AppState,
    calls: Vec<Call>,
    shape: Shape,
    response_type: ResponseType,
) -> Result<HttpResponse, ApiError> {
    let ids = req.extensions().get::<RequestId>().cloned();
    let request_id = ids.as_ref().map(|r| r.id.clone()).unwrap_or_default();
    let client_request_id = ids.and_then(|r| r.client);
    let cost = u32::try_from(calls.len()).unwrap_or(u32::MAX);
    if state.limiter.enabled() && cost > 1 {
        let address = client::address(req, state.limiter.trusted_proxies());
        let verdict = state.limiter.check_address(address, cost - 1).await;
        if let Some(secs) = verdict.retry_after_secs() {
            return Err(ApiError::rate_limited(secs, "address"));
        }
    }
    let principal = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => Some(
            state
                .auth
                .authenticate(value.as_bytes())
                .instrument(tracing::debug_span!("authenticate"))
                .await
                .map_err(|e| ApiError::new(Code::Unauthenticated, e.to_string()))?,
        ),
        None => None,
    };
    if let Some(p) = &principal {
        note(req, |f| f.role = Some(p.role()));
        let verdict = state.limiter.check_principal(p.role(), &p.sub, cost).await;
        if let Some(secs) = verdict.retry_after_secs() {
            return Err(ApiError::rate_limited(secs, "user"));
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
    let caller = Caller {
        principal,
        request_id,
        client_request_id,
    };
    if shape == Shape::Single {
        let Some(call) = calls.into_iter().next() else {
            return Err(bad_request("no request"));
        };
        let (status, body) = execute(req, state, &caller, call, response_type).await?;
        return Ok(json_response(status, body));
    }
    // Members answer in order; one refused member does not spoil the others.
    let mut out = b"[".to_vec();
    for (i, call) in calls.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match execute(req, state, &caller, call, response_type).await {
            Ok((_, body)) => out.extend_from_slice(&body),
            Err(e) => {
                note(req, |f| {
                    f.note_code(e.code);
                    f.outcome = f.outcome.max(Some(Outcome::Refused));
                });
                out.extend_from_slice(json!({ "errors": [e.to_graphql()] }).to_string().as_bytes())
            }
        }
    }
    out.push(b']');
    Ok(json_response(StatusCode::OK, out))
}

/// Notes what this request turned out to be, for its log line and metrics.
fn note(req: &HttpRequest, f: impl FnOnce(&mut RequestFacts)) {
    if let Some(facts) = req.extensions_mut().get_mut::<RequestFacts>() {
        f(facts);
    }
}

/// One GraphQL request through the service: a request error (nothing ran) is a 400 with
/// graphql-response+json and a 200 with plain JSON, as GraphQL-over-HTTP says.
async fn execute(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
    call: Call,
    response_type: ResponseType,
) -> Result<(StatusCode, Vec<u8>), ApiError> {
    let admitted = state.graphql.admit(caller, call)?;
    // Writes pay from a budget of their own besides the user's (`rate_limit.writes`): a
    // patient's few entries a minute, whatever their reads.
    if let (true, Some(p)) = (
        admitted.writes() && state.limiter.enabled(),
        &caller.principal,
    ) {
        let verdict = state.limiter.check_writes(p.role(), &p.sub).await;
        if let Some(secs) = verdict.retry_after_secs() {
            return Err(ApiError::rate_limited(secs, "user (its writes)"));
        }
    }
    let answer = state.graphql.run(caller, admitted).await?;
    note(req, |f| {
        f.operation = answer.trusted;
        for e in &answer.response.errors {
            let code = e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|c| match c {
                    async_graphql::Value::String(s) => Code::parse(s),
                    _ => None,
                });
            // Validation errors carry no code of ours: they are the caller's bad request.
            f.note_code(code.unwrap_or(Code::BadRequest));
        }
        let outcome = if answer.response.errors.is_empty() {
            Outcome::Ok
        } else if answer.request_error || answer.response.data == async_graphql::Value::Null {
            Outcome::Error
        } else {
            Outcome::Partial
        };
        // A batch's outcome is its worst member's.
        f.outcome = f.outcome.max(Some(outcome));
    });
    let status = if answer.request_error && response_type == ResponseType::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = answer.to_json().map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a GraphQL response");
        ApiError::new(Code::Internal, "internal error").with_request_id(&caller.request_id)
    })?;
    Ok((status, body))
}
