//! The clinical quality indicators (DOMAIN.md "Quality indicators") against the reference
//! implementation's figures (tests/fixtures/feed/indicators.json): the RKKP export, exact;
//! the GraphQL answers, exact for the clinic's own clinicians and controlled for everyone
//! else; late data reflected at once.

use crate::helpers::{clinician, fixture, forloeb, ministry, region, spawn_app, TestApp};
use serde_json::{json, Value};

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("feed/indicators.json")).expect("indicators.json");
    serde_json::from_str(&text).expect("json")
}

fn loaded() -> TestApp {
    let app = spawn_app();
    app.import(&fixture("feed"));
    app
}

fn export(app: &TestApp, args: &[&str]) -> String {
    let out = forloeb()
        .args(["export", "rkkp", "--database", app.db.url()])
        .args(args)
        .output()
        .expect("export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Every clinic's [numerator, denominator] of every indicator on six dates: before the first
/// plan, 29 February, inside a plan's spread of measurement days, the status date, the end of
/// its month and the year's end.
#[test]
fn the_rkkp_export_equals_the_reference_on_every_date() {
    let app = loaded();
    let want = expected();
    let dates = want.as_object().expect("dates");
    assert!(dates.len() >= 6);
    for (d, figures) in dates {
        let got: Value =
            serde_json::from_str(&export(&app, &["--as-of", d, "--format", "json"])).expect("json");
        assert_eq!(got["as_of"], figures["as_of"], "{d}");
        assert_eq!(got["clinic"], figures["clinic"], "{d}");
    }
    // CSV: a row per clinic and indicator; one region's clinics alone.
    let d = "2022-05-18";
    let csv = export(&app, &["--as-of", d, "--region", "1083"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("ydernummer,indicator,numerator,denominator")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty());
    let clinics = fixture_clinics_of_region("1083");
    assert_eq!(rows.len(), clinics.len() * 10, "{csv}");
    for r in rows {
        let cell = &want[d]["clinic"][r[0]][r[1]];
        assert_eq!(
            json!([r[2].parse::<i64>().ok(), r[3].parse::<i64>().ok()]),
            *cell,
            "{r:?}"
        );
    }
}

fn fixture_clinics_of_region(code: &str) -> Vec<String> {
    std::fs::read_to_string(fixture("feed/clinics.ndjson"))
        .expect("clinics")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|c| c["region"] == code && c["ydernummer"].as_str().is_some_and(|y| y.len() == 6))
        .filter_map(|c| c["ydernummer"].as_str().map(str::to_string))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

const QUALITY: &str = "quality(asOf: $d) { indicator type numerator { value suppressed controlled } \
                       denominator { value suppressed controlled } rate { value suppressed } window { to widened } }";

/// Clinic 586964's indicators as of 2022-05-18, as `token` sees them.
fn clinic_quality(app: &TestApp, token: &str) -> Value {
    let q = format!("query($y: String!, $d: Date) {{ clinic(ydernummer: $y) {{ {QUALITY} }} }}");
    app.graphql_as(token, &q, json!({"y": "586964", "d": "2022-05-18"}))
        .json()
}

/// `[{indicator, numerator, denominator…}]` → {indicator: [numerator, denominator]}, the values
/// as shown (null when suppressed).
fn by_indicator(list: &Value) -> serde_json::Map<String, Value> {
    list.as_array()
        .expect("indicators")
        .iter()
        .map(|i| {
            (
                i["indicator"].as_str().expect("name").to_string(),
                json!([i["numerator"]["value"], i["denominator"]["value"]]),
            )
        })
        .collect()
}

/// Controlled: marked so, no value from 1 to 4, each within 2 of the exact count (the
/// perturbation's range) as of the end of the month.
fn assert_controlled(list: &Value, exact: &Value, what: &str) {
    for i in list.as_array().expect("indicators") {
        let name = i["indicator"].as_str().expect("name");
        assert_eq!(i["window"]["to"], "2022-05-31", "{what} {name}: {i}");
        for (part, k) in [("numerator", 0), ("denominator", 1)] {
            let c = &i[part];
            assert_eq!(c["controlled"], true, "{what} {name} {part}: {i}");
            let truth = exact[name][k].as_i64().expect("exact");
            match c["value"].as_i64() {
                Some(v) => {
                    assert!(!(1..=4).contains(&v), "{what} {name} {part}: {v}");
                    assert!(
                        (v - truth).abs() <= 2,
                        "{what} {name} {part}: {v} vs {truth}"
                    );
                    assert_eq!(c["suppressed"], Value::Null, "{what} {name}");
                }
                None => assert!(
                    c["suppressed"].is_string() && truth <= 6,
                    "{what} {name} {part}: {c} (exact {truth})"
                ),
            }
        }
    }
}

#[test]
fn clinicians_get_their_own_clinic_exactly_and_everyone_else_controlled_figures() {
    let app = loaded();
    let want = expected();
    // The clinic's own clinician: exact, as of the date asked for.
    let r = clinic_quality(&app, &clinician("586964"));
    assert!(r["errors"].is_null(), "{r}");
    let own = &r["data"]["clinic"]["quality"];
    assert_eq!(
        Value::Object(by_indicator(own)),
        want["2022-05-18"]["clinic"]["586964"],
        "{r}"
    );
    assert!(own
        .as_array()
        .expect("list")
        .iter()
        .all(|i| i["numerator"]["controlled"] == false && i["window"]["to"] == "2022-05-18"));
    // A peer of the cluster, a region user and the ministry: controlled, to the month's end.
    let exact = &want["2022-05-31"]["clinic"]["586964"];
    for (token, who) in [
        (clinician("671395"), "cluster peer"),
        (region("1083"), "region"),
        (ministry(), "ministry"),
    ] {
        let r = clinic_quality(&app, &token);
        assert!(r["errors"].is_null(), "{who}: {r}");
        assert_controlled(&r["data"]["clinic"]["quality"], exact, who);
    }
    // Outside the cluster or the region: refused.
    for token in [clinician("405289"), region("1084")] {
        let r = clinic_quality(&app, &token);
        assert!(
            r["data"]["clinic"].is_null() || r["data"]["clinic"]["quality"].is_null(),
            "{r}"
        );
        assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    }
}

#[test]
fn cluster_views_and_rollout_totals_carry_the_indicators() {
    let app = loaded();
    let want = expected();
    let view = format!(
        "query($d: Date) {{ cluster(id: \"K1083-01\") {{ view(asOf: $d) {{ clinics {{ clinic {{ ydernummer }} {QUALITY} }} }} }} }}"
    )
    .replace("quality(asOf: $d)", "quality");
    let r = app
        .graphql_as(&clinician("586964"), &view, json!({"d": "2022-05-18"}))
        .json();
    assert!(r["errors"].is_null(), "{r}");
    for row in r["data"]["cluster"]["view"]["clinics"]
        .as_array()
        .expect("rows")
    {
        let y = row["clinic"]["ydernummer"].as_str().expect("y");
        if y == "586964" {
            assert_eq!(
                Value::Object(by_indicator(&row["quality"])),
                want["2022-05-18"]["clinic"][y]
            );
        } else {
            assert_controlled(&row["quality"], &want["2022-05-31"]["clinic"][y], y);
        }
    }
    let totals = "query($d: Date!, $r: String) { rollout(asOf: $d, region: $r) { quality { indicator \
                  numerator { value suppressed controlled } denominator { value suppressed controlled } window { to } } } }";
    for (token, r, exact) in [
        (ministry(), Value::Null, &want["2022-05-31"]["national"]),
        (
            region("1083"),
            json!("1083"),
            &want["2022-05-31"]["region"]["1083"],
        ),
    ] {
        let a = app
            .graphql_as(&token, totals, json!({"d": "2022-05-18", "r": r}))
            .json();
        assert!(a["errors"].is_null(), "{a}");
        assert_controlled(&a["data"]["rollout"]["quality"], exact, "totals");
    }
}

/// A late line changes the figures at once: a newly listed patient with a plan whose version
/// carries an HbA1c of 50 counts in the DM2 denominators and the HbA1c numerators; one whose
/// only version was made after the date counts in the denominators alone.
#[test]
fn late_data_changes_the_indicators_at_once() {
    let app = loaded();
    let want = expected();
    let ask = || {
        let r = clinic_quality(&app, &clinician("586964"));
        by_indicator(&r["data"]["clinic"]["quality"])
    };
    assert_eq!(Value::Object(ask()), want["2022-05-18"]["clinic"]["586964"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let patient = |cpr: &str| {
        json!({"cpr": cpr, "ydernummer": "586964", "listed": true,
               "diagnoses": [{"type": "DM2", "since": "2015-01-01"}]})
    };
    let plan = |cpr: &str, id: &str, created: &str| {
        json!({"source": "PLSP", "plan_id": id, "version": 1, "cpr": cpr, "ydernummer": "586964",
               "type": "DM2", "created_at": created, "status": "active", "goals": [],
               "measurements": [{"code": "HBA1C", "value": 50, "measured_on": "2022-05-01"}]})
    };
    std::fs::write(
        dir.path().join("patients.ndjson"),
        format!("{}\n{}\n", patient("0101500001"), patient("0101500002")),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("plans.ndjson"),
        format!(
            "{}\n{}\n",
            plan("0101500001", "PLSP-LATE-1", "2022-05-10T10:00:00+02:00"),
            plan("0101500002", "PLSP-LATE-2", "2022-06-10T10:00:00+02:00")
        ),
    )
    .expect("write");
    app.import(dir.path());
    let after = ask();
    let before = want["2022-05-18"]["clinic"]["586964"]
        .as_object()
        .expect("before");
    let get = |m: &serde_json::Map<String, Value>, k: &str, i: usize| m[k][i].as_i64().expect("n");
    for (k, dn, dd) in [
        ("DM2_HBA1C", 1, 2),
        ("DM2_HBA1C_TARGET", 1, 1),
        ("DM2_BP", 0, 2),
        ("DM2_LDL", 0, 2),
        ("KOL_FEV1", 0, 0),
    ] {
        assert_eq!(get(&after, k, 0), get(before, k, 0) + dn, "{k} numerator");
        assert_eq!(get(&after, k, 1), get(before, k, 1) + dd, "{k} denominator");
    }
}
