//! The gateway when things go wrong around it: the disk full under an embedded database, and
//! SIGTERM in the middle of traffic. (The database cut away under load is
//! `health::a_database_outage_under_load_is_answered_then_recovered_from`; SIGKILL under load
//! is `cli::a_kill_under_load_loses_no_audit_record_of_an_answer_given`.)

use crate::cli::serve_with;
use crate::hardening::operation;
use crate::helpers::{self, fixture, forloeb, spawn_on, test_settings, TestApp, TestDb};
use diesel::prelude::*;
use forloeb_gateway::db::tables::plan_versions;
use serde_json::{json, Value};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A patient of the test feed.
const PATIENT: &str = "2709400129";
const SMALL_DISK_ENV: &str = "FORLOEB_TEST_SMALL_DISK";

/// A directory on a small file system of its own (`.ci/run` mounts a tmpfs), which the test
/// may fill; None (the test is skipped) on a developer's machine without one. CI must have it.
fn small_disk() -> Option<PathBuf> {
    match std::env::var(SMALL_DISK_ENV) {
        Ok(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{SMALL_DISK_ENV} must name a small file system in CI (.ci/run mounts one)")
        }
        _ => {
            eprintln!("skipped: set {SMALL_DISK_ENV} to a directory on a small file system");
            None
        }
    }
}

/// Fills the file system `dir` is on, to the last byte, with one file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    for chunk in [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1] {
        let bytes = vec![0u8; chunk];
        loop {
            match file.write_all(&bytes) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling {}: {e}", dir.display()),
            }
        }
    }
    let _ = file.sync_all();
    path
}

/// A named operation as its trusted text, with its header's variables.
fn named(app: &TestApp, token: &str, name: &str, variables: Value) -> helpers::Reply {
    app.graphql_as(token, &operation(name), variables)
}

fn plan_versions(url: &str) -> i64 {
    let db = forloeb_gateway::db::Db::connect(&test_settings(url).database).expect("db");
    let mut conn = db.get().expect("conn");
    forloeb_gateway::on_backend!(&mut *conn, |c| plan_versions::table.count().get_result(c))
        .expect("count")
}

/// SQLite on a full disk: an answer holding person-level data is withheld (its audit record
/// cannot be written) with a clear INTERNAL, the aggregates still answer, an import stops with
/// exit 1 and leaves nothing of its batch, and once there is room again everything answers
/// without a restart.
#[test]
fn a_full_disk_withholds_person_level_answers_keeps_aggregates_and_stops_an_import_whole() {
    if std::env::var("FORLOEB_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        eprintln!("skipped: an embedded database's disk (runs in the SQLite pass)");
        return;
    }
    let Some(disk) = small_disk() else { return };
    let db = TestDb::sqlite_in(&disk);
    let url = db.url().to_string();
    let app = spawn_on(db, test_settings(&url));
    app.import(&fixture("feed"));
    let patient = helpers::patient(PATIENT);
    let ministry = helpers::ministry();
    let clinician = helpers::clinician("586964");
    let mine = named(&app, &patient, "MyPlans", json!({})).json();
    assert!(mine["errors"].is_null(), "{mine}");
    let versions = plan_versions(&url);

    // The WAL emptied into the database, so the next write must take new room; then no room.
    {
        let mut conn = diesel::SqliteConnection::establish(&url).expect("sqlite");
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .expect("checkpoint");
    }
    let filler = fill(Path::new(&url).parent().expect("dir"));

    let withheld = named(&app, &patient, "MyPlans", json!({}));
    assert_eq!(withheld.error_code(), "INTERNAL", "{}", withheld.body);
    let message = withheld.json()["errors"][0]["message"].to_string();
    assert!(
        message.contains("audit record could not be written"),
        "{message}"
    );
    assert!(!withheld.body.contains(PATIENT), "{}", withheld.body);
    // A clinician's patient list is person-level too.
    let list = app.graphql_as(
        &clinician,
        "{ clinic(ydernummer: \"586964\") { patients(first: 5) { edges { node { cpr } } } } }",
        json!({}),
    );
    assert!(!list.body.contains(PATIENT), "{}", list.body);
    assert!(list.body.contains("INTERNAL"), "{}", list.body);
    // Figures need no write: named operations are not charged to the disclosure budget.
    for (token, name, variables) in [
        (&ministry, "NationalStatus", json!({ "asOf": "2022-05-18" })),
        (
            &clinician,
            "ClusterView",
            json!({ "id": "K1083-01", "asOf": "2022-05-18" }),
        ),
    ] {
        let r = named(&app, token, name, variables).json();
        assert!(r["errors"].is_null(), "{name}: {r}");
        assert!(r["data"].is_object(), "{name}: {r}");
    }
    assert_eq!(app.get("/health/ready").status, 200);
    let metrics = app.get("/metrics").body;
    let failures = metrics
        .lines()
        .find(|l| l.starts_with("forloeb_audit_commit_failures_total"))
        .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .expect("audit failures series");
    assert!(failures >= 1.0, "{metrics}");

    // An import: exit 1 with a message naming the cause, nothing of its batch stored.
    let feed = tempfile::tempdir().expect("feed");
    let plans = feed.path().join("plans.ndjson");
    std::fs::write(
        &plans,
        format!(
            r#"{{"source": "PLSP", "plan_id": "PLSP-full-disk", "version": 1, "cpr": "{PATIENT}", "ydernummer": "586964", "type": "DM2", "created_at": "2022-06-01T09:00:00+02:00", "status": "active"}}"#
        ),
    )
    .expect("feed");
    let out = forloeb()
        .args(["import", "--quiet", "--database", &url, "--kind", "plans"])
        .arg(&plans)
        .output()
        .expect("import");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("full"), "{stderr}");
    assert!(stderr.contains("re-run the import"), "{stderr}");

    // Room again: answered, no restart; the import goes in whole.
    std::fs::remove_file(&filler).expect("free");
    let mine = named(&app, &patient, "MyPlans", json!({})).json();
    assert!(mine["errors"].is_null(), "{mine}");
    assert_eq!(plan_versions(&url), versions, "nothing of the failed batch");
    let out = forloeb()
        .args(["import", "--quiet", "--database", &url, "--kind", "plans"])
        .arg(&plans)
        .output()
        .expect("import");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(plan_versions(&url), versions + 1);
}

