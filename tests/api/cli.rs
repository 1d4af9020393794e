//! The `forloeb` binary as an operator meets it.

use crate::helpers::{forloeb, TestDb};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn help_explains_every_subcommand() {
    let out = forloeb().arg("--help").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["serve", "migrate", "schema", "FORLOEB_DATABASE_URL"] {
        assert!(text.contains(sub), "--help lacks {sub}: {text}");
    }
    for (sub, phrase) in [
        ("serve", "SIGTERM"),
        ("migrate", "Safe to run repeatedly"),
        ("schema", "SDL"),
    ] {
        let out = forloeb().args([sub, "--help"]).output().expect("run");
        assert!(out.status.success(), "{sub} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(phrase),
            "{sub} --help lacks {phrase:?}: {text}"
        );
    }
}

#[test]
fn schema_command_prints_the_committed_sdl() {
    let out = forloeb().arg("schema").output().expect("run");
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("utf8");
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/schema.graphql"
    ))
    .expect("schema/schema.graphql");
    assert_eq!(
        printed, committed,
        "the schema drifted from schema/schema.graphql; if intended, run \
         `cargo run -- schema > schema/schema.graphql` and commit it"
    );
}

/// A running `forloeb serve` whose log lines are collected.
pub(crate) struct Served {
    pub(crate) child: Child,
    pub(crate) addr: String,
    lines: mpsc::Receiver<String>,
}

pub(crate) fn serve(db_url: &str) -> Served {
    serve_with(db_url, &[])
}

/// As `serve`, with settings from the environment.
pub(crate) fn serve_with(db_url: &str, env: &[(&str, &str)]) -> Served {
    let mut child = forloeb()
        .envs(env.iter().copied())
        .args([
            "serve",
            "--log-format",
            "json",
            "--bind",
            "127.0.0.1:0",
            "--database",
            db_url,
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn forloeb serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no 'listening' line; log so far: {seen:#?}"));
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split('/').next().expect("addr").to_string();
        }
        seen.push(line);
    };
    Served { child, addr, lines }
}

pub(crate) fn terminate(served: Served) -> (bool, Vec<String>) {
    let pid = i32::try_from(served.child.id()).expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    wait_for_exit(served)
}

/// Waits for a served gateway to exit: whether it exited 0, and its log.
pub(crate) fn wait_for_exit(mut served: Served) -> (bool, Vec<String>) {
    let status = served.child.wait().expect("wait");
    let lines: Vec<String> = served.lines.try_iter().collect();
    (status.success(), lines)
}

#[test]
fn serve_creates_and_migrates_a_missing_database_then_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let pg = TestDb::new();
    let db_url = if pg.is_postgres() {
        pg.url().to_string()
    } else {
        dir.path().join("not-yet-there.db").display().to_string()
    };
    let served = serve(&db_url);
    let base = format!("http://{}", served.addr);

    let cpr = "0103521234";
    let token = crate::helpers::ministry();
    let res = ureq::post(&format!("{base}/graphql"))
        .set("authorization", &format!("Bearer {token}"))
        .set("x-request-id", "cli-test-1")
        .set(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send_json(serde_json::json!({
            "query": "query Hello { __typename }",
            "operationName": "Hello",
            "variables": { "cpr": cpr }
        }))
        .expect("POST");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.into_json().expect("json");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let res = ureq::get(&format!(
        "{base}/graphql?query=%7B__typename%7D&variables=%7B%22cpr%22%3A%22{cpr}%22%7D"
    ))
    .call()
    .expect("GET");
    assert_eq!(res.status(), 200);
    if !pg.is_postgres() {
        assert!(dir.path().join("not-yet-there.db").exists());
    }

    let (clean, lines) = terminate(served);
    assert!(clean, "exit status after SIGTERM; log: {lines:#?}");
    assert!(lines.iter().any(|l| l.contains("stopped")), "{lines:#?}");
    let finished = lines
        .iter()
        .find(|l| l.contains("cli-test-1") && l.contains("request finished"))
        .unwrap_or_else(|| panic!("no request line for cli-test-1: {lines:#?}"));
    let event: serde_json::Value = serde_json::from_str(finished).expect("JSON log line");
    // One line an operator can search: who (role), what (a trusted name or ad_hoc: the
    // document's own name is free text), how it ended, the trace it belongs to, and the
    // duration as a number.
    let span = &event["span"];
    assert_eq!(span["operation"], "ad_hoc", "{event}");
    assert_eq!(span["role"], "ministry", "{event}");
    assert_eq!(span["outcome"], "ok", "{event}");
    assert_eq!(span["status"], 200, "{event}");
    assert_eq!(
        span["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "{event}"
    );
    assert!(span["duration_ms"].is_f64(), "{event}");
    // Colour codes only on a terminal; this log is a pipe.
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:#?}");
    for line in &lines {
        assert!(!line.contains(cpr), "CPR number in log: {line}");
        assert!(!line.contains(&token), "token in log: {line}");
    }
}

#[test]
fn migrate_is_idempotent() {
    let dir = tempfile::tempdir().expect("tmp");
    let pg = TestDb::new();
    let url = if pg.is_postgres() {
        pg.url().to_string()
    } else {
        format!("sqlite://{}", dir.path().join("m.db").display())
    };
    let first = forloeb()
        .args(["migrate", "--database", &url])
        .output()
        .expect("run");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied"));
    let second = forloeb()
        .args(["migrate", "--database", &url])
        .output()
        .expect("run");
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date"));
}

#[test]
fn configuration_errors_name_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nbnd = \"x\"\n").expect("write");
    let out = forloeb()
        .args(["--config", file.to_str().expect("path"), "migrate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bnd"), "{err}");

    let out = forloeb()
        .env("FORLOEB_DATABASE_URLL", "x")
        .arg("migrate")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("urll"));
}

