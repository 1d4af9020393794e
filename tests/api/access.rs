//! Who may see what, through HTTP with real tokens on the fixture feed: the role matrix,
//! cross-tenant probes, disclosure control and the audit trail.

use crate::helpers::{self, clinician, ministry, patient, region, spawn_app, TestApp};
use forloeb_gateway::auth::Actor;
use forloeb_gateway::domain::Source;
use serde_json::{json, Value};

/// Listed at 586964 (region 1083, cluster K1083-01 with 671395).
const OWN_PATIENT: &str = "2709400129";
const CLINIC: &str = "586964";
const CLUSTER_PEER: &str = "671395";
/// Region 1084, another cluster.
const FOREIGN_CLINIC: &str = "831497";

fn loaded() -> TestApp {
    let app = spawn_app();
    app.import(&helpers::fixture("feed"));
    app
}

fn codes(r: &Value) -> Vec<String> {
    r["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A listed patient of `clinic` (from the fixture), other than `not`.
fn patient_of(clinic: &str, not: &str) -> String {
    let text = std::fs::read_to_string(helpers::fixture("feed/patients.ndjson")).expect("feed");
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["ydernummer"] == clinic && v["listed"] != false)
        .filter_map(|v| v["cpr"].as_str().map(String::from))
        .find(|c| c.len() == 10 && c != not && c.bytes().all(|b| b.is_ascii_digit()))
        .expect("a patient")
}

fn audit_rows(app: &TestApp, cpr: &str) -> usize {
    let r = app.graphql_as(
        &patient(cpr),
        "{ myAccessLog(first: 500) { role } }",
        json!({}),
    );
    r.json()["data"]["myAccessLog"]
        .as_array()
        .map_or(0, |a| a.len())
}

#[test]
fn a_patient_reads_their_own_plans_and_nothing_else() {
    let app = loaded();
    let me = "{ me { cpr sex birthDate clinic { name } plans { id type current { version isNew \
              goals { text achieved } measurements { code value unit validRange { min max } } } } } }";
    let r = app.graphql_as(&patient(OWN_PATIENT), me, json!({}));
    let body = r.json();
    assert_eq!(body["data"]["me"]["cpr"], OWN_PATIENT, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    // Another person by argument, rollout, clinic counts: refused field by field.
    let probe = format!(
        "{{ me {{ cpr }} patient(cpr: \"{}\") {{ cpr }} rollout(asOf: \"2022-05-18\") {{ openClinics }} \
         clinic(ydernummer: \"{CLINIC}\") {{ name activity {{ newPlans12m }} }} }}",
        patient_of(CLINIC, OWN_PATIENT)
    );
    let r = app
        .graphql_as(&patient(OWN_PATIENT), &probe, json!({}))
        .json();
    assert_eq!(r["data"]["me"]["cpr"], OWN_PATIENT, "{r}");
    assert!(
        r["data"]["patient"].is_null() && r["data"]["rollout"].is_null(),
        "{r}"
    );
    assert!(r["data"]["clinic"].is_null(), "{r}");
    assert!(
        codes(&r).iter().all(|c| c == "FORBIDDEN") && codes(&r).len() == 3,
        "{r}"
    );
}

#[test]
fn a_clinician_reaches_own_patients_and_a_foreign_one_looks_like_nobody() {
    let app = loaded();
    let token = clinician(CLINIC);
    let q = "query P($cpr: String!) { patient(cpr: $cpr) { cpr listed plans { id } } }";
    let r = app
        .graphql_as(&token, q, json!({ "cpr": OWN_PATIENT }))
        .json();
    assert_eq!(r["data"]["patient"]["cpr"], OWN_PATIENT, "{r}");
    let foreign = app
        .graphql_as(&token, q, json!({ "cpr": patient_of(FOREIGN_CLINIC, "") }))
        .body;
    let nobody = app
        .graphql_as(&token, q, json!({ "cpr": "0101010101" }))
        .body;
    assert_eq!(
        foreign, nobody,
        "a foreign patient must answer exactly like no patient"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&nobody).expect("json")["data"]["patient"],
        Value::Null
    );
    let r = app
        .graphql_as(&token, q, json!({ "cpr": "01O1010101" }))
        .json();
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("cpr:"),
        "{r}"
    );
    // Counts: own clinic and cluster yes, a clinic elsewhere no; names for all.
    let q = format!(
        "{{ own: clinic(ydernummer: \"{CLINIC}\") {{ activity(asOf: \"2022-05-18\") {{ newPlans12m }} \
         patients(first: 2) {{ edges {{ cursor node {{ cpr }} }} pageInfo {{ hasNextPage }} }} }} \
         peer: clinic(ydernummer: \"{CLUSTER_PEER}\") {{ activity(asOf: \"2022-05-18\") {{ newPlans12m }} patients {{ edges {{ cursor }} }} }} \
         far: clinic(ydernummer: \"{FOREIGN_CLINIC}\") {{ name activity(asOf: \"2022-05-18\") {{ newPlans12m }} }} }}"
    );
    let r = app.graphql_as(&token, &q, json!({})).json();
    let d = &r["data"];
    assert!(d["own"]["activity"]["newPlans12m"].is_number(), "{r}");
    assert_eq!(
        d["own"]["patients"]["edges"].as_array().map(Vec::len),
        Some(2),
        "{r}"
    );
    assert!(d["peer"]["activity"]["newPlans12m"].is_number(), "{r}");
    assert!(d["peer"]["patients"].is_null(), "{r}");
    assert!(
        d["far"]["name"].is_string() && d["far"]["activity"].is_null(),
        "{r}"
    );
    assert_eq!(codes(&r), ["FORBIDDEN", "FORBIDDEN"], "{r}");
}

