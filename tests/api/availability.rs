//! No authorised user can stall the gateway: work is costed by what it touches, deadlines
//! stop work, cluster views load in one read, patients have connections of their own, and a
//! client that trickles its body is bounded before and while it is read.

use crate::helpers::{ministry, patient, spawn_app_with, spawn_with_demo, TestApp};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const ALL_DIMENSIONS: &str = "[REGION, CLUSTER, CLINIC, TYPE, SOURCE, WEEK, MONTH, YEAR]";

/// `n` aliased three-year breakdowns by every dimension, limit 1: cheap to write, costly to
/// answer.
fn aliased_breakdowns(n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "a{i}: planActivity(from: \"2020-01-01\", to: \"2022-12-30\", groupBy: {ALL_DIMENSIONS}, limit: 1) {{ total {{ plans }} }}"
            )
        })
        .collect();
    format!("{{ {} }}", fields.join(" "))
}

#[test]
fn work_is_costed_by_what_it_touches_and_aliases_add_up() {
    // What one breakdown touches: every version in the range, once per dimension and once more.
    let versions = {
        let app = spawn_with_demo(|_| {});
        let r = app
            .graphql_as(
                &ministry(),
                "{ planActivity(from: \"2020-01-01\", to: \"2022-12-30\", groupBy: [YEAR]) { total { plans } } }",
                json!({}),
            )
            .json();
        r["data"]["planActivity"]["total"]["plans"]
            .as_u64()
            .expect("plans")
    };
    let one = versions * 9;
    assert!(one > 0, "{versions}");
    // A budget for three and a half such breakdowns.
    let budget = one * 3 + one / 2;
    let app = spawn_with_demo(|s| s.work.budget.ministry = budget);
    let fit = 3;
    let r = app
        .graphql_as(&ministry(), &aliased_breakdowns(fit + 2), json!({}))
        .json();
    let answered = (0..fit + 2)
        .filter(|i| r["data"][format!("a{i}")]["total"]["plans"].is_u64())
        .count();
    assert_eq!(answered, fit, "{r}");
    let errors = r["errors"].as_array().expect("refusals");
    assert_eq!(errors.len(), 2, "{r}");
    for e in errors {
        assert_eq!(e["extensions"]["code"], "OPERATION_LIMIT");
        let m = e["message"].as_str().unwrap_or("");
        assert!(
            m.contains("units") && m.contains(&format!("budget of {budget}")),
            "{m}"
        );
    }
}

