//! One tracing span per request, and one log line when it ends: the gateway's own request id
//! (always new, returned in `x-request-id`; the caller's `x-request-id`, when it is sane, is
//! logged and audited beside it as the client's, never in its place), the W3C trace id of a
//! caller's `traceparent` (continued when traces are exported, `crate::telemetry`), method,
//! path, role, operation (a trusted document's name or `ad_hoc`), outcome, the GraphQL error
//! codes, status and duration in milliseconds (a number). The same facts feed the request
//! metrics (`crate::metrics`). The query string, variables, headers and bodies are never
//! logged: GET requests carry variables in the query string.

use crate::auth::Role;
use crate::error::Code;
use crate::metrics::{self, Outcome};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use std::time::Instant;
use tracing::field::Empty;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, available to handlers through request extensions: the gateway's own,
/// and the one the caller sent, if it sent a usable one.
#[derive(Debug, Clone)]
pub struct RequestId {
    pub id: String,
    pub client: Option<String>,
}

/// What the handlers learn about a request, for its log line and its metrics: they fill it
/// in the request's extensions, and the middleware reads it when the response is ready.
#[derive(Debug, Default, Clone)]
pub struct RequestFacts {
    pub role: Option<Role>,
    /// The trusted document's name; None for an ad-hoc document.
    pub operation: Option<&'static str>,
    pub outcome: Option<Outcome>,
    /// `extensions.code` of every error answered, in order, repeats left out.
    pub codes: Vec<Code>,
}

impl RequestFacts {
    pub fn note_code(&mut self, code: Code) {
        if !self.codes.contains(&code) {
            self.codes.push(code);
        }
    }
}

/// The code of an `ApiError` response, put in the response's extensions by `status.rs`.
#[derive(Debug, Clone, Copy)]
pub struct RefusedWith(pub Code);

/// A caller-supplied id is kept only when it is short and plain, so it cannot forge log lines.
fn accept_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    (!s.is_empty() && s.len() <= 128 && s.chars().all(plain)).then(|| s.to_string())
}

pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let client = req.headers().get(&REQUEST_ID_HEADER).and_then(accept_id);
    let id = uuid::Uuid::new_v4().to_string();
    req.extensions_mut().insert(RequestId {
        id: id.clone(),
        client: client.clone(),
    });
    req.extensions_mut().insert(RequestFacts::default());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        client_request_id = client.as_deref().unwrap_or(""),
        trace_id = Empty,
        method = %req.method(),
        path = %req.path(),
        otel.name = %format_args!("{} {}", req.method(), req.path()),
        otel.kind = "server",
        otel.status_code = Empty,
        role = Empty,
        operation = Empty,
        outcome = Empty,
        error_codes = Empty,
        status = Empty,
        duration_ms = Empty,
    );
    if let Some(trace) = crate::telemetry::continue_trace(&span, req.headers()) {
        span.record("trace_id", trace.as_str());
    }
    // Only the API's requests count in the GraphQL metrics (not a 404 on another path).
    let graphql_path = req.path() == "/graphql";
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    // A number (two decimals), so that log queries can compare and sum it.
    span.record("duration_ms", (seconds * 100_000.0).round() / 100.0);
    match result {
        Ok(mut res) => {
            span.record("status", res.status().as_u16());
            let refused = res.response().extensions().get::<RefusedWith>().copied();
            let mut facts = res
                .request()
                .extensions()
                .get::<RequestFacts>()
                .cloned()
                .unwrap_or_default();
            if let Some(RefusedWith(code)) = refused {
                facts.note_code(code);
                facts.outcome = Some(match code {
                    // The gateway's own failure, or the deadline: not a refusal.
                    Code::Internal | Code::Timeout => Outcome::Error,
                    _ => Outcome::Refused,
                });
            }
            if facts.outcome == Some(Outcome::Error) || res.status().is_server_error() {
                span.record("otel.status_code", "error");
            }
            record(&span, &facts, seconds, graphql_path);
            span.in_scope(|| tracing::info!("request finished"));
            if let Ok(v) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(REQUEST_ID_HEADER, v);
            }
            Ok(res)
        }
        Err(e) => {
            span.in_scope(|| tracing::warn!(error = %e, "request failed"));
            Err(e)
        }
    }
}

/// The facts into the request's log line and, for `/graphql`, the metrics.
fn record(span: &tracing::Span, facts: &RequestFacts, seconds: f64, graphql_path: bool) {
    let role = metrics::role_label(facts.role);
    if facts.role.is_some() {
        span.record("role", role);
    }
    if let Some(outcome) = facts.outcome {
        span.record("outcome", outcome.as_str());
    }
    if !facts.codes.is_empty() {
        let codes: Vec<&str> = facts.codes.iter().map(|c| c.as_str()).collect();
        span.record("error_codes", codes.join(",").as_str());
    }
    if !graphql_path {
        return;
    }
    for code in &facts.codes {
        metrics::error(code.as_str());
    }
    if facts.outcome == Some(Outcome::Refused) {
        if let Some(code) = facts.codes.first() {
            metrics::refusal(metrics::refusal_reason(*code));
        }
    } else {
        // Work refused inside an answer (a field past the work budget, or when the gateway
        // is busy) is a refusal too, beside the fields that were answered.
        for code in &facts.codes {
            let reason = metrics::refusal_reason(*code);
            if matches!(reason, "overload" | "limit" | "budget" | "rate_limit") {
                metrics::refusal(reason);
            }
        }
    }
    let operation = metrics::operation_label(facts.operation);
    span.record("operation", operation);
    metrics::request(
        operation,
        role,
        facts.outcome.unwrap_or(Outcome::Ok),
        seconds,
    );
}
