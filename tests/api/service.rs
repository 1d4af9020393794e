//! The GraphQL service without HTTP (`service::GraphqlService`), as the benchmarks call it:
//! the same stages and the same answers as over HTTP, the refusals as typed errors.

use crate::helpers::{self, patient, spawn_app, TestApp};
use forloeb_gateway::auth::{Actor, Principal};
use forloeb_gateway::db::Db;
use forloeb_gateway::domain::Cpr;
use forloeb_gateway::error::Code;
use forloeb_gateway::service::{Call, Caller, GraphqlService};
use serde_json::{json, Value};

/// Listed at 586964 in the fixture feed.
const OWN_PATIENT: &str = "2709400129";

fn loaded() -> (TestApp, GraphqlService) {
    let app = spawn_app();
    app.import(&helpers::fixture("feed"));
    let mut settings = helpers::test_settings(app.db.url());
    // The shipped documents rule: patients run only trusted documents.
    helpers::shipped_defaults(&mut settings);
    let db = Db::connect(&settings.database).expect("database");
    let service = forloeb_gateway::app::service(&settings, db).expect("service");
    (app, service)
}

fn caller(actor: Option<Actor>) -> Caller {
    Caller {
        principal: actor.map(|a| Principal::new("service-test", a)),
        request_id: "service-test".to_string(),
        client_request_id: None,
    }
}

fn own_patient() -> Option<Actor> {
    Some(Actor::Patient(Cpr::parse(OWN_PATIENT).expect("cpr")))
}

fn text(query: &str) -> Call {
    Call {
        query: Some(query.to_string()),
        ..Call::default()
    }
}

