//! Hardening for the open internet: trusted documents per role, introspection per role,
//! batching, rate limits (in memory and shared through Redis), deadlines and error hygiene.

use crate::cli::{serve_with, terminate};
use crate::helpers::{
    self, clinician, fixture, ministry, patient, region, shipped_defaults, spawn_app_with,
    token_of, TestApp,
};
use forloeb_gateway::auth::Actor;
use forloeb_gateway::domain::Cpr;
use forloeb_gateway::trusted::document_id;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PATIENT: &str = "2709400129";
const JSON: (&str, &str) = ("content-type", "application/json");

/// A named operation's text, from the trusted-document manifest.
pub(crate) fn operation(name: &str) -> String {
    forloeb_gateway::trusted::Manifest::builtin()
        .by_name(name)
        .map(|d| d.text.to_string())
        .unwrap_or_else(|| panic!("no operation {name}"))
}

fn post_as(app: &TestApp, token: &str, body: &Value) -> helpers::Reply {
    app.post_raw(
        "/graphql",
        &[JSON, ("authorization", &format!("Bearer {token}"))],
        &body.to_string(),
    )
}

fn loaded_with(tweak: impl FnOnce(&mut forloeb_gateway::config::Settings)) -> TestApp {
    let app = spawn_app_with(tweak);
    app.import(&fixture("feed"));
    app
}

