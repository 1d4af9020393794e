//! The OpenTelemetry side of `[telemetry]`: a tracer provider whose batch processor sends
//! spans over OTLP/HTTP to `<otlp_endpoint>/v1/traces`, and the W3C trace context of a
//! caller's headers.
//!
//! The HTTP client is ureq (already built for the JWKS fetch) behind opentelemetry-http's
//! `HttpClient` trait, instead of the exporter's reqwest or hyper clients, which would build a
//! second HTTP stack. The batch processor exports from a thread of its own and blocks on each
//! export, so a blocking client is what it runs best with; a slow or absent collector costs
//! that thread, never a request (spans past the queue are dropped).

use crate::config::{OtlpProtocol, TelemetrySettings};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

/// How often queued spans are sent (a trace shows up in the collector within about this).
const EXPORT_EVERY: Duration = Duration::from_millis(500);
/// A collector's answer is small; anything longer is not read.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The provider exporting to the configured collector.
pub fn provider(settings: &TelemetrySettings) -> Result<SdkTracerProvider, String> {
    let timeout = Duration::from_millis(settings.export_timeout_ms);
    let tls = native_tls::TlsConnector::new().map_err(|e| format!("TLS unavailable: {e}"))?;
    let agent = ureq::AgentBuilder::new()
        .timeout(timeout)
        .tls_connector(Arc::new(tls))
        .build();
    let endpoint = format!(
        "{}/v1/traces",
        settings.otlp_endpoint.trim().trim_end_matches('/')
    );
    let protocol = match settings.otlp_protocol {
        OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
        OtlpProtocol::HttpJson => Protocol::HttpJson,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(UreqClient(agent))
        .with_endpoint(endpoint)
        .with_protocol(protocol)
        .with_timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let batches = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(EXPORT_EVERY)
                .build(),
        )
        .build();
    // A caller's sampling decision (the flag in its traceparent) wins, so that a router's
    // sampled trace is whole; new traces are kept at the configured ratio.
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio)));
    Ok(SdkTracerProvider::builder()
        .with_span_processor(batches)
        .with_sampler(sampler)
        .with_resource(
            Resource::builder()
                .with_service_name(settings.service_name.clone())
                .build(),
        )
        .build())
}

/// The W3C trace context (`traceparent`, `tracestate`) a caller sent, if any.
pub fn caller_context(headers: &actix_web::http::header::HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&Headers(headers))
}

struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[derive(Debug)]
struct UreqClient(ureq::Agent);

#[async_trait::async_trait]
impl HttpClient for UreqClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let mut call = self.0.post(&request.uri().to_string());
        for (name, value) in request.headers() {
            if let Ok(value) = value.to_str() {
                call = call.set(name.as_str(), value);
            }
        }
        // A collector's refusal (4xx, 5xx) is an answer the exporter reads, not a failure to
        // send.
        let answer = match call.send_bytes(request.body()) {
            Ok(answer) | Err(ureq::Error::Status(_, answer)) => answer,
            Err(e) => return Err(Box::new(e)),
        };
        let status = answer.status();
        let mut body = Vec::new();
        answer
            .into_reader()
            .take(MAX_ANSWER_BYTES)
            .read_to_end(&mut body)?;
        Ok(Response::builder().status(status).body(Bytes::from(body))?)
    }
}