#[test]
fn regions_and_the_ministry_see_counts_never_persons() {
    let app = loaded();
    let person = format!(
        "{{ patient(cpr: \"{OWN_PATIENT}\") {{ cpr }} me {{ cpr }} \
         a: clinic(ydernummer: \"{CLINIC}\") {{ patients {{ edges {{ cursor }} }} }} \
         ... on Query {{ b: patient(cpr: \"{OWN_PATIENT}\") {{ ...P }} }} }} fragment P on Patient {{ cpr }}"
    );
    for token in [region("1083"), ministry()] {
        let r = app.graphql_as(&token, &person, json!({})).json();
        assert!(!r.to_string().contains(OWN_PATIENT), "{r}");
        assert_eq!(codes(&r).len(), 4, "{r}");
        assert!(codes(&r).iter().all(|c| c == "FORBIDDEN"), "{r}");
    }
    // A region reaches its own region's figures and clinics, not another's.
    let q = "query($r: String) { rollout(asOf: \"2022-05-18\", region: $r) { openClinics } }";
    let own = app
        .graphql_as(&region("1083"), q, json!({"r": "1083"}))
        .json();
    assert!(own["data"]["rollout"]["openClinics"].is_number(), "{own}");
    let other = app
        .graphql_as(&region("1083"), q, json!({"r": "1084"}))
        .json();
    assert!(
        other["data"]["rollout"].is_null() && codes(&other) == ["FORBIDDEN"],
        "{other}"
    );
    let bad = app
        .graphql_as(&region("1083"), q, json!({"r": "9999"}))
        .json();
    assert_eq!(codes(&bad), ["BAD_USER_INPUT"], "{bad}");
    let q = format!("{{ clinic(ydernummer: \"{FOREIGN_CLINIC}\") {{ activity(asOf: \"2022-05-18\") {{ inactive }} }} }}");
    let r = app.graphql_as(&region("1083"), &q, json!({})).json();
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    // A supplier reads nothing but the version.
    let supplier = helpers::token(Actor::Supplier(Source::Plsp));
    let r = app
        .graphql_as(
            &supplier,
            "{ apiVersion regions { code } rollout(asOf: \"2022-05-18\") { openClinics } }",
            json!({}),
        )
        .json();
    assert!(r["data"]["apiVersion"].is_string(), "{r}");
    assert_eq!(codes(&r), ["FORBIDDEN", "FORBIDDEN"], "{r}");
}

