//! The named operations clients use (schema/operations/), the ad-hoc query against the fixed
//! metrics, and the statement count of a list page.

use crate::helpers::{self, clinician, ministry, patient, region, spawn_app, TestApp};
use serde_json::{json, Value};
use std::path::PathBuf;

fn operations() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/operations");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("schema/operations")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "graphql"))
        .map(|p| {
            let name = p.file_stem().expect("stem").to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).expect("read"))
        })
        .collect();
    out.sort();
    out
}

fn header<'a>(doc: &'a str, key: &str) -> &'a str {
    doc.lines()
        .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
        .unwrap_or_else(|| panic!("operation without '# {key}:' header"))
}

/// The header's variables (which name the default demo's people and places) moved to the
/// test feed's (tests/fixtures/feed). A write's `id` is the entry's UUID, kept; its plan is an
/// active plan of the test feed's writer (`WRITER`).
fn on_test_feed(doc: &str, mut vars: Value) -> Value {
    let common = [
        ("ydernummer", "586964"),
        ("cpr", "2709400129"),
        ("region", "1083"),
    ];
    let reads = [("id", "K1083-01")];
    let writes = [
        ("plan", "KIAP:KIAP-2d418bfbb0"),
        ("goalText", "Stoppe med at ryge"),
        ("goalSetOn", "2022-01-19"),
    ];
    let moved: Vec<(&str, &str)> = if is_mutation(doc) {
        common.iter().chain(&writes).copied().collect()
    } else {
        common.iter().chain(&reads).copied().collect()
    };
    for (key, value) in moved {
        if let Some(v) = vars.get_mut(key) {
            *v = json!(value);
        }
    }
    recent(vars)
}

/// A home measurement's day must lie within the last year: the header's date moved to today.
fn recent(mut vars: Value) -> Value {
    if let Some(v) = vars.get_mut("measuredOn") {
        *v = json!(forloeb_gateway::domain::Timestamp::now()
            .local_date()
            .to_string());
    }
    vars
}

fn is_mutation(doc: &str) -> bool {
    doc.lines().any(|l| l.starts_with("mutation "))
}

/// The test feed's patient with an active plan (KIAP-2d418bfbb0), who makes the writes.
const WRITER: &str = "0705353111";

fn token_for(role: &str, doc: &str) -> String {
    match role {
        "patient" if is_mutation(doc) => patient(WRITER),
        "patient" => patient("2709400129"),
        "clinician" => clinician("586964"),
        "region" => region("1083"),
        "ministry" => ministry(),
        "supplier" => helpers::token(forloeb_gateway::auth::Actor::Supplier(
            forloeb_gateway::domain::Source::Kiap,
        )),
        other => panic!("unknown role {other}"),
    }
}

fn loaded() -> TestApp {
    let app = spawn_app();
    app.import(&helpers::fixture("feed"));
    app
}

#[test]
fn every_named_operation_runs_with_its_role_and_only_its_named_parts() {
    let app = loaded();
    let ops = operations();
    assert!(ops.len() >= 10, "{ops:?}");
    for (name, doc) in &ops {
        assert!(
            doc.contains(&format!("query {name}")) || doc.contains(&format!("mutation {name}")),
            "{name}: file name and operation differ"
        );
        let role = header(doc, "role");
        let vars: Value = serde_json::from_str(header(doc, "variables")).expect("variables json");
        let vars = on_test_feed(doc, vars);
        let r = app
            .graphql_as(&token_for(role, doc), doc, vars.clone())
            .json();
        assert!(r["errors"].is_null(), "{name} as {role}: {r}");
        assert!(
            r["data"]
                .as_object()
                .is_some_and(|d| d.values().all(|v| !v.is_null())),
            "{name}: {r}"
        );
        // And a supplier gets none of the others' (nor a region of the supplier's).
        let other = if role == "supplier" {
            "region"
        } else {
            "supplier"
        };
        let r = app.graphql_as(&token_for(other, doc), doc, vars).json();
        assert!(
            r["errors"]
                .as_array()
                .is_some_and(|e| e.iter().all(|e| e["extensions"]["code"] == "FORBIDDEN")),
            "{name} as {other}: {r}"
        );
    }
}

