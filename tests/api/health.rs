//! Liveness and readiness, including readiness across a database outage.

use crate::helpers::{spawn_app, spawn_on, test_settings, Relay, TestDb, POSTGRES_ENV};
use std::time::Duration;

#[test]
fn live_and_ready() {
    let app = spawn_app();
    let r = app.get("/health/live");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "live");
    let r = app.get("/health/ready");
    assert_eq!(r.status, 200);
    let backend = if app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(r.json()["database"], backend);
}

fn wait_for_status(app: &crate::helpers::TestApp, want: u16) -> u16 {
    let mut last = 0;
    for _ in 0..20 {
        last = app.get("/health/ready").status;
        if last == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    last
}

#[test]
fn readiness_follows_a_postgres_outage_without_restart() {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        eprintln!("skipped: needs {POSTGRES_ENV} (runs in CI's PostgreSQL pass)");
        return;
    };
    let db = TestDb::postgres(&base);
    let (relay, via_relay) = Relay::to_database(&base, &db);
    let mut settings = test_settings(&via_relay);
    settings.database.ready_timeout_ms = 500;
    settings.database.connect_timeout_secs = 1;
    let app = spawn_on(db, settings);

    assert_eq!(app.get("/health/ready").status, 200);
    relay.cut();
    assert_eq!(wait_for_status(&app, 503), 503);
    assert_eq!(
        app.get("/health/live").status,
        200,
        "liveness does not depend on the database"
    );
    relay.restore();
    assert_eq!(wait_for_status(&app, 200), 200);
    let r = app.graphql("{ __typename }", serde_json::json!({}));
    assert_eq!(r.status, 200);
}

/// `/metrics` after a few requests: requests by operation, role and outcome with latency
/// histograms, errors by code, refusals by reason, audit commits, the pools and the
/// aggregates, each with real values; bounded labels only, never a CPR number or a token.
#[test]
fn metrics_show_every_family_with_real_values() {
    use crate::helpers::{clinician, fixture, ministry, patient, shipped_defaults, spawn_app_with};
    use serde_json::json;
    let app = spawn_app_with(shipped_defaults);
    app.import(&fixture("feed"));
    let cpr = "2709400129";
    let my_plans = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("schema/operations/MyPlans.graphql"),
    )
    .expect("MyPlans");
    let me = patient(cpr);
    // A trusted document (audited), an ad-hoc one, an admission refusal, an operation limit,
    // a field refused inside an answer, no token.
    assert_eq!(app.graphql_as(&me, &my_plans, json!({})).status, 200);
    let r = app.graphql_as(
        &ministry(),
        "{ rollout(asOf: \"2022-05-18\") { openClinics } }",
        json!({}),
    );
    assert!(r.json()["errors"].is_null(), "{}", r.body);
    assert_eq!(app.graphql_as(&me, "{ me { cpr } }", json!({})).status, 403);
    let mut deep = String::from("code");
    for _ in 0..10 {
        deep = format!("clusters {{ region {{ {deep} }} }}");
    }
    let r = app.graphql_as(
        &ministry(),
        &format!("{{ regions {{ {deep} }} }}"),
        json!({}),
    );
    assert_eq!(r.error_code(), "OPERATION_LIMIT");
    let r = app.graphql_as(
        &clinician("586964"),
        "{ clinic(ydernummer: \"405289\") { name patients(first: 1) { edges { cursor } } } }",
        json!({}),
    );
    assert!(r.json()["errors"].is_array(), "{}", r.body);
    assert_eq!(
        app.graphql(
            "{ rollout(asOf: \"2022-05-18\") { openClinics } }",
            json!({})
        )
        .status,
        401
    );

    let text = app.get("/metrics").body;
    let value = |prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    for (series, what) in [
        (
            r#"forloeb_graphql_requests_total{operation="MyPlans",outcome="ok",role="patient"}"#,
            "a trusted document",
        ),
        (
            r#"forloeb_graphql_requests_total{operation="ad_hoc",outcome="ok",role="ministry"}"#,
            "an ad-hoc document",
        ),
        (
            r#"forloeb_graphql_requests_total{operation="ad_hoc",outcome="partial",role="clinician"}"#,
            "an answer with a refused field",
        ),
        (
            r#"forloeb_graphql_request_duration_seconds_count{operation="MyPlans"}"#,
            "latency",
        ),
        (
            r#"forloeb_graphql_errors_total{code="PERSISTED_QUERY_REQUIRED"}"#,
            "an error code",
        ),
        (
            r#"forloeb_graphql_errors_total{code="FORBIDDEN"}"#,
            "a refused field",
        ),
        (r#"forloeb_refusals_total{reason="admission"}"#, "admission"),
        (
            r#"forloeb_refusals_total{reason="limit"}"#,
            "an operation limit",
        ),
        (
            r#"forloeb_refusals_total{reason="authentication"}"#,
            "no token",
        ),
        ("forloeb_audit_records_total", "audit records"),
        ("forloeb_audit_commits_total", "audit commits"),
        (
            "forloeb_audit_commit_duration_seconds_count",
            "commit latency",
        ),
        ("forloeb_db_statements_total", "statements"),
        (
            "forloeb_db_pool_checkout_duration_seconds_count",
            "connection checkouts",
        ),
        ("forloeb_aggregates_data_version", "the aggregates"),
    ] {
        assert!(value(series) >= 1.0, "{what}: no {series} in\n{text}");
    }
    assert!(
        text.contains(r#"forloeb_db_pool_connections{state="idle"}"#),
        "{text}"
    );
    assert!(text.contains("forloeb_aggregates_age_seconds "), "{text}");
    assert!(
        text.contains("forloeb_audit_commit_failures_total 0")
            || text.contains("forloeb_audit_commit_failures_total ")
    );
    assert!(
        !text.contains(cpr) && !text.contains(&me) && !text.contains("eyJ"),
        "{text}"
    );
}

/// With `server.metrics_bind`, `/metrics` is served on its own address and nowhere else: the
/// API's address answers 404 for it, and the metrics address answers nothing but it.
#[test]
fn metrics_can_be_served_on_an_address_of_their_own() {
    let app = crate::helpers::spawn_app_with(|s| s.server.metrics_bind = "127.0.0.1:0".into());
    let metrics = app.metrics_addr.expect("a metrics address");
    assert_ne!(metrics, app.addr);
    assert_eq!(app.get("/metrics").status, 404);
    assert_eq!(app.get("/health/live").status, 200);
    let get = |path: &str| match ureq::get(&format!("http://{metrics}{path}")).call() {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{path}: {e}"),
    };
    let (status, text) = get("/metrics");
    assert_eq!(status, 200);
    assert!(text.contains("forloeb_db_pool_connections"), "{text}");
    for path in ["/graphql", "/health/ready", "/graphiql"] {
        assert_eq!(get(path).0, 404, "{path} on the metrics address");
    }
}
