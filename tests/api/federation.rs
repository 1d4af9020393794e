//! A subgraph process (`server.subgraph`): its contract in `_service`, its own root fields
//! only, and `_entities` that reaches nothing a direct query could not, with the same audit.

use crate::helpers::{clinician, fixture, ministry, patient, region, spawn_app_with, TestApp};
use forloeb_gateway::federation::Subgraph;
use forloeb_gateway::schema::subgraph_sdl;
use serde_json::{json, Value};

const PATIENT: &str = "2709400129";
const ENTITIES: &str = "query($r: [_Any!]!) { _entities(representations: $r) { \
    ... on Patient { cpr birthDate plans { id } } \
    ... on CarePlan { id source current { version } } \
    ... on Clinic { ydernummer patients(first: 3) { edges { node { cpr } } } } } }";

fn subgraph(name: Subgraph) -> TestApp {
    let app = spawn_app_with(|s| s.server.subgraph = Some(name));
    app.import(&fixture("feed"));
    app
}

fn entities(app: &TestApp, token: &str, representations: Value) -> Value {
    app.graphql_as(token, ENTITIES, json!({ "r": representations }))
        .json()
}

#[test]
fn a_subgraph_serves_its_contract_and_only_its_root_fields() {
    let app = subgraph(Subgraph::Rollout);
    let r = app
        .graphql_as(&ministry(), "{ _service { sdl } }", json!({}))
        .json();
    assert_eq!(
        r["data"]["_service"]["sdl"].as_str(),
        Some(subgraph_sdl(Subgraph::Rollout).as_str())
    );
    let r = app.graphql_as(&ministry(), "{ me { cpr } }", json!({}));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("the plans subgraph"), "{}", r.body);
    let r = app
        .graphql_as(
            &region("1083"),
            "{ rollout(asOf: \"2022-05-18\") { openClinics } apiVersion }",
            json!({}),
        )
        .json();
    assert_eq!(r["data"]["rollout"]["openClinics"], 10, "{r}");
    // Without a token, the contract is as closed as introspection.
    assert_eq!(app.graphql("{ _service { sdl } }", json!({})).status, 401);
}