#[test]
fn a_request_past_its_deadline_stops_working_and_others_are_served() {
    // Short enough that twelve breakdowns never finish within it, on a fast machine too.
    let app = spawn_with_demo(|s| {
        s.server.request_timeout_ms = 30;
        s.work.budget.ministry = u64::MAX / 4;
    });
    // The first request builds the aggregates, which may take longer than the deadline.
    let cheap = "{ rollout(asOf: \"2022-12-31\") { openClinics } }";
    let warm = (0..40).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        app.graphql_as(&ministry(), cheap, json!({})).status == 200
    });
    assert!(warm, "the aggregates were never built");
    let started = Instant::now();
    let r = app.graphql_as(&ministry(), &aliased_breakdowns(12), json!({}));
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(r.error_code(), "TIMEOUT");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Its work stopped: the next request is served at once.
    let started = Instant::now();
    let r = app.graphql_as(&ministry(), cheap, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// Every cluster view and every population of a request comes from one read, however many
/// clusters or clinics it shows.
#[test]
fn cluster_views_and_populations_load_in_one_read() {
    let app = spawn_with_demo(|_| {});
    let mut served = crate::cli::serve_with(
        app.db.url(),
        &[
            ("FORLOEB_RATE_LIMIT_ENABLED", "false"),
            (
                "FORLOEB_ACCESS_CELL_BUDGET",
                "{ clinician = 100000, region = 100000, ministry = 100000 }",
            ),
        ],
    );
    let base = format!("http://{}", served.addr);
    let statements = || -> u64 {
        ureq::get(&format!("{base}/metrics"))
            .call()
            .expect("metrics")
            .into_string()
            .expect("text")
            .lines()
            .find_map(|l| l.strip_prefix("forloeb_db_statements_total "))
            .and_then(|n| n.trim().parse().ok())
            .expect("counter")
    };
    let cost = |list: &str, args: &str| {
        let q = match list {
            "clusters" => format!(
                "{{ clusters{args} {{ id view(asOf: \"2022-12-31\") {{ clinics {{ coverage {{ diagnosed {{ value }} }} }} }} }} }}"
            ),
            _ => format!(
                "{{ clinics{args} {{ ydernummer population(asOf: \"2022-12-31\") {{ diagnosed {{ value }} }} }} }}"
            ),
        };
        let before = statements();
        let r: Value = ureq::post(&format!("{base}/graphql"))
            .set("authorization", &format!("Bearer {}", ministry()))
            .send_json(json!({ "query": q }))
            .expect("query")
            .into_json()
            .expect("json");
        assert!(r["errors"].is_null(), "{r}");
        let items = r["data"][list].as_array().map_or(0, Vec::len);
        (statements() - before, items)
    };
    for list in ["clusters", "clinics"] {
        cost(list, "");
        let (one_region, few) = cost(list, "(region: \"1084\")");
        let (nation, all) = cost(list, "");
        assert!(
            all > few && few > 0,
            "{few} {list} in the region, {all} in all"
        );
        // One read for all: the statements grow only with the patients read (their plans are
        // looked up 5,000 at a time), not with the items; one read per item would add at
        // least two statements each. (The counter is process-wide, so the smaller question
        // can count a statement of the gateway's own more: never subtract below zero.)
        assert!(
            nation.saturating_sub(one_region) < 2 * (all - few) as u64,
            "{few} {list}: {one_region} statements; {all} {list}: {nation}"
        );
    }
    let _ = served.child.kill();
    let _ = served.child.wait();
}

/// A patient's read does not wait for the shared connections: they have their own.
#[test]
fn patients_have_connections_nobody_else_can_take() {
    let app = spawn_with_demo(|_| {});
    let mut settings = crate::helpers::test_settings(app.db.url());
    settings.database.pool_size = 1;
    settings.database.reserved_pool_size = 1;
    settings.database.connect_timeout_secs = 1;
    let db = forloeb_gateway::db::Db::connect(&settings.database).expect("db");
    let held = db.get().expect("the one shared connection");
    actix_web::rt::System::new().block_on(async {
        let started = Instant::now();
        let shared = db.run(forloeb_gateway::db::data_version).await;
        assert!(shared.is_err(), "the shared pool is empty");
        assert!(started.elapsed() >= Duration::from_millis(900));
        let started = Instant::now();
        let reserved = db.reserved().run(forloeb_gateway::db::data_version).await;
        assert!(reserved.is_ok(), "{reserved:?}");
        assert!(started.elapsed() < Duration::from_millis(500));
    });
    drop(held);
    // And through the gateway: a patient is answered while dashboards run.
    let cpr = {
        use diesel::prelude::*;
        use forloeb_gateway::db::tables::plan_versions;
        let mut c = db.get().expect("conn");
        plan_versions::table
            .select(plan_versions::cpr)
            .first::<String>(&mut c)
            .expect("a patient")
    };
    let r = app.graphql_as(&patient(&cpr), "{ me { plans { id } } }", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Sends headers announcing a body, then the body a byte at a time; returns the status line
/// and how long the answer took.
fn trickle(app: &TestApp, every: Duration, bytes: usize) -> (String, Duration) {
    let mut s = TcpStream::connect(app.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let started = Instant::now();
    write!(
        s,
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    )
    .expect("headers");
    for _ in 0..bytes {
        std::thread::sleep(every);
        if s.write_all(b" ").is_err() {
            break;
        }
    }
    let mut answer = vec![0u8; 512];
    let n = s.read(&mut answer).unwrap_or(0);
    let text = String::from_utf8_lossy(&answer[..n]).to_string();
    (
        text.lines().next().unwrap_or("").to_string(),
        started.elapsed(),
    )
}

#[test]
fn a_client_that_trickles_its_body_is_cut_off() {
    let app = spawn_app_with(|s| {
        s.server.body_timeout_ms = 1_000;
        s.server.max_requests_per_address = 2;
    });
    let (status, took) = trickle(&app, Duration::from_millis(300), 20);
    assert!(status.contains(" 408 "), "{status}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    // Two slow clients take this address's two slots; a third request is refused at once,
    // before its body is read, and once they are cut off the address is served again.
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let addr = app.addr;
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(10))).expect("t");
                write!(
                    s,
                    "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
                )
                .expect("headers");
                let mut buf = [0u8; 256];
                let _ = s.read(&mut buf);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let r = app.graphql_as(&ministry(), "{ apiVersion }", json!({}));
    assert_eq!(r.status, 429, "{}", r.body);
    for t in slow {
        t.join().expect("slow client");
    }
    let r = app.graphql_as(&ministry(), "{ apiVersion }", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
}
