//! One tracing span per request: the gateway's own request id (always new, returned in
//! `x-request-id`; the caller's `x-request-id`, when it is sane, is logged and audited beside
//! it as the client's, never in its place), method, path, GraphQL operation name, status and
//! duration. The query string is never logged: GET requests carry variables there.

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
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        client_request_id = client.as_deref().unwrap_or(""),
        method = %req.method(),
        path = %req.path(),
        operation = Empty,
        status = Empty,
        duration_ms = Empty,
    );
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.record("duration_ms", format!("{duration_ms:.2}"));
    match result {
        Ok(mut res) => {
            span.record("status", res.status().as_u16());
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
