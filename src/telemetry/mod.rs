//! Logs and traces. Logs are human-readable by default, JSON on request, and scrubbed of
//! anything shaped like a CPR number or a token (`scrub`). Traces are optional
//! (`[telemetry]`): with an OTLP endpoint set, the gateway's own spans (the request, the
//! stages of its pipeline, each SQL statement, and each field when asked) go to a collector,
//! continuing a caller's W3C `traceparent`.
//!
//! What a span carries is chosen where it is made: names, roles, codes, the statement's kind,
//! never a value from a request or a row. Only this crate's spans are exported (no library's
//! fields, no log events), since log lines are scrubbed on their way out and spans are not.

mod otlp;
mod scrub;

pub use scrub::{scrub, Scrubbed, ScrubbedStderr};

use crate::config::{LogFormat, TelemetrySettings};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Traces go out (an endpoint is configured and the exporter started).
static EXPORTING: AtomicBool = AtomicBool::new(false);
/// `telemetry.field_spans`: a span per GraphQL field resolved.
static FIELD_SPANS: AtomicBool = AtomicBool::new(false);

#[derive(Debug, thiserror::Error)]
#[error("telemetry.otlp_endpoint: cannot export traces there: {0}")]
pub struct TelemetryError(String);

/// The installed telemetry. Dropping it sends the spans still queued (at exit).
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            EXPORTING.store(false, Ordering::Relaxed);
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "the last spans could not be sent to the collector");
            }
        }
    }
}

/// Installs the global subscriber: the log, and the trace exporter when configured.
/// `RUST_LOG`, when set, wins over the configured log filter; it does not filter spans, which
/// go out whatever the log's level.
pub fn init(
    format: LogFormat,
    filter: &str,
    settings: &TelemetrySettings,
) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only on a terminal: a log file or a collector gets plain text.
    let ansi = io::IsTerminal::is_terminal(&io::stderr());
    let log = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(ScrubbedStderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(ScrubbedStderr)
            .with_filter(filter)
            .boxed(),
    };
    let provider = if settings.otlp_endpoint.trim().is_empty() {
        None
    } else {
        Some(otlp::provider(settings).map_err(TelemetryError)?)
    };
    let traces = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("forloeb-gateway"))
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(filter_fn(|meta| {
                meta.is_span() && meta.target().starts_with("forloeb_gateway")
            }))
    });
    // A second init (tests) is harmless: the first subscriber stays.
    if tracing_subscriber::registry()
        .with(log)
        .with(traces)
        .try_init()
        .is_ok()
    {
        EXPORTING.store(provider.is_some(), Ordering::Relaxed);
        FIELD_SPANS.store(
            provider.is_some() && settings.field_spans,
            Ordering::Relaxed,
        );
    }
    Ok(Telemetry { provider })
}

/// True when each GraphQL field resolved gets a span of its own.
pub fn field_spans() -> bool {
    FIELD_SPANS.load(Ordering::Relaxed)
}

/// Continues the caller's trace on a request's span (just made, nothing under it yet): its
/// W3C `traceparent` becomes the span's parent. Returns the trace id in effect, for the log:
/// the caller's, or a new one when traces go out; without export, the caller's if it sent a
/// valid one.
pub fn continue_trace(
    span: &tracing::Span,
    headers: &actix_web::http::header::HeaderMap,
) -> Option<String> {
    if EXPORTING.load(Ordering::Relaxed) {
        let parent = otlp::caller_context(headers);
        if parent.span().span_context().is_valid() {
            // Fails only for a span the trace layer does not see; it then has no trace.
            let _ = span.set_parent(parent);
        }
        let context = span.context();
        let ids = context.span().span_context().clone();
        if ids.is_valid() {
            return Some(ids.trace_id().to_string());
        }
    }
    // Not exported: the caller's trace id alone, read by the same propagator.
    let caller = otlp::caller_context(headers);
    let ids = caller.span().span_context().clone();
    ids.is_valid().then(|| ids.trace_id().to_string())
}
