//! `forloeb import` against the committed fixture and its reference figures.

use crate::helpers::{fixture, forloeb, Relay, TestDb, POSTGRES_ENV};
use diesel::prelude::*;
use forloeb_gateway::config::{Secret, Settings};
use forloeb_gateway::db::tables::plan_versions;
use forloeb_gateway::db::{run_migrations, Db};
use forloeb_gateway::ingest::{FeedKind, ImportOptions, Importer};
use forloeb_gateway::on_backend;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("feed/expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("json")
}

fn open(db: &TestDb) -> Db {
    let mut settings = Settings::load_from(None, Vec::new()).expect("settings");
    settings.database.url = Secret::new(db.url());
    settings.database.pool_size = 1;
    let db = Db::connect(&settings.database).expect("connect");
    run_migrations(&mut db.get().expect("conn")).expect("migrate");
    db
}

/// The summary table `import` prints: file → [read, loaded, unchanged, rejected, stored].
fn summary(stdout: &[u8]) -> HashMap<String, Vec<i64>> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.contains(".ndjson") || l.starts_with("stdin"))
        .map(|l| {
            let mut cols = l.split_whitespace();
            let file = cols
                .next()
                .unwrap_or_default()
                .trim_end_matches(".ndjson")
                .to_string();
            (file, cols.map(|c| c.parse().unwrap_or(-1)).collect())
        })
        .collect()
}

