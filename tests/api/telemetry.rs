//! Traces over OTLP/HTTP: the served binary exports to a small receiver here, which decodes
//! what arrives as a collector would (OTLP's protobuf messages).

use crate::cli::{serve_with, terminate};
use crate::helpers::TestDb;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the receiver was sent: each POST's path and body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An OTLP/HTTP receiver: HTTP/1.1 with keep-alive, answering every POST with 200 and an
/// empty (valid) protobuf answer.
fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let received: Received = Arc::default();
    let store = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let store = store.clone();
            std::thread::spawn(move || serve_exports(stream, &store));
        }
    });
    (format!("http://{addr}"), received)
}

fn serve_exports(stream: TcpStream, store: &Received) {
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("content-length");
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        store.lock().expect("lock").push((path, body));
        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n\
                      content-length: 0\r\n\r\n";
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// Every span received, with its service's name.
fn spans(received: &Received) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    for (path, body) in received.lock().expect("lock").iter() {
        assert_eq!(path, "/v1/traces");
        let export = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        for resource_spans in export.resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.as_ref()?.value.clone());
            let Some(Any::StringValue(service)) = service else {
                panic!("a span without service.name");
            };
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    out.push((service.clone(), span));
                }
            }
        }
    }
    out
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span
        .attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?;
    Some(match value.value.as_ref()? {
        Any::StringValue(s) => s.clone(),
        Any::IntValue(i) => i.to_string(),
        Any::DoubleValue(d) => d.to_string(),
        Any::BoolValue(b) => b.to_string(),
        other => format!("{other:?}"),
    })
}

#[test]
fn a_callers_trace_goes_on_through_the_pipeline_to_each_statement() {
    let (endpoint, received) = receiver();
    let dir = tempfile::tempdir().expect("tmp");
    let pg = TestDb::new();
    let db_url = if pg.is_postgres() {
        pg.url().to_string()
    } else {
        dir.path().join("traced.db").display().to_string()
    };
    let served = serve_with(
        &db_url,
        &[
            ("FORLOEB_TELEMETRY_OTLP_ENDPOINT", endpoint.as_str()),
            ("FORLOEB_TELEMETRY_SERVICE_NAME", "forloeb-test"),
            ("FORLOEB_TELEMETRY_FIELD_SPANS", "true"),
            ("FORLOEB_DOCUMENTS_AD_HOC_ROLES", r#"["patient"]"#),
        ],
    );
    let url = format!("http://{}/graphql", served.addr);
    let cpr = "0103521234";
    let token = crate::helpers::patient(cpr);
    let (trace, parent) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let res = ureq::post(&url)
        .set("authorization", &format!("Bearer {token}"))
        .set("traceparent", &format!("00-{trace}-{parent}-01"))
        .send_json(serde_json::json!({ "query": "{ me { cpr } }" }))
        .expect("POST");
    let body: serde_json::Value = res.into_json().expect("json");
    assert_eq!(body["data"]["me"]["cpr"], cpr, "{body}");
    // No traceparent: a trace of its own, whose id the log line names.
    let res = ureq::post(&url)
        .set("authorization", &format!("Bearer {token}"))
        .set("x-request-id", "untraced-caller")
        .send_json(serde_json::json!({ "query": "{ me { cpr } }" }))
        .expect("POST");
    assert_eq!(res.status(), 200);
    // SIGTERM: the gateway sends what it still holds before it exits.
    let (clean, lines) = terminate(served);
    assert!(clean, "{lines:#?}");
    let spans = spans(&received);
    assert!(!spans.is_empty(), "nothing exported; log: {lines:#?}");
    assert!(spans.iter().all(|(service, _)| service == "forloeb-test"));
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let of_trace: Vec<&Span> = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| hex(&s.trace_id) == trace)
        .collect();
    let request = of_trace
        .iter()
        .find(|s| s.name == "POST /graphql")
        .unwrap_or_else(|| panic!("no request span in the caller's trace: {of_trace:#?}"));
    assert_eq!(
        hex(&request.parent_span_id),
        parent,
        "the caller's span is the parent"
    );
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(attribute(request, "role").as_deref(), Some("patient"));
    assert_eq!(attribute(request, "status").as_deref(), Some("200"));
    // Every stage under the request, each SQL statement under a database call.
    let by_id: HashMap<Vec<u8>, &Span> = of_trace.iter().map(|s| (s.span_id.clone(), *s)).collect();
    let ancestors = |s: &Span| {
        let mut names = Vec::new();
        let mut at = by_id.get(&s.parent_span_id);
        while let Some(p) = at {
            names.push(p.name.clone());
            at = by_id.get(&p.parent_span_id);
        }
        names
    };
    for stage in ["authenticate", "admit", "execute", "audit", "Query.me"] {
        let span = of_trace
            .iter()
            .find(|s| s.name == stage)
            .unwrap_or_else(|| panic!("no {stage} span: {of_trace:#?}"));
        assert_eq!(
            ancestors(span).last().map(String::as_str),
            Some("POST /graphql")
        );
    }
    let statements: Vec<&&Span> = of_trace
        .iter()
        .filter(|s| attribute(s, "db.system").is_some())
        .collect();
    assert!(!statements.is_empty(), "no statement spans: {of_trace:#?}");
    for s in &statements {
        assert_eq!(s.kind, SpanKind::Client as i32);
        assert!(ancestors(s).contains(&"db".to_string()), "{s:#?}");
        let operation = attribute(s, "db.operation").unwrap_or_default();
        assert!(
            [
                "SELECT",
                "INSERT",
                "BEGIN",
                "COMMIT",
                "SAVEPOINT",
                "RELEASE"
            ]
            .contains(&operation.as_str()),
            "{s:#?}"
        );
    }
    // The second request's trace is the one its log line names.
    let logged = lines
        .iter()
        .find(|l| l.contains("untraced-caller") && l.contains("request finished"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    let event: serde_json::Value = serde_json::from_str(logged).expect("json");
    let own = event["span"]["trace_id"]
        .as_str()
        .expect("trace id")
        .to_string();
    assert_ne!(own, trace);
    assert!(
        spans.iter().any(|(_, s)| s.name == "POST /graphql"
            && hex(&s.trace_id) == own
            && s.parent_span_id.is_empty()),
        "no root span of trace {own}"
    );
    // Nothing personal or secret in any span.
    for (_, s) in &spans {
        let text = format!("{s:?}");
        assert!(!text.contains(cpr), "CPR number in a span: {s:#?}");
        assert!(!text.contains(&token), "token in a span: {s:#?}");
    }
}