#[test]
fn an_unreachable_database_is_a_clear_fatal_error() {
    let out = forloeb()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database",
            "postgres://nobody:secret@127.0.0.1:1/forloeb",
        ])
        .env("FORLOEB_DATABASE_CONNECT_TIMEOUT_SECS", "2")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot start on postgres://127.0.0.1:1/forloeb"),
        "{err}"
    );
    assert!(!err.contains("secret"), "password leaked: {err}");
}

/// A misspelt path fails, naming it: a report is not made from a new empty database, and no
/// directory is created for a database file.
#[test]
fn a_missing_database_or_directory_is_refused_not_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nowhere.db");
    let missing = missing.to_string_lossy();
    for args in [
        vec!["report", "--as-of", "2022-05-18", "--database", &missing],
        vec![
            "audit",
            "questions",
            "--since",
            "2022-05-18",
            "--database",
            &missing,
        ],
        vec![
            "export",
            "rkkp",
            "--as-of",
            "2022-05-18",
            "--database",
            &missing,
        ],
    ] {
        let out = forloeb().args(&args).output().expect("run");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no database at") && err.contains(&*missing),
            "{err}"
        );
        assert!(
            !dir.path().join("nowhere.db").exists(),
            "{args:?} created it"
        );
    }
    let nested = dir.path().join("no/such/dir/x.db");
    let out = forloeb()
        .args(["serve", "--bind", "127.0.0.1:0", "--database"])
        .arg(&nested)
        .env("FORLOEB_DATABASE_CONNECT_TIMEOUT_SECS", "2")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no directory"), "{err}");
    assert!(!dir.path().join("no").exists(), "a directory was created");
}

