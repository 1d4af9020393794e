//! Rollout figures through GraphQL and `forloeb report` against reference.py's numbers for
//! the fixture feed (tests/fixtures/feed/expected.json, report-2022-05-18.json).

use crate::helpers::{self, clinician, forloeb, ministry, region, spawn_app};
use serde_json::{json, Value};

fn expected() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(helpers::fixture("feed/expected.json")).expect("expected.json"),
    )
    .expect("json")
}

const ROLLOUT: &str = "query R($d: String!, $r: String) { rollout(asOf: $d, region: $r) { \
    openClinics ok22 { met distribution { bucket clinics } } inactiveClinics { count clinics { ydernummer } } \
    heartPlanClinics { clinics } appUsers { withPlan { value } active { value } window { to widened } } \
    yearToDate { plans } } }";

#[test]
fn rollout_matches_the_reference_for_the_nation_and_each_region() {
    let app = spawn_app();
    app.import(&helpers::fixture("feed"));
    let want = expected();
    for d in ["2022-05-18", "2022-12-31"] {
        for r in [None, Some("1081"), Some("1083"), Some("1084")] {
            let token = match r {
                Some(code) => region(code),
                None => ministry(),
            };
            let got = app
                .graphql_as(&token, ROLLOUT, json!({"d": d, "r": r}))
                .json();
            let got = &got["data"]["rollout"];
            let w = match r {
                Some(code) => &want[d]["region"][code],
                None => &want[d]["national"],
            };
            assert_eq!(got["openClinics"], w["open_clinics"], "{d} {r:?}");
            assert_eq!(got["ok22"]["met"], w["ok22_met"], "{d} {r:?}");
            assert_eq!(got["inactiveClinics"]["count"], w["inactive"], "{d} {r:?}");
            assert_eq!(got["heartPlanClinics"]["clinics"], w["heart"], "{d} {r:?}");
            for b in got["ok22"]["distribution"].as_array().expect("buckets") {
                let name = b["bucket"].as_str().expect("bucket");
                assert_eq!(b["clinics"], w["buckets"][name], "{d} {r:?} bucket {name}");
            }
            let ytd = match r {
                Some(code) => &want["year_to_date"][d]["region"][code],
                None => &want["year_to_date"][d]["national"],
            };
            assert_eq!(&got["yearToDate"]["plans"], ytd, "{d} {r:?}");
            // App users are person counts: controlled (within ±2 of the truth, or suppressed),
            // over whole months: 2022-05-18 is counted to the end of May.
            if r.is_none() && d == "2022-12-31" {
                let app_users = &want[d]["app_users"];
                for (field, key) in [("withPlan", "with_plan"), ("active", "active")] {
                    let (shown, truth) = (
                        got["appUsers"][field]["value"].as_i64(),
                        app_users[key].as_i64().expect("reference"),
                    );
                    assert!(
                        shown.is_none_or(|v| (v - truth).abs() <= 2),
                        "{field}: {shown:?} against {truth}"
                    );
                }
            }
        }
    }
    // The weekly series of 2022 to the year's end, national, against the reference.
    let q = "{ rollout(asOf: \"2022-12-31\") { weekly { week newPlans maintainedPlans } } }";
    let got = app.graphql_as(&clinician("586964"), q, json!({})).json();
    let weeks = got["data"]["rollout"]["weekly"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let want_weeks = want["weekly"]["2022"]["national"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(weeks.len(), want_weeks.len(), "{got}");
    for w in weeks {
        let pair = &want_weeks[w["week"].as_str().expect("week")];
        assert_eq!(json!([w["newPlans"], w["maintainedPlans"]]), *pair, "{w}");
    }
}

/// Each clinic's own clinicians see its row exactly as the reference counts it; the other
/// clinics of the cluster, and the ministry, see controlled counts: within ±2, or suppressed.
#[test]
fn the_cluster_view_lists_each_clinic_with_the_reference_figures() {
    let app = spawn_app();
    app.import(&helpers::fixture("feed"));
    let want = expected();
    let q = "{ cluster(id: \"K1084-01\") { view(asOf: \"2022-12-31\") { clinics { clinic { ydernummer } \
             newPlans12m ok22Met inactive coverage { type diagnosed { value controlled } \
             withPlan { value controlled } withoutPlan { value controlled } } } } } }";
    let members = want["2022-12-31"]["cluster_members"]["K1084-01"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut exact_rows = 0;
    let mut viewers = vec![("ministry".to_string(), ministry())];
    for m in &members {
        let y = m.as_str().expect("member");
        viewers.push((y.to_string(), clinician(y)));
    }
    for (who, token) in viewers {
        let got = app.graphql_as(&token, q, json!({})).json();
        let rows = got["data"]["cluster"]["view"]["clinics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(rows.len(), members.len(), "{got}");
        for row in rows {
            let y = row["clinic"]["ydernummer"].as_str().expect("y");
            let c = &want["2022-12-31"]["clinic"][y];
            assert_eq!(row["newPlans12m"], c["new_12m"], "{y}");
            assert_eq!(row["ok22Met"], c["ok22_met"], "{y}");
            assert_eq!(row["inactive"], c["inactive"], "{y}");
            let own = who == y;
            exact_rows += usize::from(own);
            for cov in row["coverage"].as_array().expect("coverage") {
                let t = cov["type"].as_str().expect("type");
                let [planned, diagnosed] =
                    [0, 1].map(|i| want["2022-12-31"]["coverage"][y][t][i].as_i64());
                let without = diagnosed.zip(planned).map(|(d, p)| d - p);
                for (field, reference) in [
                    ("withPlan", planned),
                    ("diagnosed", diagnosed),
                    ("withoutPlan", without),
                ] {
                    let value = cov[field]["value"].as_i64();
                    assert_eq!(cov[field]["controlled"], json!(!own), "{who} {y} {t}");
                    if own {
                        assert_eq!(value, reference, "{y} {t} {field}, own clinic: exact");
                    } else if let (Some(v), Some(r)) = (value, reference) {
                        assert!((v - r).abs() <= 2, "{who} sees {y} {t} {field}: {v} vs {r}");
                    }
                }
            }
        }
    }
    assert_eq!(exact_rows, members.len(), "every clinic seen by its own");
}

#[test]
fn report_json_equals_the_reference() {
    let db = crate::helpers::TestDb::new();
    let out = forloeb()
        .args(["import", "--quiet", "--database", db.url()])
        .arg(helpers::fixture("feed"))
        .output()
        .expect("import");
    assert!(out.status.code() == Some(2) || out.status.success());
    let out = forloeb()
        .args([
            "report",
            "--as-of",
            "2022-05-18",
            "--format",
            "json",
            "--database",
            db.url(),
        ])
        .output()
        .expect("report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).expect("report json");
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(helpers::fixture("feed/report-2022-05-18.json")).expect("fixture"),
    )
    .expect("json");
    assert_eq!(got, want);
    let text = forloeb()
        .args(["report", "--as-of", "2022-05-18", "--database", db.url()])
        .output()
        .expect("report text");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Danmark") && text.contains("Region Hovedstaden"),
        "{text}"
    );
    // For people: the milestones with their standing, the targets, the pace still needed.
    for words in [
        "Milepæle (milestones)",
        "forsinket (late)",
        "mål (target) 70 % pr. 2022-06-30",
        "pr. uge i de 33 uger",
    ] {
        assert!(text.contains(words), "{words}: {text}");
    }

    // The HTML report: one self-contained page (nothing fetched, no script), its charts, and
    // the same figures as the JSON.
    let html = forloeb()
        .args([
            "report",
            "--as-of",
            "2022-05-18",
            "--format",
            "html",
            "--database",
            db.url(),
        ])
        .output()
        .expect("report html");
    assert!(html.status.success());
    let html = String::from_utf8_lossy(&html.stdout);
    for refused in ["<script", "<link", " src=", "url(", "https://", "@import"] {
        assert!(!html.contains(refused), "{refused} in the page");
    }
    assert_eq!(
        html.matches("http://").count(),
        html.matches("http://www.w3.org/2000/svg").count(),
        "no address but SVG's namespace"
    );
    assert!(html.matches("<svg").count() >= 5, "the charts");
    assert!(html.matches("<figcaption>").count() >= 3);
    assert!(html.contains("forsinket (late)"));
    let national = &want["national"];
    for figure in [
        format!(">{}<", national["ok22_met"]),
        format!(">{}<", national["heart"]),
        format!(">{}<", want["year_to_date"]["national"]),
    ] {
        assert!(html.contains(&figure), "{figure} not in the page");
    }
    // A region's report names its clinics to call; JSON with --region is refused.
    let region = forloeb()
        .args([
            "report",
            "--as-of",
            "2022-05-18",
            "--format",
            "html",
            "--region",
            "1084",
        ])
        .args(["--database", db.url()])
        .output()
        .expect("region report");
    let region = String::from_utf8_lossy(&region.stdout);
    assert!(region.contains("Region Hovedstaden") && region.contains("id=\"clinics-to-call\""));
    let refused = forloeb()
        .args([
            "report",
            "--as-of",
            "2022-05-18",
            "--format",
            "json",
            "--region",
            "1084",
        ])
        .args(["--database", db.url()])
        .output()
        .expect("json region");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--region"));
}

/// Late-arriving data shows in the next answer, and so does a patient's own read in the app.
#[test]
fn figures_follow_late_data_and_live_use() {
    let app = spawn_app();
    app.import(&helpers::fixture("feed"));
    let q = "{ clinic(ydernummer: \"586964\") { activity(asOf: \"2022-05-18\") { newPlans12m plansMade12m } } }";
    let before = app.graphql_as(&ministry(), q, json!({})).json();
    let before = &before["data"]["clinic"]["activity"];
    // A new plan for a person nobody had planned for, made by 586964 on 1 May 2022.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("plans.ndjson"),
        r#"{"source": "KIAP", "plan_id": "LATE-1", "version": 1, "cpr": "0101010101", "ydernummer": "586964", "type": "KOL", "created_at": "2022-05-01T10:00:00+02:00", "status": "active"}"#,
    )
    .expect("write");
    app.import(dir.path());
    let after = app.graphql_as(&ministry(), q, json!({})).json();
    let after = &after["data"]["clinic"]["activity"];
    assert_eq!(
        after["newPlans12m"].as_i64(),
        before["newPlans12m"].as_i64().map(|n| n + 1)
    );
    assert_eq!(
        after["plansMade12m"].as_i64(),
        before["plansMade12m"].as_i64().map(|n| n + 1)
    );

    let today = forloeb_gateway::domain::Timestamp::now()
        .local_date()
        .to_string();
    let users = format!("{{ rollout(asOf: \"{today}\") {{ appUsers {{ active {{ value }} }} }} }}");
    let active = |app: &crate::helpers::TestApp| {
        app.graphql_as(&ministry(), &users, json!({})).json()["data"]["rollout"]["appUsers"]
            ["active"]["value"]
            .as_i64()
    };
    // The operator's report counts exactly; the API's count is controlled.
    let exact = |app: &crate::helpers::TestApp| {
        let out = forloeb()
            .args([
                "report",
                "--format",
                "json",
                "--as-of",
                &today,
                "--database",
            ])
            .arg(app.db.url())
            .output()
            .expect("report");
        let report: Value = serde_json::from_slice(&out.stdout).expect("report json");
        report["app_users"]["active"].as_i64().expect("active")
    };
    let was = exact(&app);
    // Five patients with plans read them in the app today (five: fewer would be suppressed).
    let text = std::fs::read_to_string(helpers::fixture("feed/plans.ndjson")).expect("plans");
    let mut readers: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["cpr"].as_str().map(String::from))
        .filter(|c| forloeb_gateway::domain::Cpr::parse(c).is_ok())
        .collect();
    readers.sort();
    readers.dedup();
    for cpr in readers.iter().take(5) {
        let r = app.graphql_as(
            &crate::helpers::patient(cpr),
            "{ me { plans { id } } }",
            json!({}),
        );
        assert!(
            r.json()["data"]["me"]["plans"]
                .as_array()
                .is_some_and(|p| !p.is_empty()),
            "{}",
            r.body
        );
    }
    assert_eq!(
        exact(&app),
        was + 5,
        "the patients' own reads count as live use"
    );
    // The gateway's own snapshot took the reads at once: its controlled count is within ±2
    // of the new exact count, or suppressed when that lands from 1 to 4.
    let shown = active(&app);
    assert!(
        shown.is_none_or(|v| (v - (was + 5)).abs() <= 2),
        "{shown:?} against {}",
        was + 5
    );
}