/// A named operation's text (schema/operations), which runs as its trusted document.
fn operation(name: &str) -> String {
    let path = format!(
        "{}/schema/operations/{name}.graphql",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn run(service: &GraphqlService, caller: &Caller, call: Call) -> Result<Value, Code> {
    actix_web::rt::System::new().block_on(async {
        match service.execute(caller, call).await {
            Ok(answer) => {
                let body = answer.to_json().expect("json");
                Ok(serde_json::from_slice(&body).expect("json"))
            }
            Err(e) => Err(e.code),
        }
    })
}

#[test]
fn the_service_answers_as_http_does() {
    let (app, service) = loaded();
    let my_plans = operation("MyPlans");
    let direct = run(&service, &caller(own_patient()), text(&my_plans)).expect("answer");
    let over_http = app
        .graphql_as(&patient(OWN_PATIENT), &my_plans, json!({}))
        .json();
    assert!(direct["errors"].is_null(), "{direct}");
    assert_eq!(direct["data"]["me"]["birthDate"], "1940-09-27", "{direct}");
    assert_eq!(direct, over_http);
}

#[test]
fn refusals_come_out_as_typed_errors_before_anything_runs() {
    let (_app, service) = loaded();
    let me = caller(own_patient());
    // A patient runs only trusted documents.
    assert_eq!(
        run(&service, &me, text("{ me { cpr } }")),
        Err(Code::PersistedQueryRequired)
    );
    // An unknown trusted id, and an id that is not the text's.
    let unknown = Call {
        document_id: Some("sha256:".to_string() + &"0".repeat(64)),
        ..Call::default()
    };
    assert_eq!(
        run(&service, &me, unknown),
        Err(Code::PersistedQueryNotFound)
    );
    let mismatched = Call {
        query: Some("{ apiVersion }".to_string()),
        document_id: Some("0".repeat(64)),
        ..Call::default()
    };
    assert_eq!(run(&service, &me, mismatched), Err(Code::BadRequest));
    // Nobody: only __typename.
    assert_eq!(
        run(&service, &caller(None), text("{ regions { code } }")),
        Err(Code::Unauthenticated)
    );
    assert_eq!(
        run(&service, &caller(None), text("{ __typename }")),
        Ok(json!({ "data": { "__typename": "Query" } }))
    );
    // Queries only (a GET): a mutation is refused before validation.
    let ministry = caller(Some(Actor::Ministry));
    let mutation = Call {
        queries_only: true,
        ..text("mutation { nothing }")
    };
    assert_eq!(
        run(&service, &ministry, mutation),
        Err(Code::MethodNotAllowed)
    );
    // Past the operation limits.
    let deep = format!("{{ {}apiVersion{} }}", "a { ".repeat(40), " }".repeat(40));
    assert_eq!(
        run(&service, &ministry, text(&deep)),
        Err(Code::OperationLimit)
    );
}

#[test]
fn a_request_error_has_no_data_and_a_field_error_is_null_in_place() {
    let (_app, service) = loaded();
    let ministry = caller(Some(Actor::Ministry));
    let syntax = run(&service, &ministry, text("{ regions { code ")).expect("answer");
    assert!(syntax.get("data").is_none(), "{syntax}");
    assert!(syntax["errors"][0]["message"].is_string(), "{syntax}");
    // The ministry may not read a patient: null where the field stands, beside the rest.
    let mixed = run(
        &service,
        &ministry,
        text("{ apiVersion patient(cpr: \"2709400129\") { cpr } }"),
    )
    .expect("answer");
    assert_eq!(mixed["data"]["patient"], Value::Null, "{mixed}");
    assert!(mixed["data"].get("patient").is_some(), "{mixed}");
    assert_eq!(mixed["errors"][0]["path"], json!(["patient"]), "{mixed}");
    assert_eq!(mixed["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

#[test]
fn a_bad_date_names_its_argument_or_variable_and_the_rule() {
    let (_app, service) = loaded();
    let ministry = caller(Some(Actor::Ministry));
    let literal = run(
        &service,
        &ministry,
        text("{ rollout(asOf: \"2022-02-30\") { openClinics } }"),
    )
    .expect("answer");
    let message = literal["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"asOf\"") && message.contains("Date"),
        "{literal}"
    );
    assert!(literal.get("data").is_none(), "{literal}");
    let variable = Call {
        variables: json!({ "d": "2022-13-01" }).as_object().cloned(),
        ..text("query($d: Date!) { rollout(asOf: $d) { openClinics } }")
    };
    assert_eq!(run(&service, &ministry, variable), Err(Code::BadUserInput));
}

/// A stored value that does not parse (a row written by hand, or by a bug) is an error that is
/// logged and counted, never a silent default or a dropped item.
#[test]
fn a_stored_value_that_does_not_parse_is_an_error_not_a_default() {
    use diesel::prelude::*;
    use forloeb_gateway::db::tables::plan_versions;
    let (app, service) = loaded();
    let settings = helpers::test_settings(app.db.url());
    let db = Db::connect(&settings.database).expect("database");
    let mut conn = db.get().expect("connection");
    let planned: String = plan_versions::table
        .select(plan_versions::cpr)
        .order(plan_versions::plan_id)
        .first(&mut *conn)
        .expect("a patient with a plan");
    let me = caller(Some(Actor::Patient(Cpr::parse(&planned).expect("cpr"))));
    let my_plans = || text(&operation("MyPlans"));
    let before = run(&service, &me, my_plans()).expect("answer");
    assert!(before["errors"].is_null(), "{before}");
    assert!(
        before["data"]["me"]["plans"][0]["current"].is_object(),
        "{before}"
    );
    diesel::update(plan_versions::table.filter(plan_versions::cpr.eq(&planned)))
        .set(plan_versions::goals.eq(r#"[{"text": "no date", "achieved": false}]"#))
        .execute(&mut *conn)
        .expect("update");
    drop(conn);
    let counted = forloeb_gateway::db::unparsable_stored_values();
    let after = run(&service, &me, my_plans()).expect("answer");
    assert_eq!(
        after["errors"][0]["extensions"]["code"], "INTERNAL",
        "{after}"
    );
    assert!(forloeb_gateway::db::unparsable_stored_values() > counted);
}

/// The directory is typed as it was imported: a clinic whose stored region code no longer
/// parses (the schema's foreign key keeps it from happening; here a row is written by hand
/// past it) fails the read (counted), rather than showing the clinic without a region.
#[test]
fn a_directory_row_that_does_not_parse_is_an_error_not_a_missing_region() {
    use diesel::prelude::*;
    use forloeb_gateway::db::tables::clinics;
    let (app, service) = loaded();
    let ministry = caller(Some(Actor::Ministry));
    let ask = || text("{ clinics { ydernummer region { code } } }");
    let before = run(&service, &ministry, ask()).expect("answer");
    assert!(
        before["data"]["clinics"][0]["region"]["code"].is_string(),
        "{before}"
    );
    let settings = helpers::test_settings(app.db.url());
    let db = Db::connect(&settings.database).expect("database");
    let mut conn = db.get().expect("connection");
    let first: String = clinics::table
        .select(clinics::ydernummer)
        .order(clinics::ydernummer)
        .first(&mut *conn)
        .expect("a clinic");
    let past_the_foreign_key = if app.db.url().starts_with("postgres") {
        "SET session_replication_role = replica"
    } else {
        "PRAGMA foreign_keys = OFF"
    };
    diesel::sql_query(past_the_foreign_key)
        .execute(&mut *conn)
        .expect("by hand");
    diesel::update(clinics::table.filter(clinics::ydernummer.eq(&first)))
        .set(clinics::region_code.eq("9999"))
        .execute(&mut *conn)
        .expect("update");
    // As an import would, so the directory is read again.
    diesel::sql_query("UPDATE data_version SET version = version + 1")
        .execute(&mut *conn)
        .expect("new data version");
    drop(conn);
    let counted = forloeb_gateway::db::unparsable_stored_values();
    let after = run(&service, &ministry, ask()).expect("answer");
    assert_eq!(
        after["errors"][0]["extensions"]["code"], "INTERNAL",
        "{after}"
    );
    assert!(forloeb_gateway::db::unparsable_stored_values() > counted);
}