#[test]
fn patients_and_suppliers_run_only_trusted_documents() {
    let app = loaded_with(shipped_defaults);
    let me = patient(PATIENT);
    let text = operation("MyPlans");
    let id = document_id(&text);

    // Ad hoc: refused before anything runs, whatever data it asks for. (Meta fields alone,
    // `{ __typename }` or introspection, pass: the shipped config lets patients introspect,
    // limits::a_trusted_only_role_that_may_introspect_sends_introspection_and_nothing_else.)
    for doc in [
        "{ me { cpr } }",
        "{ __typename me { cpr } }",
        &text.replace("  ", " "),
    ] {
        let r = app.graphql_as(&me, doc, json!({}));
        assert_eq!(r.status, 403, "{doc}: {}", r.body);
        assert_eq!(r.error_code(), "PERSISTED_QUERY_REQUIRED");
        assert!(r.json().get("data").is_none(), "{}", r.body);
    }
    // By id (both spellings), by Apollo's extension, over GET, and by exact text.
    let bodies = [
        json!({ "documentId": format!("sha256:{id}") }),
        json!({ "documentId": id.to_ascii_uppercase() }),
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": id } } }),
        json!({ "query": text }),
        json!({ "query": text, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": id } } }),
    ];
    for body in &bodies {
        let r = post_as(&app, &me, body).json();
        assert!(r["errors"].is_null(), "{body}: {r}");
        assert_eq!(r["data"]["me"]["birthDate"], "1940-09-27", "{r}");
    }
    let r = app.get_with(
        &format!("/graphql?documentId=sha256:{id}"),
        &[("authorization", &format!("Bearer {me}"))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["data"]["me"].is_object());

    // An id nobody issued.
    let r = post_as(
        &app,
        &me,
        &json!({ "documentId": format!("sha256:{}", "0".repeat(64)) }),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "PERSISTED_QUERY_NOT_FOUND");

    // A trusted document is not a permission: another role's operation is still refused
    // field by field.
    let national = document_id(&operation("NationalStatus"));
    let r = post_as(
        &app,
        &me,
        &json!({ "documentId": national, "variables": {"asOf": "2022-05-01"} }),
    )
    .json();
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    assert!(r["data"]["rollout"].is_null(), "{r}");

    // Suppliers too; clinicians, regions and the ministry may ask ad hoc.
    let supplier = token_of(
        "supplier-1",
        Actor::Supplier(forloeb_gateway::domain::Source::Plsp),
    );
    let r = app.graphql_as(&supplier, "{ apiVersion }", json!({}));
    assert_eq!(r.error_code(), "PERSISTED_QUERY_REQUIRED");
    for token in [clinician("586964"), region("1083"), ministry()] {
        let r = app.graphql_as(&token, "{ apiVersion }", json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

#[test]
fn introspection_needs_a_token_and_a_role_that_may() {
    let schema_q = "{ __schema { queryType { name } } }";
    let app = spawn_app_with(|s| {
        s.documents.introspection_roles = vec![forloeb_gateway::auth::Role::Clinician];
    });
    let r = app.graphql(schema_q, json!({}));
    assert_eq!(r.status, 401, "{}", r.body);
    // `__typename` alone is not introspection; it answers anyone (health probes use it).
    assert_eq!(app.graphql("{ __typename }", json!({})).status, 200);

    let r = app.graphql_as(&clinician("586964"), schema_q, json!({}));
    assert_eq!(r.json()["data"]["__schema"]["queryType"]["name"], "Query");
    for doc in [
        schema_q,
        "{ __type(name: \"Patient\") { fields { name } } }",
        "query { ...F } fragment F on Query { __schema { types { name } } }",
        "query { ... on Query { __type(name: \"Query\") { name } } }",
    ] {
        let r = app.graphql_as(&region("1083"), doc, json!({}));
        assert_eq!(r.status, 403, "{doc}: {}", r.body);
        assert_eq!(r.error_code(), "FORBIDDEN");
        assert!(r.body.contains("introspection"), "{}", r.body);
    }
    // Turned on for anonymous callers, it answers them.
    let open = spawn_app_with(|s| s.auth.anonymous_introspection = true);
    let r = open.graphql(schema_q, json!({}));
    assert_eq!(r.json()["data"]["__schema"]["queryType"]["name"], "Query");
}

#[test]
fn batching_is_off_by_default_and_capped_when_on() {
    let app = spawn_app_with(shipped_defaults);
    let token = format!("Bearer {}", ministry());
    let auth = ("authorization", token.as_str());
    let two = r#"[{"query":"{ apiVersion }"},{"query":"{ a: apiVersion }"}]"#;
    let r = app.post_raw("/graphql", &[JSON, auth], two);
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "OPERATION_LIMIT");
    assert!(r.body.contains("batch"), "{}", r.body);

    let app = spawn_app_with(|s| {
        shipped_defaults(s);
        s.limits.batch = 3;
        s.rate_limit.ministry = forloeb_gateway::config::Bucket {
            per_second: 0.01,
            burst: 5,
        };
    });
    let r = app.post_raw("/graphql", &[JSON, auth], two);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v[0]["data"]["apiVersion"], v[1]["data"]["a"], "{v}");
    // One member over the limits is refused alone; the others answer.
    let roots = vec!["apiVersion"; 13].join(" ");
    let mixed = json!([{ "query": "{ apiVersion }" }, { "query": format!("{{ {roots} }}") }]);
    let v = app
        .post_raw("/graphql", &[JSON, auth], &mixed.to_string())
        .json();
    assert!(v[0]["data"]["apiVersion"].is_string(), "{v}");
    assert_eq!(
        v[1]["errors"][0]["extensions"]["code"], "OPERATION_LIMIT",
        "{v}"
    );
    // Four is past the cap; and every member costs a token (2 + 2 spent, 1 left).
    let four = json!(vec![json!({ "query": "{ apiVersion }" }); 4]);
    let r = app.post_raw("/graphql", &[JSON, auth], &four.to_string());
    assert_eq!(r.error_code(), "OPERATION_LIMIT");
    assert!(
        r.body.contains("batch exceeds the limit of 3"),
        "{}",
        r.body
    );
    let r = app.post_raw("/graphql", &[JSON, auth], two);
    assert_eq!(r.status, 429, "{}", r.body);
}

/// The bucket of one user and of one client address, each refusing with 429 and a
/// Retry-After that, obeyed, lets the client in again.
#[test]
fn rate_limits_per_user_and_per_address_answer_429_with_retry_after() {
    let app = loaded_with(|s| {
        shipped_defaults(s);
        s.rate_limit.patient = forloeb_gateway::config::Bucket {
            per_second: 1.0,
            burst: 3,
        };
        s.rate_limit.address = forloeb_gateway::config::Bucket {
            per_second: 0.01,
            burst: 8,
        };
        s.rate_limit.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    });
    let my_plans = json!({ "documentId": document_id(&operation("MyPlans")) });
    let as_patient = |sub: &str, client: &str| {
        let token = token_of(sub, Actor::Patient(Cpr::parse(PATIENT).expect("cpr")));
        app.post_raw(
            "/graphql",
            &[
                JSON,
                ("authorization", &format!("Bearer {token}")),
                ("x-forwarded-for", client),
            ],
            &my_plans.to_string(),
        )
    };
    for _ in 0..3 {
        let r = as_patient("phone-a", "192.0.2.1");
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = as_patient("phone-a", "192.0.2.1");
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "RATE_LIMITED");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.json().get("data").is_none());
    // Another user is not held back by the first…
    assert_eq!(as_patient("phone-b", "192.0.2.1").status, 200);
    // …and after Retry-After the first is let in again.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(as_patient("phone-a", "192.0.2.1").status, 200);

    // One address: 6 spent above (refused requests count too), 2 more, then refused whoever's
    // token it carries.
    for i in 0..2 {
        assert_eq!(as_patient(&format!("u{i}"), "192.0.2.1").status, 200);
    }
    let r = as_patient("u9", "192.0.2.1");
    assert_eq!(r.status, 429);
    assert!(r.body.contains("address"), "{}", r.body);
    let secs: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(secs >= 90, "{secs}");
    // Another client behind the same proxy has its own budget; a made-up header from an
    // untrusted peer would not have helped (see http::client's unit test).
    assert_eq!(as_patient("u9", "192.0.2.2").status, 200);
}

/// Two real gateway processes with one Redis: the budget is shared. Needs a Redis server:
/// FORLOEB_TEST_REDIS_URL (CI sets it), else 127.0.0.1:6379 if something listens there.
#[test]
fn a_redis_shared_budget_holds_across_two_gateway_processes() {
    let Some(url) = redis_url() else {
        eprintln!("skipped: no Redis (set FORLOEB_TEST_REDIS_URL)");
        return;
    };
    let db = helpers::TestDb::new();
    let out = helpers::forloeb()
        .args(["import", "--quiet", "--database", db.url()])
        .arg(fixture("feed"))
        .output()
        .expect("import");
    assert!(out.status.code() == Some(2) || out.status.success());
    let prefix = format!("forloeb-test:{}", uuid::Uuid::new_v4().simple());
    let env = [
        ("FORLOEB_RATE_LIMIT_STORE", url.as_str()),
        ("FORLOEB_RATE_LIMIT_KEY_PREFIX", prefix.as_str()),
        (
            "FORLOEB_RATE_LIMIT_PATIENT",
            "{ per_second = 0.01, burst = 4 }",
        ),
    ];
    let a = serve_with(db.url(), &env);
    let b = serve_with(db.url(), &env);
    let token = patient(PATIENT);
    let body = json!({ "documentId": document_id(&operation("MyPlans")) });
    let call = |addr: &str| -> u16 {
        match ureq::post(&format!("http://{addr}/graphql"))
            .set("authorization", &format!("Bearer {token}"))
            .send_json(body.clone())
        {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("{e}"),
        }
    };
    // A, B, A, B spend the burst of 4; each process alone would still allow two more.
    let statuses: Vec<u16> = [&a, &b, &a, &b, &a, &b]
        .iter()
        .map(|s| call(&s.addr))
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    let (_, log_a) = terminate(a);
    let (_, log_b) = terminate(b);
    let log = [log_a, log_b].concat().join("\n");
    assert!(!log.contains("Redis unreachable"), "{log}");
    assert!(!log.contains(PATIENT), "a CPR number reached the log");
}

/// Redis goes away and comes back (a relay the test cuts): meanwhile the process limits on its
/// own buckets and keeps answering; afterwards the connection manager has reconnected and the
/// shared bucket, spent before the outage, counts again.
#[test]
fn a_redis_outage_falls_back_and_the_shared_budget_returns_with_redis() {
    let Some(redis) = redis_url() else {
        eprintln!("skipped: no Redis (set FORLOEB_TEST_REDIS_URL)");
        return;
    };
    let upstream = redis
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_string();
    let relay = helpers::Relay::start(upstream);
    let prefix = format!("forloeb-test:{}", uuid::Uuid::new_v4().simple());
    let app = loaded_with(|s| {
        shipped_defaults(s);
        s.rate_limit.store =
            forloeb_gateway::config::Secret::new(format!("redis://127.0.0.1:{}", relay.port));
        s.rate_limit.key_prefix = prefix.clone();
        s.rate_limit.redis_timeout_ms = 200;
        s.rate_limit.patient = forloeb_gateway::config::Bucket {
            per_second: 0.001,
            burst: 3,
        };
    });
    let body = json!({ "documentId": document_id(&operation("MyPlans")) });
    let me = patient(PATIENT);
    let call = || post_as(&app, &me, &body).status;
    // Two of the shared burst of three.
    assert_eq!([call(), call()], [200, 200]);
    relay.cut();
    // Redis unreachable: this process's own (full) bucket answers, without a long wait.
    let started = Instant::now();
    assert_eq!(call(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    relay.restore();
    // Back on the shared bucket: one token left there (a local bucket would have two).
    let mut statuses = Vec::new();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        statuses.push(call());
        if statuses.contains(&429) {
            break;
        }
    }
    assert!(
        statuses.contains(&429) && statuses.iter().filter(|s| **s == 200).count() <= 1,
        "after the outage: {statuses:?}"
    );
}

/// Redis for the tests that need one: FORLOEB_TEST_REDIS_URL, else 127.0.0.1:6379 if
/// something listens there.
fn redis_url() -> Option<String> {
    match std::env::var("FORLOEB_TEST_REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::net::TcpStream::connect("127.0.0.1:6379").is_ok() => {
            Some("redis://127.0.0.1:6379".to_string())
        }
        _ => None,
    }
}

/// With Redis unreachable the process limits on its own buckets and keeps answering.
#[test]
fn an_unreachable_redis_falls_back_to_local_buckets() {
    let app = loaded_with(|s| {
        shipped_defaults(s);
        // Nothing listens on port 1.
        s.rate_limit.store = forloeb_gateway::config::Secret::new("redis://127.0.0.1:1");
        s.rate_limit.patient = forloeb_gateway::config::Bucket {
            per_second: 0.01,
            burst: 2,
        };
    });
    let body = json!({ "documentId": document_id(&operation("MyPlans")) });
    let me = patient(PATIENT);
    let statuses: Vec<u16> = (0..3).map(|_| post_as(&app, &me, &body).status).collect();
    assert_eq!(statuses, [200, 200, 429]);
}

/// A request past server.request_timeout_ms ends with TIMEOUT and the pool stays healthy.
/// The test holds a lock the request needs: on SQLite the write lock (the audit record
/// waits), on PostgreSQL a lock on the patient table (the read waits).
#[test]
fn a_request_past_its_deadline_ends_with_timeout_and_the_pool_recovers() {
    let app = loaded_with(|s| {
        s.server.request_timeout_ms = 400;
        s.database.statement_timeout_ms = 0;
    });
    let me = patient(PATIENT);
    let my_plans = operation("MyPlans");
    let lock = Lock::take(&app);
    let started = Instant::now();
    let r = app.graphql_as(&me, &my_plans, json!({}));
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(r.error_code(), "TIMEOUT");
    assert_eq!(
        r.json()["errors"][0]["extensions"]["requestId"].as_str(),
        r.request_id.as_deref()
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    drop(lock);
    // More requests than the pool has connections: none is lost to the stopped one.
    for _ in 0..6 {
        let r = app.graphql_as(&me, &my_plans, json!({})).json();
        assert!(r["errors"].is_null(), "{r}");
    }
}

/// PostgreSQL cancels a statement at database.statement_timeout_ms: the field answers
/// TIMEOUT, the connection goes back to the pool, and the next request is served.
#[test]
fn a_statement_past_the_database_timeout_is_cancelled_on_postgres() {
    let probe = helpers::TestDb::new();
    if !probe.is_postgres() {
        return;
    }
    drop(probe);
    let app = loaded_with(|s| {
        s.server.request_timeout_ms = 10_000;
        s.database.statement_timeout_ms = 300;
        s.database.pool_size = 2;
    });
    let who = clinician("586964");
    let q = format!("{{ patient(cpr: \"{PATIENT}\") {{ birthDate }} }}");
    let lock = Lock::take(&app);
    let r = app.graphql_as(&who, &q, json!({})).json();
    assert_eq!(r["errors"][0]["extensions"]["code"], "TIMEOUT", "{r}");
    drop(lock);
    for _ in 0..4 {
        let r = app.graphql_as(&who, &q, json!({})).json();
        assert!(r["data"]["patient"]["birthDate"].is_string(), "{r}");
    }
}

/// A lock the test holds until dropped, on a connection of its own.
enum Lock {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

impl Lock {
    fn take(app: &TestApp) -> Self {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        if app.db.is_postgres() {
            let mut c = diesel::PgConnection::establish(app.db.url()).expect("connect");
            c.batch_execute("BEGIN; LOCK TABLE patients IN ACCESS EXCLUSIVE MODE")
                .expect("lock");
            Lock::Postgres(c)
        } else {
            let mut c = diesel::SqliteConnection::establish(app.db.url()).expect("connect");
            c.batch_execute("BEGIN IMMEDIATE").expect("lock");
            Lock::Sqlite(c)
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;
        let _ = match self {
            Lock::Sqlite(c) => c.batch_execute("ROLLBACK"),
            Lock::Postgres(c) => c.batch_execute("ROLLBACK"),
        };
    }
}

/// Errors never show SQL, table names, file paths or the CPR the client sent; internal ones
/// carry the request id.
#[test]
fn errors_carry_no_sql_paths_or_personal_identifiers() {
    let app = loaded_with(|_| {});
    let who = clinician("586964");
    // A CPR that fails its checks is named as an argument, not echoed.
    for (q, vars) in [
        (
            "query($c: String!) { patient(cpr: $c) { birthDate } }",
            json!({"c": "2709401234x"}),
        ),
        ("{ patient(cpr: \"3213991234\") { birthDate } }", json!({})),
        (
            "query($c: Int!) { patient(cpr: $c) { birthDate } }",
            json!({"c": 2709400129_u64}),
        ),
    ] {
        let r = app.graphql_as(&who, q, vars);
        assert!(!r.json()["errors"].is_null(), "{}", r.body);
        for secret in ["2709401234", "3213991234", "2709400129"] {
            let shown = r.body.replace(q, "");
            assert!(!shown.contains(secret), "{q}: {}", r.body);
        }
    }
    let leaks = |body: &str| {
        let lowered = body.to_ascii_lowercase();
        for leak in [
            "plan_versions",
            "audit_log",
            "select",
            "insert",
            "table",
            "sqlite",
            "postgres",
            "/tmp",
            ".rs",
            PATIENT,
        ] {
            assert!(!lowered.contains(leak), "{leak} in {body}");
        }
    };
    // Break the database under the gateway, one table at a time.
    let break_table = |table: &str| {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        if app.db.is_postgres() {
            let mut c = diesel::PgConnection::establish(app.db.url()).expect("connect");
            c.batch_execute(&format!("DROP TABLE {table} CASCADE"))
                .expect("drop");
        } else {
            let mut c = diesel::SqliteConnection::establish(app.db.url()).expect("connect");
            c.batch_execute(&format!("DROP TABLE {table}"))
                .expect("drop");
        }
    };
    // The audit cannot be written: the whole answer is withheld.
    break_table("audit_log");
    let q = format!("{{ patient(cpr: \"{PATIENT}\") {{ birthDate }} }}");
    let r = app.graphql_as(&who, &q, json!({}));
    assert_eq!(r.status, 500, "{}", r.body);
    let v = r.json();
    assert_eq!(v["errors"][0]["extensions"]["code"], "INTERNAL", "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["requestId"].as_str(),
        r.request_id.as_deref()
    );
    assert!(
        v.get("data").is_none(),
        "the answer is withheld without its audit: {v}"
    );
    leaks(&r.body);
    // A field that fails: INTERNAL with the request id; the rest of the answer stands.
    break_table("plan_versions");
    let q = "{ apiVersion clinic(ydernummer: \"586964\") { population { diagnosed { value } } } }";
    let r = app.graphql_as(&who, q, json!({}));
    let v = r.json();
    assert!(v["data"]["apiVersion"].is_string(), "{v}");
    assert_eq!(v["errors"][0]["extensions"]["code"], "INTERNAL", "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["requestId"].as_str(),
        r.request_id.as_deref()
    );
    leaks(&r.body);
}