/// Walks a response and returns every PersonCount value found.
fn person_counts(v: &Value, out: &mut Vec<i64>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("suppressed") {
                if let Some(n) = m.get("value").and_then(Value::as_i64) {
                    out.push(n);
                }
            }
            m.values().for_each(|x| person_counts(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| person_counts(x, out)),
        _ => {}
    }
}

#[test]
fn no_region_or_ministry_answer_carries_a_count_below_the_threshold() {
    let app = loaded();
    let counts = "diagnosed { value suppressed } withPlan { value suppressed } coverage { value suppressed } \
                  byAgeBand { band count { value suppressed } } bySex { sex count { value suppressed } }";
    let q = format!(
        "{{ clusters {{ view(asOf: \"2022-12-31\") {{ clinics {{ coverage {{ diagnosed {{ value suppressed }} withPlan {{ value suppressed }} }} }} }} }} \
         clinics {{ population(asOf: \"2022-12-31\") {{ {counts} }} }} \
         rollout(asOf: \"2022-12-31\") {{ appUsers {{ withPlan {{ value suppressed }} active {{ value suppressed }} }} }} }}"
    );
    let mut suppressed_seen = false;
    for token in [ministry(), region("1084")] {
        let r = app.graphql_as(&token, &q, json!({})).json();
        let mut found = Vec::new();
        person_counts(&r["data"], &mut found);
        assert!(!found.is_empty(), "{r}");
        assert!(
            found.iter().all(|&n| n == 0 || n >= 5),
            "small count leaked: {found:?}"
        );
        suppressed_seen |= r.to_string().contains("BELOW_THRESHOLD");
    }
    assert!(
        suppressed_seen,
        "the fixture has small cells; some must be suppressed"
    );
    // The same clinic's own clinician sees exact figures.
    let q = format!("{{ clinic(ydernummer: \"{CLINIC}\") {{ population(asOf: \"2022-12-31\") {{ {counts} }} }} }}");
    let r = app.graphql_as(&clinician(CLINIC), &q, json!({})).json();
    assert!(!r.to_string().contains("suppressed\":\"BELOW"), "{r}");
}

#[test]
fn every_person_read_leaves_one_audit_record_the_patient_can_read() {
    let app = loaded();
    assert_eq!(audit_rows(&app, OWN_PATIENT), 0);
    let q = "query LookUp($cpr: String!) { patient(cpr: $cpr) { cpr plans { id } again: plans { id } } }";
    let r = app.graphql_as(&clinician(CLINIC), q, json!({ "cpr": OWN_PATIENT }));
    assert_eq!(r.status, 200, "{}", r.body);
    // The patient's own read is a read too (and a plan_viewed event): one record each.
    let log = app
        .graphql_as(
            &patient(OWN_PATIENT),
            "{ myAccessLog { role operation clinic { ydernummer } } }",
            json!({}),
        )
        .json();
    let entries = log["data"]["myAccessLog"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["role"], "clinician");
    // The client named its ad-hoc document "LookUp"; the record says what it was: ad hoc.
    assert_eq!(entries[0]["operation"], "ad hoc");
    assert_eq!(entries[0]["clinic"]["ydernummer"], CLINIC);
    app.graphql_as(&patient(OWN_PATIENT), "{ me { plans { id } } }", json!({}));
    assert_eq!(audit_rows(&app, OWN_PATIENT), 2);
    // Reading someone who is not a patient of the clinic records nothing about them.
    let other = patient_of(FOREIGN_CLINIC, "");
    app.graphql_as(&clinician(CLINIC), q, json!({ "cpr": other }));
    assert_eq!(audit_rows(&app, &other), 0);
}