/// The same questions as `patient(cpr)` and `clinic(ydernummer)`, asked as entities: a
/// clinician gets their own patient, plan and clinic; a clinician elsewhere, a region and the
/// ministry get no person, a patient only themself; each read is audited once.
#[test]
fn entities_reach_nothing_a_direct_query_could_not() {
    let app = subgraph(Subgraph::Plans);
    // Clinic 831497's patients have plans; take the first with one, asking as a router would.
    let own = clinician("831497");
    let page = app
        .graphql_as(
            &own,
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Clinic { patients(first: 20) { edges { node { id cpr birthDate plans { id } } } } } } }",
            json!({ "r": [{ "__typename": "Clinic", "ydernummer": "831497" }] }),
        )
        .json();
    let person = page["data"]["_entities"][0]["patients"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["node"])
        .find(|n| n["plans"][0]["id"].is_string())
        .unwrap_or_else(|| panic!("a patient with a plan: {page}"))
        .clone();
    let (id, cpr, plan) = (
        person["id"].as_str().expect("id").to_string(),
        person["cpr"].as_str().expect("cpr").to_string(),
        person["plans"][0]["id"].as_str().expect("plan").to_string(),
    );
    assert!(id.starts_with("p1_") && !id.contains(&cpr), "{id}");
    let reps = json!([
        { "__typename": "Patient", "id": id },
        { "__typename": "CarePlan", "id": plan },
        { "__typename": "Clinic", "ydernummer": "831497" },
    ]);

    let r = entities(&app, &own, reps.clone());
    assert_eq!(r["data"]["_entities"][0]["cpr"], cpr.as_str(), "{r}");
    assert_eq!(r["data"]["_entities"][1]["id"], plan.as_str(), "{r}");
    assert!(r["data"]["_entities"][2]["patients"]["edges"][0]["node"]["cpr"].is_string());

    for (who, token) in [
        ("clinician elsewhere", clinician("586964")),
        ("region", region("1084")),
        ("ministry", ministry()),
        ("another patient", patient(PATIENT)),
    ] {
        let r = entities(&app, &token, reps.clone());
        let shown = r["data"].to_string();
        assert!(r["data"]["_entities"][0].is_null(), "{who}: {r}");
        assert!(r["data"]["_entities"][1].is_null(), "{who}: {r}");
        let digits: Vec<char> = shown.chars().collect();
        assert!(
            !digits
                .windows(10)
                .any(|w| w.iter().all(|c| c.is_ascii_digit())),
            "{who} saw a CPR number: {r}"
        );
        let codes: Vec<&str> = r["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["extensions"]["code"].as_str())
            .collect();
        assert!(codes.contains(&"FORBIDDEN"), "{who}: {r}");
    }
    // The patient reaches themself and their plan by id; forged ids reach nobody.
    let me = patient(&cpr);
    let r = entities(&app, &me, reps.clone());
    assert_eq!(
        r["data"]["_entities"][0]["birthDate"], person["birthDate"],
        "{r}"
    );
    assert_eq!(r["data"]["_entities"][1]["id"], plan.as_str(), "{r}");
    let forged = format!(
        "{}{}",
        &id[..id.len() - 1],
        if id.ends_with('0') { '1' } else { '0' }
    );
    for bad in [forged.as_str(), cpr.as_str(), "p1_00", ""] {
        let r = entities(&app, &own, json!([{ "__typename": "Patient", "id": bad }]));
        assert!(r["data"]["_entities"][0].is_null(), "{bad}: {r}");
    }

    // Entity reads are on record like direct reads.
    let log = app
        .graphql_as(
            &me,
            "{ myAccessLog { role clinic { ydernummer } } }",
            json!({}),
        )
        .json();
    let clinics: Vec<&str> = log["data"]["myAccessLog"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["clinic"]["ydernummer"].as_str())
        .collect();
    assert!(clinics.contains(&"831497"), "{log}");
    assert!(!clinics.contains(&"586964"), "{log}");
}

/// Each subgraph's schema has its own fields of an entity and no other's: the population
/// subgraph answers a clinic's population as `clinic(ydernummer) { population }` does (exact
/// for the clinic's own clinicians, controlled for the ministry, refused for a clinician
/// elsewhere), and the plans subgraph does not know the field.
#[test]
fn a_subgraph_resolves_only_its_own_fields_of_an_entity() {
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { \
        ... on Clinic { ydernummer population(asOf: \"2022-05-18\") { type diagnosed { value suppressed } } } } }";
    let reps = json!({ "r": [{ "__typename": "Clinic", "ydernummer": "831497" }] });
    let population = subgraph(Subgraph::Population);
    let own = population
        .graphql_as(&clinician("831497"), query, reps.clone())
        .json();
    let diagnosed = &own["data"]["_entities"][0]["population"][0]["diagnosed"];
    assert!(diagnosed["value"].as_i64().is_some_and(|n| n > 0), "{own}");
    let ministry = population
        .graphql_as(&ministry(), query, reps.clone())
        .json();
    assert!(
        ministry["data"]["_entities"][0]["population"].is_array(),
        "{ministry}"
    );
    let elsewhere = population
        .graphql_as(&clinician("586964"), query, reps.clone())
        .json();
    assert!(
        elsewhere["data"]["_entities"][0]["population"].is_null(),
        "{elsewhere}"
    );
    assert_eq!(
        elsewhere["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{elsewhere}"
    );

    let plans = subgraph(Subgraph::Plans);
    let r = plans.graphql_as(&clinician("831497"), query, reps);
    let r = r.json();
    assert!(r["data"].is_null(), "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Unknown field \"population\" on type \"Clinic\"")),
        "{r}"
    );
}