fn import_dir(db: &TestDb, extra: &[&str]) -> (Option<i32>, HashMap<String, Vec<i64>>, String) {
    let out = forloeb()
        .args(["import", "--quiet", "--database", db.url()])
        .arg(fixture("feed"))
        .args(extra)
        .output()
        .expect("run import");
    (
        out.status.code(),
        summary(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Imports the fixture's clusters, clinics and patients: what plans refer to.
fn load_references(url: &str) {
    for kind in ["clusters", "clinics", "patients"] {
        let status = forloeb()
            .args(["import", "--quiet", "--database", url, "--kind", kind])
            .arg(fixture(&format!("feed/{kind}.ndjson")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("import");
        assert!(matches!(status.code(), Some(0 | 2)), "{kind}: {status}");
    }
}

fn new_versions(db: &Db) -> i64 {
    let mut conn = db.get().expect("conn");
    on_backend!(&mut *conn, |c| plan_versions::table
        .filter(plan_versions::is_new.eq(true))
        .count()
        .get_result(c))
    .expect("count")
}

#[test]
fn loaded_and_rejected_counts_equal_the_reference() {
    let db = TestDb::new();
    let rejects = tempfile::NamedTempFile::new().expect("tmp");
    let (code, table, stderr) =
        import_dir(&db, &["--rejects", rejects.path().to_str().expect("path")]);
    assert_eq!(code, Some(2), "some lines are rejected: exit 2; {stderr}");
    let want = expected();
    for (file, loaded) in want["loaded"].as_object().expect("loaded") {
        let row = &table[file.as_str()];
        assert_eq!(row[4], loaded.as_i64().expect("n"), "{file} stored");
        let rejected = want["rejected"][file.as_str()].as_i64().unwrap_or(0);
        assert_eq!(row[3], rejected, "{file} rejected");
        assert_eq!(
            row[0],
            row[1] + row[2] + row[3],
            "{file}: read = loaded + unchanged + rejected"
        );
    }
    assert_eq!(
        new_versions(&open(&db)),
        want["new_total"].as_i64().expect("new_total")
    );

    // Each rejection is reported as file:line: field: reason, and written to the rejects file.
    let total: i64 = want["rejected"]
        .as_object()
        .expect("r")
        .values()
        .filter_map(Value::as_i64)
        .sum();
    let reported: Vec<&str> = stderr.lines().filter(|l| l.contains(".ndjson:")).collect();
    assert_eq!(reported.len() as i64, total, "{stderr}");
    assert!(reported
        .iter()
        .any(|l| l.contains("measurements[0].value: 900 is outside 10–250 mmol/mol")));
    assert!(reported
        .iter()
        .any(|l| l.starts_with("plans.ndjson:") && l.contains("conflict")));
    let written = std::fs::read_to_string(rejects.path()).expect("rejects");
    assert_eq!(written.lines().count() as i64, total);
    for line in written.lines() {
        let r: Value = serde_json::from_str(line).expect("NDJSON");
        for key in ["file", "line", "field", "reason", "text"] {
            assert!(!r[key].is_null(), "{key} in {line}");
        }
    }
}

/// A later line for the same grantor and delegate replaces the earlier one: the fixture's
/// power of attorney is revoked by its last line.
#[test]
fn a_later_delegation_line_replaces_the_earlier() {
    use forloeb_gateway::db::tables::delegations;
    let db = TestDb::new();
    let (code, table, stderr) = import_dir(&db, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(table["delegations"][4], 1);
    assert!(
        stderr.contains("delegations.ndjson:1: delegate: the grantor cannot be their own"),
        "{stderr}"
    );
    let handle = open(&db);
    let mut conn = handle.get().expect("conn");
    let stored: Vec<(String, String, chrono::NaiveDate, Option<chrono::NaiveDate>)> =
        on_backend!(&mut *conn, |c| delegations::table
            .select((
                delegations::grantor,
                delegations::delegate,
                delegations::valid_from,
                delegations::revoked_on,
            ))
            .load(c))
        .expect("delegations");
    assert_eq!(
        stored,
        vec![(
            "1712421073".to_string(),
            "0201384075".to_string(),
            chrono::NaiveDate::from_ymd_opt(2019, 4, 30).expect("day"),
            chrono::NaiveDate::from_ymd_opt(2022, 5, 18),
        )]
    );
}

#[test]
fn a_second_import_changes_nothing() {
    let db = TestDb::new();
    let (first, before, _) = import_dir(&db, &[]);
    assert_eq!(first, Some(2));
    let (second, after, _) = import_dir(&db, &[]);
    assert_eq!(second, Some(2), "the bad lines are still bad");
    for (file, row) in &after {
        assert_eq!(row[1], 0, "{file}: nothing loaded the second time");
        assert_eq!(row[4], before[file][4], "{file}: same rows stored");
    }
    assert_eq!(
        new_versions(&open(&db)),
        expected()["new_total"].as_i64().expect("n")
    );
}

#[test]
fn a_killed_import_rerun_ends_in_the_same_state() {
    let db = TestDb::new();
    load_references(db.url());
    let plans = std::fs::read_to_string(fixture("feed/plans.ndjson")).expect("plans");
    let lines: Vec<&str> = plans.lines().collect();
    let mut child = forloeb()
        .args([
            "import",
            "--quiet",
            "--database",
            db.url(),
            "--kind",
            "plans",
            "--batch-size",
            "7",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    for l in &lines[..lines.len() / 2] {
        writeln!(stdin, "{l}").expect("write");
    }
    stdin.flush().expect("flush");
    let handle = open(&db);
    let count = || -> i64 {
        let mut conn = handle.get().expect("conn");
        on_backend!(&mut *conn, |c| plan_versions::table.count().get_result(c)).expect("count")
    };
    for _ in 0..100 {
        if count() > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    let partial = count();
    assert!(
        partial > 0 && partial < 346,
        "killed part-way: {partial} stored"
    );

    let out = forloeb()
        .args([
            "import",
            "--quiet",
            "--database",
            db.url(),
            "--kind",
            "plans",
        ])
        .arg(fixture("feed/plans.ndjson"))
        .output()
        .expect("rerun");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(count(), expected()["loaded"]["plans"].as_i64().expect("n"));
    assert_eq!(
        new_versions(&handle),
        expected()["new_total"].as_i64().expect("n")
    );
}

const CLUSTER: &str = r#"{"cluster_id": "K1084-01", "name": "Klynge Amager", "region": "1084"}"#;
const CLINIC: &str = r#"{"ydernummer": "041234", "name": "Lægerne Amagerbrogade", "region": "1084", "cluster_id": "K1084-01"}"#;

fn plan_line(plan_id: &str, created_at: &str) -> String {
    format!(
        r#"{{"source": "PLSP", "plan_id": "{plan_id}", "version": 1, "cpr": "0103521234", "ydernummer": "041234", "type": "DM2", "created_at": "{created_at}", "status": "active"}}"#
    )
}

fn load(db: &Db, kind: FeedKind, lines: &[String]) -> forloeb_gateway::ingest::FileSummary {
    let mut conn = db.get().expect("conn");
    let text = lines.join("\n");
    let summary = Importer::new(&mut conn, ImportOptions::default())
        .import_reader(kind, "test", text.as_bytes(), None)
        .expect("import");
    summary
}

fn is_new(db: &Db, plan_id: &str) -> bool {
    let mut conn = db.get().expect("conn");
    on_backend!(&mut *conn, |c| plan_versions::table
        .filter(plan_versions::plan_id.eq(plan_id))
        .select(plan_versions::is_new)
        .first(c))
    .expect("plan")
}

#[test]
fn a_late_older_version_turns_the_new_plan_into_a_maintained_one() {
    let test_db = TestDb::new();
    let db = open(&test_db);
    load(&db, FeedKind::Clusters, &[CLUSTER.to_string()]);
    load(&db, FeedKind::Clinics, &[CLINIC.to_string()]);
    let s = load(
        &db,
        FeedKind::Plans,
        &[plan_line("B", "2022-03-14T10:00:00+01:00")],
    );
    assert_eq!(s.loaded, 1);
    assert!(is_new(&db, "B"));
    // Older, arriving later, in another batch and another offset notation.
    load(
        &db,
        FeedKind::Plans,
        &[plan_line("A", "2021-03-14T09:00:00Z")],
    );
    assert!(is_new(&db, "A"));
    assert!(!is_new(&db, "B"), "B is maintained now");
    // The same instant as A: ties break on source, plan_id, version — A stays first.
    load(
        &db,
        FeedKind::Plans,
        &[plan_line("C", "2021-03-14T10:00:00+01:00")],
    );
    assert!(is_new(&db, "A") && !is_new(&db, "C"));
    // The same content spelt differently is a no-op; other content is a conflict.
    let s = load(
        &db,
        FeedKind::Plans,
        &[plan_line("A", "2021-03-14T10:00:00+01:00").replace("0103521234", "010352-1234")],
    );
    assert_eq!((s.loaded, s.unchanged, s.rejected), (0, 1, 0));
    let s = load(
        &db,
        FeedKind::Plans,
        &[plan_line("A", "2021-03-14T10:00:01+01:00")],
    );
    assert_eq!((s.loaded, s.unchanged, s.rejected), (0, 0, 1));
}

/// Runs `forloeb import ARGS` and expects exit 1 with `message` on stderr.
fn assert_fatal(args: &[&str], message: &str) {
    let out = forloeb()
        .arg("import")
        .args(args)
        .env("FORLOEB_DATABASE_CONNECT_TIMEOUT_SECS", "1")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(message), "{err}");
}

#[test]
fn fatal_errors_exit_1_with_a_message() {
    let db = TestDb::new();
    assert_fatal(&["--database", db.url(), "/no/such/folder"], "not a folder");
    assert_fatal(
        &[
            "--database",
            db.url(),
            "--kind",
            "plans",
            "/no/such/file.ndjson",
        ],
        "cannot read /no/such/file.ndjson",
    );
    assert_fatal(
        &[
            "--database",
            "postgres://127.0.0.1:1/x",
            "--kind",
            "plans",
            "-",
        ],
        "cannot open postgres://127.0.0.1:1/x",
    );
}

#[test]
fn a_database_lost_mid_import_is_exit_1_with_a_clear_message() {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        eprintln!("skipped: needs {POSTGRES_ENV} (runs in CI's PostgreSQL pass)");
        return;
    };
    let db = TestDb::postgres(&base);
    let (relay, url) = Relay::to_database(&base, &db);
    load_references(&url);
    let plans = std::fs::read_to_string(fixture("feed/plans.ndjson")).expect("plans");
    let lines: Vec<&str> = plans.lines().collect();
    let mut child = forloeb()
        .args([
            "import",
            "--quiet",
            "--database",
            &url,
            "--kind",
            "plans",
            "--batch-size",
            "10",
            "-",
        ])
        .env("FORLOEB_DATABASE_CONNECT_TIMEOUT_SECS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    for l in &lines[..50] {
        writeln!(stdin, "{l}").expect("write");
    }
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(500));
    relay.cut();
    for l in &lines[50..] {
        if writeln!(stdin, "{l}").is_err() {
            break;
        }
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rolled back, re-run the import"), "{err}");

    relay.restore();
    let out = forloeb()
        .args(["import", "--quiet", "--database", &url, "--kind", "plans"])
        .arg(fixture("feed/plans.ndjson"))
        .output()
        .expect("rerun");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let handle = open(&db);
    let mut conn = handle.get().expect("conn");
    let stored: i64 =
        on_backend!(&mut *conn, |c| plan_versions::table.count().get_result(c)).expect("count");
    assert_eq!(stored, expected()["loaded"]["plans"].as_i64().expect("n"));
}

/// Peak resident memory (VmHWM) of a running child, read until it exits; in kB.
fn peak_memory_kb(mut child: std::process::Child) -> (std::process::ExitStatus, u64) {
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return (status, peak);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `forloeb import --kind plans FILE --rejects REJECTS` against the test database.
fn import_plans(
    db: &TestDb,
    path: &std::path::Path,
    rejects: &std::path::Path,
) -> std::process::Command {
    let mut cmd = forloeb();
    cmd.args([
        "import",
        "--quiet",
        "--database",
        db.url(),
        "--kind",
        "plans",
    ])
    .arg(path)
    .arg("--rejects")
    .arg(rejects);
    cmd
}

/// The rejects file as (line, "field: reason"); none when there is no file.
fn rejected(rejects: &std::path::Path) -> Vec<(u64, String)> {
    std::fs::read_to_string(rejects)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            (
                v["line"].as_u64().expect("line"),
                format!(
                    "{}: {}",
                    v["field"].as_str().unwrap_or(""),
                    v["reason"].as_str().unwrap_or("")
                ),
            )
        })
        .collect()
}

/// Lines are parsed strictly: a repeated name rejects the line, a line past the maximum is
/// rejected without being read whole (memory stays flat with a 100 MB line), over-long text
/// fields are refused, and a byte-order mark before the first line is skipped.
#[test]
fn lines_are_parsed_strictly_and_memory_stays_bounded() {
    let db = TestDb::new();
    let conn = open(&db);
    let mut clinics = vec![CLINIC.to_string()];
    clinics[0].insert(0, '\u{feff}');
    load(&conn, FeedKind::Clusters, &[CLUSTER.to_string()]);
    let s = load(&conn, FeedKind::Clinics, &clinics);
    assert_eq!((s.loaded, s.rejected), (1, 0), "a BOM is skipped: {s:?}");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("plans.ndjson");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        writeln!(f, "{}", plan_line("GOOD-1", "2022-03-14T10:22:05+01:00")).expect("w");
        // The same plan under a second CPR: refused, not stored under either.
        let twice = plan_line("TWICE-1", "2022-03-14T10:22:05+01:00").replace(
            r#""cpr": "0103521234""#,
            r#""cpr": "0103521234", "cpr": "1204801236""#,
        );
        writeln!(f, "{twice}").expect("w");
        // A goal text of 2,001 characters.
        let long_goal = plan_line("LONG-1", "2022-03-14T10:22:05+01:00").replace(
            r#""status": "active""#,
            &format!(
                r#""status": "active", "goals": [{{"text": "{}", "set_on": "2022-03-14", "achieved": false}}]"#,
                "x".repeat(2_001)
            ),
        );
        writeln!(f, "{long_goal}").expect("w");
        // 100 MB in one line.
        let head = plan_line("HUGE-1", "2022-03-14T10:22:05+01:00").replace(
            r#""status": "active""#,
            r#""status": "active", "goals": [{"text": ""#,
        );
        f.write_all(head.as_bytes()).expect("w");
        let block = vec![b'y'; 1 << 20];
        for _ in 0..100 {
            f.write_all(&block).expect("w");
        }
        writeln!(f, r#"", "set_on": "2022-03-14", "achieved": false}}]}}"#).expect("w");
        writeln!(f, "{}", plan_line("GOOD-2", "2022-03-15T10:22:05+01:00")).expect("w");
    }
    let rejects = dir.path().join("rejects.ndjson");
    let child = import_plans(&db, &path, &rejects)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("import");
    let (status, peak_kb) = peak_memory_kb(child);
    assert_eq!(status.code(), Some(2), "some lines rejected");
    assert!(
        peak_kb > 0 && peak_kb < 150_000,
        "peak {peak_kb} kB with a 100 MB line"
    );
    let reasons = rejected(&rejects);
    assert_eq!(
        reasons,
        vec![
            (2, "line: duplicate key \"cpr\"".to_string()),
            (3, "goals[0].text: longer than 2000 characters".to_string()),
            (4, format!("line: longer than {} bytes", 1 << 20)),
        ]
    );
    let mut c = conn.get().expect("conn");
    let stored: Vec<String> = on_backend!(&mut *c, |c| plan_versions::table
        .select(plan_versions::plan_id)
        .order(plan_versions::plan_id)
        .load(c))
    .expect("plans");
    assert_eq!(stored, vec!["GOOD-1", "GOOD-2"]);
}

/// The maxima are configuration (`[import]`): lowered there, a shorter goal text, plan id or
/// line is refused, naming the field and the configured rule; `--max-line-bytes` wins over
/// the configuration; a zero is a configuration error naming the key.
#[test]
fn field_and_line_maxima_come_from_the_configuration() {
    let db = TestDb::new();
    let conn = open(&db);
    load(&conn, FeedKind::Clusters, &[CLUSTER.to_string()]);
    load(&conn, FeedKind::Clinics, &[CLINIC.to_string()]);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("plans.ndjson");
    let goal = |id: &str, text: &str| {
        plan_line(id, "2022-03-14T10:22:05+01:00").replace(
            r#""status": "active""#,
            &format!(
                r#""status": "active", "goals": [{{"text": "{text}", "set_on": "2022-03-14", "achieved": false}}]"#
            ),
        )
    };
    let lines = [
        goal("OK-1", "Gå en tur"),
        goal("OK-2", "Gå en lang tur"),
        goal("LONGER-ID-3", "Gå"),
        goal("OK-4", &"z".repeat(400)),
    ];
    std::fs::write(&path, lines.join("\n")).expect("write");
    let run = |env: &[(&str, &str)], flag: Option<&str>| -> (Option<i32>, Vec<String>, String) {
        let rejects = dir.path().join("rejects.ndjson");
        let mut cmd = import_plans(&db, &path, &rejects);
        cmd.envs(env.iter().copied());
        if let Some(f) = flag {
            cmd.args(["--max-line-bytes", f]);
        }
        let out = cmd.output().expect("import");
        let reasons = rejected(&rejects)
            .into_iter()
            .map(|(line, why)| format!("{line} {why}"))
            .collect();
        (
            out.status.code(),
            reasons,
            String::from_utf8_lossy(&out.stderr).into(),
        )
    };
    let (code, reasons, _) = run(
        &[
            ("FORLOEB_IMPORT_MAX_TEXT_CHARS", "10"),
            ("FORLOEB_IMPORT_MAX_CODE_CHARS", "8"),
            ("FORLOEB_IMPORT_MAX_LINE_BYTES", "300"),
        ],
        None,
    );
    assert_eq!(code, Some(2), "{reasons:?}");
    assert_eq!(
        reasons,
        vec![
            "2 goals[0].text: longer than 10 characters".to_string(),
            "3 plan_id: longer than 8 characters".to_string(),
            "4 line: longer than 300 bytes".to_string(),
        ]
    );
    // The flag wins over the configuration: the long line is read, its text still too long.
    let (_, reasons, _) = run(
        &[
            ("FORLOEB_IMPORT_MAX_TEXT_CHARS", "10"),
            ("FORLOEB_IMPORT_MAX_LINE_BYTES", "300"),
        ],
        Some("100000"),
    );
    assert_eq!(
        reasons,
        vec![
            "2 goals[0].text: longer than 10 characters".to_string(),
            "4 goals[0].text: longer than 10 characters".to_string(),
        ]
    );
    let (code, _, stderr) = run(&[("FORLOEB_IMPORT_MAX_TEXT_CHARS", "0")], None);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("import.max_text_chars"), "{stderr}");
    // Nothing of the configured refusals was stored; the default maxima take every line.
    let (code, reasons, stderr) = run(&[], None);
    assert_eq!((code, reasons), (Some(0), vec![]), "{stderr}");
}

/// A supplier's misspelt field is not dropped without a word: the summary names it with the
/// number of lines that had it, and the line loads as the domain rules say (here: no opening
/// date). `--strict` rejects such lines instead, naming the field.
#[test]
fn unknown_fields_are_reported_per_file_and_strict_rejects_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("clinics.ndjson"),
        concat!(
            r#"{"ydernummer":"100001","name":"A","region":"1084","opend_on":"2020-01-01"}"#,
            "\n",
            r#"{"ydernummer":"100002","name":"B","region":"1084","opened_on":"2020-01-01"}"#,
            "\n",
        ),
    )
    .expect("write");
    let run = |db: &TestDb, strict: bool| {
        let mut cmd = forloeb();
        cmd.args(["import", "--quiet", "--database", db.url()])
            .arg(dir.path());
        if strict {
            cmd.arg("--strict");
        }
        let out = cmd.output().expect("import");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let db = TestDb::new();
    let (code, stdout, _) = run(&db, false);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("unknown field 'opend_on' on 1 line of clinics.ndjson"),
        "{stdout}"
    );
    assert_eq!(summary(stdout.as_bytes())["clinics"], [2, 2, 0, 0, 2]);
    let opened: Vec<(String, Option<chrono::NaiveDate>)> = {
        use forloeb_gateway::db::tables::clinics;
        let db = open(&db);
        let mut conn = db.get().expect("conn");
        let q = clinics::table
            .select((clinics::ydernummer, clinics::opened_on))
            .order(clinics::ydernummer);
        on_backend!(&mut *conn, |c| q.load(c)).expect("clinics")
    };
    assert_eq!(
        opened,
        [
            ("100001".to_string(), None),
            (
                "100002".to_string(),
                chrono::NaiveDate::from_ymd_opt(2020, 1, 1)
            ),
        ]
    );

    let strict = TestDb::new();
    let (code, stdout, stderr) = run(&strict, true);
    assert_eq!(code, Some(2), "some lines rejected: {stdout}{stderr}");
    assert!(
        stderr.contains("clinics.ndjson:1: opend_on: not a field of this feed"),
        "{stderr}"
    );
    assert_eq!(summary(stdout.as_bytes())["clinics"], [2, 1, 0, 1, 1]);
}

/// `--metrics-file`: the import's figures per feed in Prometheus' text format, for a node
/// exporter's textfile collector, written whole (no partial file left beside it).
#[test]
fn an_import_writes_its_figures_for_a_textfile_collector() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("forloeb_import.prom");
    let (code, table, _) = import_dir(&db, &["--metrics-file", file.to_str().expect("utf-8 path")]);
    assert_eq!(code, Some(2), "the fixture has rejected lines");
    let text = std::fs::read_to_string(&file).expect("metrics file");
    let value = |series: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    for (feed, row) in &table {
        if feed == "unknown" {
            continue;
        }
        for (result, i) in [
            ("read", 0),
            ("loaded", 1),
            ("unchanged", 2),
            ("rejected", 3),
        ] {
            let series = format!("forloeb_import_lines{{feed=\"{feed}\",result=\"{result}\"}} ");
            assert_eq!(value(&series), row[i], "{series}");
        }
    }
    assert!(value("forloeb_import_last_finished_timestamp_seconds ") > 1_700_000_000);
    assert!(
        text.contains("# TYPE forloeb_import_duration_seconds gauge"),
        "{text}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}