#[test]
fn demo_loads_valid_data_and_a_second_run_changes_nothing() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens_file = dir.path().join("tokens.json");
    let run = || {
        let out = forloeb()
            .args([
                "demo",
                "--no-serve",
                "--clinics",
                "6",
                "--seed",
                "5",
                "--database",
                db.url(),
                "--tokens-file",
            ])
            .arg(&tokens_file)
            .output()
            .expect("run demo");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    };
    // file read loaded unchanged rejected stored
    let rows = |text: &str| -> Vec<Vec<i64>> {
        text.lines()
            .filter(|l| l.contains(".ndjson"))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .map(|c| c.parse().unwrap_or(-1))
                    .collect()
            })
            .collect()
    };
    let printed = run();
    // Each token says whose it is: the clinic by name and number, the region, the patient by
    // birth year; never a CPR number (ten digits) outside the tokens themselves.
    for whose in [
        "a GP of Lægerne ",
        "(ydernummer ",
        "Region ",
        "the whole country",
        "a patient born in ",
    ] {
        assert!(printed.contains(whose), "{whose}: {printed}");
    }
    // (The tokens' part of the output: the load's summary names the database, whose test
    // name may hold a long run of digits.)
    for line in printed
        .lines()
        .skip_while(|l| !l.starts_with("demo tokens"))
        .filter(|l| !l.trim_start().starts_with("eyJ"))
    {
        let longest_digits = line
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest_digits < 10, "{line}");
    }
    let tokens: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens_file).expect("tokens file"))
            .expect("json");
    assert_eq!(
        tokens["tokens"].as_array().map(Vec::len),
        Some(5),
        "{tokens}"
    );
    // Credentials: readable by the owner alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&tokens_file)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
    assert!(
        tokens["cast"]["patientId"]
            .as_str()
            .is_some_and(|id| id.starts_with("p1_")),
        "{tokens}"
    );
    let first = rows(&printed);
    assert_eq!(first.len(), 7, "seven feeds");
    assert!(first.iter().all(|r| r[3] == 0 && r[4] > 0), "{first:?}");
    let second = rows(&run());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(b[1], 0, "nothing new the second time: {second:?}");
        assert_eq!(a[4], b[4], "same rows stored");
    }
}

/// An answer a client received has its audit record committed, even when the server is killed
/// outright (SIGKILL, no shutdown) under load: the audit is written in groups, and every
/// person-level answer waits for its group's commit (`access::group_commit`).
#[test]
fn a_kill_under_load_loses_no_audit_record_of_an_answer_given() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().expect("tmp");
    let pg = TestDb::new();
    let db_url = if pg.is_postgres() {
        pg.url().to_string()
    } else {
        dir.path().join("killed.db").display().to_string()
    };
    let mut served = serve_with(
        &db_url,
        &[
            ("FORLOEB_RATE_LIMIT_ENABLED", "false"),
            ("FORLOEB_DOCUMENTS_AD_HOC_ROLES", r#"["patient"]"#),
            ("FORLOEB_SERVER_MAX_REQUESTS_PER_ADDRESS", "1000"),
        ],
    );
    let url = format!("http://{}/graphql", served.addr);
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|t| {
            let (url, answered, stop) = (url.clone(), answered.clone(), stop.clone());
            std::thread::spawn(move || {
                let token = crate::helpers::patient(["2709400129", "0103521234"][t % 2]);
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(5))
                    .build();
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("kill-{t}-{n}");
                    let sent = agent
                        .post(&url)
                        .set("authorization", &format!("Bearer {token}"))
                        .set("x-request-id", &id)
                        .send_json(serde_json::json!({ "query": "{ me { cpr } }" }));
                    match sent {
                        Ok(r) if r.status() == 200 => {
                            let body: serde_json::Value = r.into_json().expect("json");
                            if body["data"]["me"]["cpr"].is_string() {
                                answered.lock().expect("lock").push(id);
                            }
                        }
                        // The server is gone: nothing more is answered.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Load for a while, then kill without warning.
    std::thread::sleep(Duration::from_millis(1500));
    served.child.kill().expect("SIGKILL");
    served.child.wait().expect("wait");
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("client");
    }
    let answered = answered.lock().expect("lock").clone();
    assert!(answered.len() >= 20, "too little load: {}", answered.len());
    let recorded = crate::helpers::audited_client_ids(&db_url);
    let lost: Vec<&String> = answered
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} answers have no audit record: {:?}",
        lost.len(),
        answered.len(),
        &lost[..lost.len().min(10)]
    );
}