/// The authorization matrix: every role × every query family × own and foreign data.
/// A = answered, F = null with FORBIDDEN, N = null without error (someone else's person looks
/// like no person).
#[test]
fn the_authorization_matrix_holds_for_every_role_and_query_family() {
    let app = loaded();
    let foreign_patient = patient_of(FOREIGN_CLINIC, "");
    let roles = [
        ("patient", patient(OWN_PATIENT)),
        ("clinician", clinician(CLINIC)),
        ("region", region("1083")),
        ("ministry", ministry()),
        ("supplier", helpers::token(Actor::Supplier(Source::Plsp))),
    ];
    let clinic_q = |y: &str, sel: &str| format!("{{ clinic(ydernummer: \"{y}\") {{ {sel} }} }}");
    let rows: Vec<(&str, String, &str)> = vec![
        ("me", "{ me { cpr } }".into(), "AFFFF"),
        ("myAccessLog", "{ myAccessLog { at } }".into(), "AFFFF"),
        ("patient own", format!("{{ patient(cpr: \"{OWN_PATIENT}\") {{ cpr }} }}"), "FAFFF"),
        ("patient foreign", format!("{{ patient(cpr: \"{foreign_patient}\") {{ cpr }} }}"), "FNFFF"),
        ("clinic names", clinic_q(FOREIGN_CLINIC, "name"), "FAAAF"),
        ("clinic.patients own", clinic_q(CLINIC, "patients { edges { cursor } }"), "FAFFF"),
        ("clinic.patients foreign", clinic_q(FOREIGN_CLINIC, "patients { edges { cursor } }"), "FFFFF"),
        ("clinic.activity own", clinic_q(CLINIC, "activity(asOf: \"2022-05-18\") { newPlans12m }"), "FAAAF"),
        ("clinic.activity cluster", clinic_q(CLUSTER_PEER, "activity(asOf: \"2022-05-18\") { newPlans12m }"), "FAAAF"),
        ("clinic.activity foreign", clinic_q(FOREIGN_CLINIC, "activity(asOf: \"2022-05-18\") { newPlans12m }"), "FFFAF"),
        ("clinic.population own", clinic_q(CLINIC, "population { type }"), "FAAAF"),
        ("clinic.population foreign", clinic_q(FOREIGN_CLINIC, "population { type }"), "FFFAF"),
        ("cluster.view own", "{ cluster(id: \"K1083-01\") { view { clinics { open } } } }".into(), "FAAAF"),
        ("cluster.view foreign", "{ cluster(id: \"K1084-01\") { view { clinics { open } } } }".into(), "FFFAF"),
        ("rollout national", "{ rollout(asOf: \"2022-05-18\") { openClinics } }".into(), "FAAAF"),
        ("rollout region own", "{ rollout(asOf: \"2022-05-18\", region: \"1083\") { openClinics } }".into(), "FFAAF"),
        ("rollout region foreign", "{ rollout(asOf: \"2022-05-18\", region: \"1084\") { openClinics } }".into(), "FFFAF"),
        ("region.rollout foreign", "{ region(code: \"1084\") { rollout(asOf: \"2022-05-18\") { openClinics } } }".into(), "FFFAF"),
        ("inactive clinic names", "{ rollout(asOf: \"2022-05-18\") { inactiveClinics { clinics { name } } } }".into(), "FFAAF"),
        ("planActivity", "{ planActivity(from: \"2022-01-01\", to: \"2022-12-31\", groupBy: [REGION]) { total { plans } } }".into(), "FFAAF"),
        ("milestones", "{ milestones { number } }".into(), "FAAAF"),
        ("regions", "{ regions { name } }".into(), "FAAAF"),
    ];
    let mut failures = Vec::new();
    for (family, doc, expected) in &rows {
        for ((role, token), want) in roles.iter().zip(expected.chars()) {
            let r = app.graphql_as(token, doc, json!({})).json();
            let errors = codes(&r);
            let data = &r["data"];
            let leaf_null = |v: &Value| -> bool {
                // The first field of the answer, or the field under it, is null.
                let first = v
                    .as_object()
                    .and_then(|m| m.values().next())
                    .cloned()
                    .unwrap_or(Value::Null);
                first.is_null()
                    || first
                        .as_object()
                        .is_some_and(|m| m.values().any(Value::is_null))
            };
            let got =
                if !errors.is_empty() && errors.iter().all(|c| c == "FORBIDDEN") && leaf_null(data)
                {
                    'F'
                } else if errors.is_empty() && leaf_null(data) {
                    'N'
                } else if errors.is_empty() {
                    'A'
                } else {
                    '?'
                };
            if got != want {
                failures.push(format!("{family} as {role}: want {want}, got {got}: {r}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A refused field answers null in its place, with FORBIDDEN at its path; its siblings and
/// its parent stand (GraphQL's rule for nullable fields).
#[test]
fn a_refused_field_is_null_in_place_and_the_rest_stands() {
    let app = loaded();
    let supplier = helpers::token(Actor::Supplier(Source::Plsp));
    let r = app
        .graphql_as(
            &supplier,
            "{ apiVersion regions { name } me { cpr } }",
            json!({}),
        )
        .json();
    assert_eq!(
        r["data"],
        json!({ "apiVersion": env!("CARGO_PKG_VERSION"), "regions": null, "me": null }),
        "{r}"
    );
    let r = app
        .graphql_as(
            &clinician("586964"),
            "{ clinic(ydernummer: \"831497\") { name patients(first: 1) { edges { cursor } } } }",
            json!({}),
        )
        .json();
    let clinic = &r["data"]["clinic"];
    assert!(clinic["name"].is_string(), "{r}");
    assert!(clinic.get("patients").is_some_and(Value::is_null), "{r}");
    assert_eq!(r["errors"][0]["path"], json!(["clinic", "patients"]), "{r}");
    assert_eq!(codes(&r), ["FORBIDDEN"]);
    // The only root field refused by its row scope: data still names it.
    let r = app
        .graphql_as(
            &clinician("586964"),
            "{ rollout(asOf: \"2022-05-18\", region: \"1083\") { openClinics } }",
            json!({}),
        )
        .json();
    assert_eq!(r["data"], json!({ "rollout": null }), "{r}");
    assert_eq!(codes(&r), ["FORBIDDEN"]);
}

/// The audit records what the gateway knows, not what the client says: its own request id
/// (the caller's kept beside it, labelled), and the trusted document's name or "ad hoc" (the
/// client's operation name kept beside it).
#[test]
fn the_audit_cannot_be_told_what_to_record() {
    let app = loaded();
    let forged = "query MyPlans($cpr: String!) { patient(cpr: $cpr) { cpr } }";
    let r = app.post_raw(
        "/graphql",
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {}", clinician(CLINIC))),
            ("x-request-id", "someone-elses-id"),
        ],
        &json!({ "query": forged, "variables": { "cpr": OWN_PATIENT } }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let ours = r.request_id.clone().expect("request id");
    let trusted = forloeb_gateway::trusted::Manifest::builtin()
        .documents()
        .iter()
        .find(|d| d.name == "PatientLookup")
        .map(|d| d.text)
        .expect("PatientLookup");
    let r = app.graphql_as(&clinician(CLINIC), trusted, json!({ "cpr": OWN_PATIENT }));
    assert_eq!(r.status, 200, "{}", r.body);
    let settings = crate::helpers::test_settings(app.db.url());
    let db = forloeb_gateway::db::Db::connect(&settings.database).expect("db");
    let mut conn = db.get().expect("conn");
    use diesel::prelude::*;
    use forloeb_gateway::db::tables::audit_log as a;
    type Row = (String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = a::table
        .filter(a::subject_cpr.eq(OWN_PATIENT))
        .order(a::id)
        .select((
            a::request_id,
            a::client_request_id,
            a::operation,
            a::client_operation,
        ))
        .load(&mut conn)
        .expect("audit rows");
    assert_eq!(
        rows,
        vec![
            (
                ours,
                Some("someone-elses-id".to_string()),
                Some("ad hoc".to_string()),
                Some("MyPlans".to_string())
            ),
            (
                r.request_id.clone().expect("id"),
                None,
                Some("PatientLookup".to_string()),
                Some("PatientLookup".to_string())
            ),
        ]
    );
}