/// What a newcomer does: start the default demo, take its token for the role an example names,
/// and run the example with the variables in its header. Every one answers, without an error
/// and without a null root; the tokens come from the demo's `demo-tokens.json`, with the
/// shipped rules for documents (the patient's by its trusted text).
#[test]
fn every_named_operation_answers_the_default_demo_with_its_header_and_the_demo_token() {
    let app = helpers::spawn_app_with(helpers::shipped_defaults);
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens_file = dir.path().join("demo-tokens.json");
    // The default demo: no --clinics, so the headers' clinic and region are in it.
    let stdout = helpers::load_demo(&app, &[], &tokens_file);
    let tokens: Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens_file).expect("tokens file"))
            .expect("json");
    let cast = &tokens["cast"];
    for role in ["patient", "clinician", "region", "ministry", "supplier"] {
        let t = tokens["tokens"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["role"] == role))
            .unwrap_or_else(|| panic!("no {role} token in {tokens}"));
        // Printed with whose it is; the patient by birth year, never by CPR number.
        let who = t["who"].as_str().expect("who");
        assert!(stdout.contains(who), "{role}: {who} not in {stdout}");
    }
    assert!(
        stdout.contains(cast["clinic"]["name"].as_str().expect("clinic name")),
        "{stdout}"
    );
    let token = |role: &str| -> String {
        tokens["tokens"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["role"] == role))
            .and_then(|t| t["token"].as_str())
            .expect("token")
            .to_string()
    };
    for (name, doc) in operations() {
        let role = header(&doc, "role");
        let vars: Value = serde_json::from_str(header(&doc, "variables")).expect("variables json");
        let vars = recent(vars);
        let r = app.graphql_as(&token(role), &doc, vars.clone()).json();
        assert!(r["errors"].is_null(), "{name} as {role} with {vars}: {r}");
        let data = r["data"].as_object().expect("data");
        assert!(
            !data.is_empty() && data.values().all(|v| !v.is_null()),
            "{name} as {role} with {vars}: {r}"
        );
    }
    // The headers name the demo's cast: the clinician's clinic, its cluster and region.
    let ops = operations();
    let doc = |n: &str| {
        ops.iter()
            .find(|(name, _)| name == n)
            .map(|(_, d)| d.as_str())
    };
    let vars = |n: &str| -> Value {
        serde_json::from_str(header(doc(n).expect(n), "variables")).expect("json")
    };
    assert_eq!(
        vars("ClinicPatients")["ydernummer"],
        cast["clinic"]["ydernummer"]
    );
    assert_eq!(vars("ClusterView")["id"], cast["cluster"]);
    assert_eq!(vars("RegionalDashboard")["region"], cast["region"]["code"]);
}