/// A request for the trickle: headers and half its body sent, the rest when asked.
struct Trickled {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl Trickled {
    fn start(addr: &str, token: &str, body: &str) -> Self {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let head = format!(
            "POST /graphql HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             authorization: Bearer {token}\r\nx-request-id: in-flight\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let (first, rest) = body.as_bytes().split_at(body.len() / 2);
        stream.write_all(head.as_bytes()).expect("head");
        stream.write_all(first).expect("first half");
        Self {
            stream,
            rest: rest.to_vec(),
        }
    }

    fn finish(mut self) -> String {
        self.stream.write_all(&self.rest).expect("second half");
        let mut answer = String::new();
        self.stream.read_to_string(&mut answer).expect("answer");
        answer
    }
}

/// SIGTERM under mixed load: requests in flight finish (one still sending its body among
/// them), new connections are refused, every answer a client got is whole and its audit
/// record is there, and the process exits 0.
#[test]
fn sigterm_under_load_finishes_what_is_in_flight_refuses_the_rest_and_exits_0() {
    let dir = tempfile::tempdir().expect("tmp");
    let pg = TestDb::new();
    let db_url = if pg.is_postgres() {
        pg.url().to_string()
    } else {
        dir.path().join("terminated.db").display().to_string()
    };
    let served = serve_with(
        &db_url,
        &[
            ("FORLOEB_RATE_LIMIT_ENABLED", "false"),
            ("FORLOEB_SERVER_MAX_REQUESTS_PER_ADDRESS", "1000"),
            ("FORLOEB_SERVER_SHUTDOWN_TIMEOUT_SECS", "20"),
        ],
    );
    let addr = served.addr.clone();
    let url = format!("http://{addr}/graphql");
    let my_plans = operation("MyPlans");
    let national = operation("NationalStatus");
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6)
        .map(|t| {
            let (url, answered, stop) = (url.clone(), answered.clone(), stop.clone());
            let (my_plans, national) = (my_plans.clone(), national.clone());
            std::thread::spawn(move || {
                // Mostly the app's reads, some of the ministry's figures.
                let (token, query, variables) = if t % 3 == 2 {
                    (
                        helpers::ministry(),
                        national,
                        json!({ "asOf": "2022-05-18" }),
                    )
                } else {
                    let cpr = ["2709400129", "0103521234"][t % 2];
                    (helpers::patient(cpr), my_plans, json!({}))
                };
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(20))
                    .build();
                let mut refused = 0;
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("term-{t}-{n}");
                    let sent = agent
                        .post(&url)
                        .set("authorization", &format!("Bearer {token}"))
                        .set("x-request-id", &id)
                        .send_json(json!({ "query": query, "variables": variables }));
                    match sent {
                        Ok(r) => {
                            let status = r.status();
                            let body: Value = r.into_json().expect("a whole JSON answer");
                            assert_eq!(status, 200, "{body}");
                            assert!(body["errors"].is_null(), "{body}");
                            answered.lock().expect("lock").push(id);
                        }
                        Err(ureq::Error::Status(code, r)) => {
                            panic!("{code}: {}", r.into_string().unwrap_or_default())
                        }
                        // Shut out: the connection was closed or refused.
                        Err(ureq::Error::Transport(_)) => {
                            refused += 1;
                            if refused > 3 {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    let in_flight = Trickled::start(
        &addr,
        &helpers::patient(PATIENT),
        &json!({ "query": my_plans }).to_string(),
    );
    std::thread::sleep(Duration::from_millis(200));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(served.child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let signalled = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    // No new connection is taken (or, taken by the kernel's queue, ever answered).
    match TcpStream::connect(&addr) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}"),
        Ok(mut late) => {
            late.set_read_timeout(Some(Duration::from_secs(1)))
                .expect("timeout");
            let _ = late.write_all(b"GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n");
            let mut answer = String::new();
            let _ = late.read_to_string(&mut answer);
            assert!(
                !answer.starts_with("HTTP/1.1 200"),
                "answered after SIGTERM: {answer}"
            );
        }
    }
    // The request that was still sending its body is answered in full.
    let answer = in_flight.finish();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""me":{"#), "{answer}");
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("a client saw a broken answer");
    }
    let (clean, lines) = crate::cli::wait_for_exit(served);
    assert!(clean, "exit status after SIGTERM; log: {lines:#?}");
    assert!(signalled.elapsed() < Duration::from_secs(20));
    assert!(lines.iter().any(|l| l.contains("stopped")), "{lines:#?}");
    let answered = answered.lock().expect("lock").clone();
    assert!(answered.len() >= 20, "too little load: {}", answered.len());
    // Every person-level answer given has its audit record.
    let recorded = helpers::audited_client_ids(&db_url);
    assert!(recorded.contains("in-flight"));
    let lost: Vec<&String> = answered
        .iter()
        .filter(|id| !id.starts_with("term-2-") && !id.starts_with("term-5-"))
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(lost.is_empty(), "answers without audit: {lost:?}");
}
