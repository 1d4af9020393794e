//! /graphql per the GraphQL-over-HTTP specification.

use crate::helpers::spawn_app;
use crate::helpers::spawn_app_with;
use serde_json::json;

const JSON: (&str, &str) = ("content-type", "application/json");

#[test]
fn post_and_get_answer_typename() {
    let app = spawn_app();
    let r = app.graphql("{ __typename }", json!({}));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({ "data": { "__typename": "Query" } }));
    assert_eq!(r.content_type, "application/json");

    let r = app.get("/graphql?query=%7B__typename%7D");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"]["__typename"], "Query");
}

#[test]
fn graphql_response_json_is_answered_when_accepted() {
    let app = spawn_app();
    let accept = (
        "accept",
        "application/graphql-response+json, application/json;q=0.9",
    );
    let r = app.post_raw("/graphql", &[JSON, accept], r#"{"query":"{ __typename }"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/graphql-response+json");

    // A document that does not validate is a request error: 400 under the new media type…
    let bearer = format!("Bearer {}", crate::helpers::ministry());
    let auth = ("authorization", bearer.as_str());
    let r = app.post_raw(
        "/graphql",
        &[JSON, accept, auth],
        r#"{"query":"{ noSuchField }"}"#,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("noSuchField")));
    // …and 200 with the legacy application/json.
    let r = app.post_raw("/graphql", &[JSON, auth], r#"{"query":"{ noSuchField }"}"#);
    assert_eq!(r.status, 200);
    assert!(r.json()["data"].is_null());
}

#[test]
fn unacceptable_accept_gets_406() {
    let app = spawn_app();
    let r = app.post_raw(
        "/graphql",
        &[JSON, ("accept", "text/html")],
        r#"{"query":"{ __typename }"}"#,
    );
    assert_eq!(r.status, 406);
    assert_eq!(r.error_code(), "NOT_ACCEPTABLE");
}

#[test]
fn malformed_requests_get_400_with_a_graphql_error_body() {
    let app = spawn_app();
    let cases: &[(&str, &str)] = &[
        (r#"{"query":"#, "not valid JSON"),
        ("", "not valid JSON"),
        (r#"{"variables":{}}"#, "query: missing"),
        (r#"{"query":null}"#, "query: missing"),
        (r#"{"query":42}"#, "query: must be a string"),
        (
            r#"{"query":"{ __typename }","variables":[1]}"#,
            "variables: must be an object",
        ),
        (
            r#"{"query":"{ __typename }","operationName":1}"#,
            "operationName: must be a string",
        ),
        (
            r#"{"query":"{ __typename }","extensions":"x"}"#,
            "extensions: must be an object",
        ),
        (r#"{"documentId":5}"#, "documentId: must be a string"),
        (
            r#"{"extensions":{"persistedQuery":{"version":1}}}"#,
            "sha256Hash: must be",
        ),
        (
            r#"{"query":"{ __typename }","documentId":"sha256:00"}"#,
            "documentId: is not the SHA-256 of the query",
        ),
        (r#""just a string""#, "must be a JSON object"),
    ];
    for (body, expected) in cases {
        let r = app.post_raw("/graphql", &[JSON], body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.error_code(), "BAD_REQUEST", "{body}");
        let message = r.json()["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains(expected), "{body}: {message}");
    }
    let r = app.get("/graphql");
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "BAD_REQUEST");
    let r = app.get("/graphql?query=%7B__typename%7D&variables=%7Bnot");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("variables: must be JSON"), "{}", r.body);
}

#[test]
fn wrong_content_type_gets_415() {
    let app = spawn_app();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin1",
    ] {
        let r = app.post_raw(
            "/graphql",
            &[("content-type", ct)],
            r#"{"query":"{ __typename }"}"#,
        );
        assert_eq!(r.status, 415, "{ct}");
        assert_eq!(r.error_code(), "UNSUPPORTED_MEDIA_TYPE");
    }
    let r = app.post_raw(
        "/graphql",
        &[("content-type", "application/json; charset=utf-8")],
        r#"{"query":"{ __typename }"}"#,
    );
    assert_eq!(r.status, 200);
}

#[test]
fn mutations_over_get_are_refused_with_405() {
    let app = spawn_app();
    let r = app.get("/graphql?query=mutation%20M%20%7B%20x%20%7D");
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(r.error_code(), "METHOD_NOT_ALLOWED");
    // The operation chosen by name decides, not the first in the document.
    let r =
        app.get("/graphql?query=query%20Q%7B__typename%7D%20mutation%20M%7Bx%7D&operationName=M");
    assert_eq!(r.status, 405);
    let r = app.get_with(
        "/graphql?query=query%20Q%7B__typename%7D%20query%20R%7BapiVersion%7D&operationName=R",
        &[(
            "authorization",
            &format!("Bearer {}", crate::helpers::ministry()),
        )],
    );
    assert_eq!(r.status, 200);
    assert!(r.json()["data"]["apiVersion"].is_string());
}

#[test]
fn other_methods_get_405_and_unknown_paths_404() {
    let app = spawn_app();
    let r = crate::helpers::TestApp::post_raw(&app, "/nope", &[JSON], "{}");
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "NOT_FOUND");
    let res = ureq::request("PUT", &app.url("/graphql")).call();
    let status = match res {
        Err(ureq::Error::Status(s, _)) => s,
        other => panic!("expected 405, got {other:?}"),
    };
    assert_eq!(status, 405);
}

#[test]
fn bodies_over_the_limit_get_413() {
    let app = spawn_app_with(|s| s.server.body_limit_bytes = 1000);
    let padding = " ".repeat(2000);
    let r = app.post_raw(
        "/graphql",
        &[JSON],
        &format!(r#"{{"query":"{{ __typename {padding} }}"}}"#),
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.error_code(), "PAYLOAD_TOO_LARGE");
    assert!(r.body.contains("1000 bytes"));
    // Just under the limit still works.
    let r = app.post_raw("/graphql", &[JSON], r#"{"query":"{ __typename }"}"#);
    assert_eq!(r.status, 200);
}

/// The request id is always the gateway's own: a caller's x-request-id is recorded beside it
/// as the caller's (logs, audit), never in its place, so no client can make two requests
/// look like one or borrow another's id.
#[test]
fn request_ids_are_the_gateways_own() {
    let app = spawn_app();
    let r = app.get_with("/health/live", &[("x-request-id", "abc-123.x")]);
    let first = r.request_id.expect("generated id");
    assert_ne!(first, "abc-123.x");
    assert_eq!(first.len(), 36, "{first}");
    let r = app.get_with("/health/live", &[("x-request-id", "abc-123.x")]);
    assert_ne!(
        r.request_id.as_deref(),
        Some(first.as_str()),
        "fresh every time"
    );
    let r = app.get_with("/health/live", &[("x-request-id", "a b\"c")]);
    assert!(r.request_id.is_some_and(|id| id.len() == 36));
    // Errors carry it too.
    let r = app.post_raw("/graphql", &[JSON, ("x-request-id", "err-1")], "{");
    assert!(r
        .request_id
        .is_some_and(|id| id != "err-1" && id.len() == 36));
}

/// GraphiQL is served whole by the gateway (its script, style and their licences compiled in),
/// under a Content-Security-Policy that allows nothing from another host; off, it is gone
/// entirely. That it works is the browser test's (tests/browser).
#[test]
fn graphiql_is_served_from_the_gateway_alone_and_follows_config() {
    let app = spawn_app();
    let r = app.get("/graphiql");
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/html"),
        "{}",
        r.content_type
    );
    let policy = r.header("content-security-policy").expect("a CSP");
    for rule in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(policy.contains(rule), "{rule}: {policy}");
    }
    assert!(
        !r.body.contains("https://") && !r.body.contains("http://"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"<script src="/graphiql/console.js"#),
        "{}",
        r.body
    );
    // Without demo tokens the console opens with no tabs of its own and no token.
    assert!(r.body.contains(r#""tabs":[]"#), "{}", r.body);
    for (path, kind) in [
        ("/graphiql/console.js", "text/javascript"),
        ("/graphiql/console.css", "text/css"),
        ("/graphiql/THIRD-PARTY-LICENSES.txt", "text/plain"),
    ] {
        let r = app.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.content_type.starts_with(kind),
            "{path}: {}",
            r.content_type
        );
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    assert!(app
        .get("/graphiql/THIRD-PARTY-LICENSES.txt")
        .body
        .contains("graphiql@3."));
    let app = spawn_app_with(|s| s.server.graphiql = false);
    for path in ["/graphiql", "/graphiql/console.js"] {
        assert_eq!(app.get(path).status, 404, "{path}");
    }
}

/// The dashboard: served whole by the gateway under a strict policy, opening on the configured
/// date, and absent with `server.dashboard = false` (or a date that is none refused at start).
#[test]
fn the_dashboard_is_served_whole_under_a_strict_policy_and_can_be_turned_off() {
    let app = spawn_app_with(|s| s.server.dashboard_as_of = "2022-05-18".into());
    let r = app.get("/dashboard");
    assert_eq!(r.status, 200);
    let policy = r.header("content-security-policy").unwrap_or_default();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.body.contains(r#""asOf":"2022-05-18""#), "{}", r.body);
    for (path, kind) in [
        ("/dashboard/dashboard.js", "text/javascript"),
        ("/dashboard/dashboard.css", "text/css"),
    ] {
        let r = app.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.content_type.starts_with(kind), "{path}");
    }
    let app = spawn_app_with(|s| s.server.dashboard = false);
    for path in ["/dashboard", "/dashboard/dashboard.js"] {
        assert_eq!(app.get(path).status, 404, "{path}");
    }
    let refused = forloeb_gateway::config::Settings::load_from(
        None,
        [(
            "FORLOEB_SERVER_DASHBOARD_AS_OF".to_string(),
            "2022-13-01".to_string(),
        )],
    )
    .expect_err("not a date");
    assert!(
        refused.to_string().contains("server.dashboard_as_of"),
        "{refused}"
    );
}

/// A browser page on a listed origin may call the API (Apollo Client, urql, fetch); any other
/// origin gets no `Access-Control-Allow-Origin`, so the browser withholds the answer; with no
/// origins listed (the default) a preflight is refused as before.
#[test]
fn cross_origin_calls_are_allowed_for_listed_origins_only() {
    let listed = "http://localhost:5173";
    let preflight = |app: &crate::helpers::TestApp, origin: &str| {
        app.request(
            "OPTIONS",
            "/graphql",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization, content-type, apollographql-client-name",
                ),
            ],
        )
    };
    let closed = crate::helpers::spawn_app();
    let r = preflight(&closed, listed);
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), None);

    let app = crate::helpers::spawn_app_with(|s| {
        s.server.cors_origins = vec![listed.to_string().try_into().expect("origin")];
    });
    let r = preflight(&app, listed);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(listed));
    let methods = r.header("access-control-allow-methods").unwrap_or_default();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = r
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert_eq!(r.header("access-control-allow-credentials"), None);

    let r = preflight(&app, "https://elsewhere.example");
    assert_eq!(r.header("access-control-allow-origin"), None, "{}", r.body);

    let token = crate::helpers::ministry();
    let auth = format!("Bearer {token}");
    let body = r#"{"query":"{ apiVersion }"}"#;
    let headers = |origin| {
        [
            ("content-type", "application/json"),
            ("authorization", auth.as_str()),
            ("origin", origin),
        ]
    };
    let r = app.post_raw("/graphql", &headers(listed), body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(listed));
    let exposed = r
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    let r = app.post_raw("/graphql", &headers("https://elsewhere.example"), body);
    assert_eq!(r.header("access-control-allow-origin"), None, "{}", r.body);
}