#[test]
fn ad_hoc_activity_agrees_with_the_fixed_metrics() {
    let app = loaded();
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(helpers::fixture("feed/expected.json")).expect("expected"),
    )
    .expect("json");
    let q = "query($from: Date!, $to: Date!, $by: [Dimension!]!) { planActivity(from: $from, to: $to, groupBy: $by, limit: 1000) \
             { truncated rows { region { code } week plans newPlans maintainedPlans } total { plans newPlans } } }";
    // Year to date per region = plans made in 2022 grouped by region.
    let r = app
        .graphql_as(
            &ministry(),
            q,
            json!({"from": "2022-01-01", "to": "2022-12-31", "by": ["REGION"]}),
        )
        .json();
    let a = &r["data"]["planActivity"];
    assert_eq!(
        a["total"]["plans"], want["year_to_date"]["2022-12-31"]["national"],
        "{r}"
    );
    for row in a["rows"].as_array().expect("rows") {
        let code = row["region"]["code"].as_str().expect("code");
        assert_eq!(
            row["plans"], want["year_to_date"]["2022-12-31"]["region"][code],
            "{code}"
        );
    }
    // ISO weeks of 2022 = the weekly series.
    let r = app
        .graphql_as(
            &ministry(),
            q,
            json!({"from": "2022-01-03", "to": "2023-01-01", "by": ["WEEK"]}),
        )
        .json();
    let rows = r["data"]["planActivity"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let weekly = want["weekly"]["2022"]["national"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rows.len(), weekly.len(), "{r}");
    for row in rows {
        let w = &weekly[row["week"].as_str().expect("week")];
        assert_eq!(
            json!([row["newPlans"], row["maintainedPlans"]]),
            *w,
            "{row}"
        );
    }
    // A region user is confined to their region, and may not ask for another.
    let r = app
        .graphql_as(
            &region("1084"),
            q,
            json!({"from": "2022-01-01", "to": "2022-12-31", "by": ["REGION"]}),
        )
        .json();
    let rows = r["data"]["planActivity"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        rows.iter().all(|x| x["region"]["code"] == "1084") && rows.len() == 1,
        "{r}"
    );
    let q2 = "{ planActivity(from: \"2022-01-01\", to: \"2022-12-31\", groupBy: [CLINIC], filter: { regions: [\"1083\"] }) { total { plans } } }";
    let r = app.graphql_as(&region("1084"), q2, json!({})).json();
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    // Bounded cost and arguments named in errors.
    for (vars, arg) in [
        (
            json!({"from": "2015-01-01", "to": "2022-12-31", "by": ["REGION"]}),
            "to:",
        ),
        (
            json!({"from": "2022-02-30", "to": "2022-12-31", "by": ["REGION"]}),
            "from:",
        ),
        (
            json!({"from": "2022-01-01", "to": "2022-12-31", "by": []}),
            "groupBy:",
        ),
        (
            json!({"from": "2022-01-01", "to": "2022-12-31", "by": ["WEEK", "WEEK"]}),
            "groupBy:",
        ),
    ] {
        let r = app.graphql_as(&ministry(), q, vars).json();
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{r}"
        );
        assert!(
            r["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(arg)),
            "{r}"
        );
    }
    // Clinicians and patients do not ask ad-hoc questions.
    let r = app.graphql_as(&clinician("586964"), q2, json!({})).json();
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
}

/// No N+1: a page of 50 patients with their plans costs the same number of SQL statements as
/// a page of 5. Counted by the real binary's /metrics, in a process of its own.
#[test]
fn a_page_of_fifty_costs_the_statements_of_a_page_of_five() {
    let db = crate::helpers::TestDb::new();
    let out = helpers::forloeb()
        .args(["import", "--quiet", "--database", db.url()])
        .arg(helpers::fixture("feed"))
        .output()
        .expect("import");
    assert!(out.status.code() == Some(2) || out.status.success());
    let mut served = crate::cli::serve(db.url());
    let base = format!("http://{}", served.addr);
    let statements = || -> u64 {
        let text = ureq::get(&format!("{base}/metrics"))
            .call()
            .expect("metrics")
            .into_string()
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix("forloeb_db_statements_total "))
            .and_then(|n| n.trim().parse().ok())
            .expect("counter")
    };
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/operations/ClinicPatients.graphql"),
    )
    .expect("operation");
    let cost = |first: u32| {
        let before = statements();
        let body: Value = ureq::post(&format!("{base}/graphql"))
            .set("authorization", &format!("Bearer {}", clinician("831497")))
            .send_json(json!({"query": doc, "variables": {"ydernummer": "831497", "first": first}}))
            .expect("query")
            .into_json()
            .expect("json");
        let edges = body["data"]["clinic"]["patients"]["edges"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(edges.len(), first as usize, "{body}");
        let plans: usize = edges
            .iter()
            .map(|e| e["node"]["plans"].as_array().map_or(0, Vec::len))
            .sum();
        (statements() - before, plans)
    };
    // The first request builds the rollout aggregates; count from the second.
    cost(5);
    let (small, _) = cost(5);
    let (large, plans) = cost(50);
    assert!(plans >= 20, "the page should carry plans: {plans}");
    assert_eq!(
        small, large,
        "statements grew with the page: 5 → {small}, 50 → {large}"
    );
    let _ = served.child.kill();
    let _ = served.child.wait();
}
