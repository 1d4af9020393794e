//! The patient's own entries and delegated access (issue 19), over HTTP with real tokens, on
//! the test feed: the four writes, their refusals, idempotency, append-only storage, the reads
//! beside the plan and by the supplier, and a power of attorney on the days it starts, ends and
//! is revoked.

use crate::helpers::{self, clinician, patient, region, spawn_app_with, test_settings, TestApp};
use forloeb_gateway::auth::Actor;
use forloeb_gateway::domain::{Cpr, Source, Timestamp};
use serde_json::{json, Value};

const MY_PLANS: &str = include_str!("../../schema/operations/MyPlans.graphql");
const ACTING_FOR: &str = include_str!("../../schema/operations/PlansIActFor.graphql");
const ACCESS_LOG: &str = include_str!("../../schema/operations/MyAccessLog.graphql");
const MARK_GOAL: &str = include_str!("../../schema/operations/MarkGoal.graphql");
const ADD_MEASUREMENT: &str = include_str!("../../schema/operations/AddHomeMeasurement.graphql");
const WRITE_NOTE: &str = include_str!("../../schema/operations/WriteNote.graphql");
const WITHDRAW: &str = include_str!("../../schema/operations/WithdrawEntry.graphql");
const ENTRIES_SINCE: &str = include_str!("../../schema/operations/EntriesSince.graphql");

/// The test feed's patient with one active KIAP plan (version 2 of KIAP-2d418bfbb0, listed at
/// 586964), and a goal of it.
const WRITER: &str = "0705353111";
const PLAN: &str = "KIAP:KIAP-2d418bfbb0";
const GOAL: (&str, &str) = ("Stoppe med at ryge", "2022-01-19");
/// Another patient of the same clinic, with active plans of their own.
const NEIGHBOUR: &str = "2403391421";
const NEIGHBOUR_PLAN: &str = "KIAP:KIAP-4321a84055";

fn today() -> chrono::NaiveDate {
    Timestamp::now().local_date()
}

fn day(offset: i64) -> String {
    (today() + chrono::Duration::days(offset)).to_string()
}

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// The test feed, the shipped rules for documents (patients run trusted documents only) and
/// no rate limits unless `tweak` says so.
fn loaded_with(tweak: impl FnOnce(&mut forloeb_gateway::config::Settings)) -> TestApp {
    let app = spawn_app_with(|s| {
        s.documents = forloeb_gateway::config::Settings::load_from(None, Vec::new())
            .expect("defaults")
            .documents;
        tweak(s);
    });
    app.import(&helpers::fixture("feed"));
    app
}

fn loaded() -> TestApp {
    loaded_with(|_| {})
}

fn note(app: &TestApp, token: &str, id: &str, plan: &str, text: &str) -> Value {
    app.graphql_as(
        token,
        WRITE_NOTE,
        json!({ "id": id, "plan": plan, "text": text }),
    )
    .json()
}

fn measurement(app: &TestApp, token: &str, id: &str, code: &str, value: f64, on: &str) -> Value {
    app.graphql_as(
        token,
        ADD_MEASUREMENT,
        json!({ "id": id, "plan": PLAN, "code": code, "value": value, "measuredOn": on }),
    )
    .json()
}

fn mark(app: &TestApp, token: &str, id: &str, reached: bool) -> Value {
    app.graphql_as(
        token,
        MARK_GOAL,
        json!({ "id": id, "plan": PLAN, "goalText": GOAL.0, "goalSetOn": GOAL.1, "reached": reached }),
    )
    .json()
}

fn plan_of<'a>(my_plans: &'a Value, id: &str) -> &'a Value {
    my_plans["data"]["me"]["plans"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("no plan {id} in {my_plans}"))
}

fn code(r: &Value) -> &str {
    r["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

fn message(r: &Value) -> &str {
    r["errors"][0]["message"].as_str().unwrap_or("")
}

/// Rows of a table, read straight from the database.
fn count(app: &TestApp, sql_table: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let db = forloeb_gateway::db::Db::connect(&test_settings(app.db.url()).database).expect("db");
    let mut conn = db.get().expect("connection");
    let q = format!("SELECT COUNT(*) AS n FROM {sql_table}");
    forloeb_gateway::on_backend!(&mut *conn, |c| diesel::sql_query(&q).get_result::<N>(c))
        .expect("count")
        .n
}

fn execute(app: &TestApp, sql: &str) -> Result<usize, String> {
    use diesel::prelude::*;
    let db = forloeb_gateway::db::Db::connect(&test_settings(app.db.url()).database).expect("db");
    let mut conn = db.get().expect("connection");
    forloeb_gateway::on_backend!(&mut *conn, |c| diesel::sql_query(sql).execute(c))
        .map_err(|e| e.to_string())
}

/// (actor_role, actor_sub, types) of the audit records about `cpr`, oldest first.
fn audit_of(app: &TestApp, cpr: &str) -> Vec<(String, String, String)> {
    use diesel::prelude::*;
    use forloeb_gateway::db::tables::audit_log;
    let db = forloeb_gateway::db::Db::connect(&test_settings(app.db.url()).database).expect("db");
    let mut conn = db.get().expect("connection");
    forloeb_gateway::on_backend!(&mut *conn, |c| audit_log::table
        .filter(audit_log::subject_cpr.eq(cpr))
        .order(audit_log::id)
        .select((
            audit_log::actor_role,
            audit_log::actor_sub,
            audit_log::types
        ))
        .load::<(String, String, String)>(c))
    .expect("audit")
}

#[test]
fn a_patient_makes_the_four_entries_and_reads_them_beside_the_clinics_content() {
    let app = loaded();
    let me = patient(WRITER);
    let before = app.graphql_as(&me, MY_PLANS, json!({})).json();
    let clinic_measurements = plan_of(&before, PLAN)["current"]["measurements"].clone();

    let r = mark(&app, &me, &uuid(1), true);
    assert_eq!(r["data"]["markGoal"]["reached"], true, "{r}");
    let r = measurement(&app, &me, &uuid(2), "BP_SYS", 142.0, &day(-1));
    assert_eq!(
        r["data"]["addHomeMeasurement"]["measurement"]["unit"], "mmHg",
        "{r}"
    );
    let r = note(
        &app,
        &me,
        &uuid(3),
        PLAN,
        "Hoster om natten.\nSpørg om inhalator.",
    );
    assert_eq!(r["data"]["writeNote"]["kind"], "NOTE", "{r}");
    let r = app
        .graphql_as(&me, WITHDRAW, json!({ "id": uuid(4), "entry": uuid(3) }))
        .json();
    assert_eq!(r["data"]["withdrawEntry"]["withdraws"], uuid(3), "{r}");

    let after = app.graphql_as(&me, MY_PLANS, json!({})).json();
    let plan = plan_of(&after, PLAN);
    let kinds: Vec<&str> = plan["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        ["GOAL_MARK", "HOME_MEASUREMENT", "NOTE", "WITHDRAWAL"]
    );
    // The withdrawn note stays in the history, marked.
    assert_eq!(plan["entries"][2]["withdrawn"], true);
    assert_eq!(
        plan["entries"][2]["note"],
        "Hoster om natten.\nSpørg om inhalator."
    );
    assert_eq!(plan["entries"][1]["withdrawn"], false);
    // The mark sits beside the clinic's own `achieved`, which is unchanged.
    let goal = plan["current"]["goals"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["text"] == GOAL.0))
        .expect("goal");
    assert_eq!(goal["achieved"], false);
    assert_eq!(goal["patientMark"]["reached"], true);
    assert_eq!(goal["patientMark"]["byDelegate"], false);
    // The home measurement is never among the clinic's measurements.
    assert_eq!(plan["current"]["measurements"], clinic_measurements);
    assert_eq!(count(&app, "patient_entries"), 4);

    // The clinicians of the patient's clinic read them (audited); another clinic and a region
    // do not.
    let q = "query($cpr: String!) { patient(cpr: $cpr) { plans { id entries { kind note withdrawn } current { goals { text patientMark { reached } } } } } }";
    let own = app
        .graphql_as(&clinician("586964"), q, json!({ "cpr": WRITER }))
        .json();
    let entries = own["data"]["patient"]["plans"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == PLAN))
        .map(|p| p["entries"].clone())
        .expect("the clinic's view");
    assert_eq!(entries.as_array().map(Vec::len), Some(4), "{own}");
    let audit = audit_of(&app, WRITER);
    assert!(
        audit
            .iter()
            .any(|(role, _, types)| role == "clinician" && types.contains("PatientEntry")),
        "{audit:?}"
    );
    let other = app
        .graphql_as(&clinician("405289"), q, json!({ "cpr": WRITER }))
        .json();
    assert!(other["data"]["patient"].is_null(), "{other}");
    let region = app
        .graphql_as(&region("1083"), q, json!({ "cpr": WRITER }))
        .json();
    assert_eq!(code(&region), "FORBIDDEN", "{region}");
}

#[test]
fn every_bad_argument_is_named_with_its_rule_and_nothing_is_stored() {
    let app = loaded();
    let me = patient(WRITER);
    let long = "a".repeat(2_001);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            WRITE_NOTE,
            json!({ "id": "not-a-uuid", "plan": PLAN, "text": "x" }),
            "id:",
        ),
        (
            WRITE_NOTE,
            json!({ "id": uuid(9), "plan": "KIAP:no-such-plan", "text": "x" }),
            "plan: no such plan",
        ),
        (
            WRITE_NOTE,
            json!({ "id": uuid(9), "plan": "nonsense", "text": "x" }),
            "plan: no such plan",
        ),
        // Someone else's plan is answered exactly as one that does not exist.
        (
            WRITE_NOTE,
            json!({ "id": uuid(9), "plan": NEIGHBOUR_PLAN, "text": "x" }),
            "plan: no such plan",
        ),
        (
            WRITE_NOTE,
            json!({ "id": uuid(9), "plan": PLAN, "text": "" }),
            "text: must not be empty",
        ),
        (
            WRITE_NOTE,
            json!({ "id": uuid(9), "plan": PLAN, "text": " \n " }),
            "text: must not be empty",
        ),
        (
            WRITE_NOTE,
            json!({ "id": uuid(9), "plan": PLAN, "text": long }),
            "text: is 2001 characters",
        ),
        (
            WRITE_NOTE,
            json!({ "id": uuid(9), "plan": PLAN, "text": "a\u{1b}[31m" }),
            "text: must be plain text",
        ),
        (
            ADD_MEASUREMENT,
            json!({ "id": uuid(9), "plan": PLAN, "code": "HBA1C", "value": 50, "measuredOn": day(0) }),
            "code: HBA1C is measured at the clinic",
        ),
        (
            ADD_MEASUREMENT,
            json!({ "id": uuid(9), "plan": PLAN, "code": "BP_SYS", "value": 400, "measuredOn": day(0) }),
            "value:",
        ),
        (
            ADD_MEASUREMENT,
            json!({ "id": uuid(9), "plan": PLAN, "code": "WEIGHT", "value": 80, "measuredOn": day(1) }),
            "measuredOn:",
        ),
        (
            ADD_MEASUREMENT,
            json!({ "id": uuid(9), "plan": PLAN, "code": "WEIGHT", "value": 80, "measuredOn": day(-400) }),
            "measuredOn:",
        ),
        (
            MARK_GOAL,
            json!({ "id": uuid(9), "plan": PLAN, "goalText": "Løbe et maraton", "goalSetOn": GOAL.1, "reached": true }),
            "goalText:",
        ),
        // The goal of version 1 is not on the current version (its date differs).
        (
            MARK_GOAL,
            json!({ "id": uuid(9), "plan": PLAN, "goalText": GOAL.0, "goalSetOn": "2020-11-30", "reached": true }),
            "goalText:",
        ),
        (
            WITHDRAW,
            json!({ "id": uuid(9), "entry": uuid(77) }),
            "entry: no such entry",
        ),
    ];
    for (doc, vars, want) in &cases {
        let r = app.graphql_as(&me, doc, vars.clone()).json();
        assert_eq!(code(&r), "BAD_USER_INPUT", "{vars}: {r}");
        assert!(message(&r).starts_with(want), "{vars}: {r}");
        assert!(r["data"].is_null(), "{r}");
    }
    assert_eq!(count(&app, "patient_entries"), 0);

    // A plan whose current version is not active takes no entries: a later version completes
    // the neighbour's plan.
    let feed = tempfile::tempdir().expect("dir");
    std::fs::write(
        feed.path().join("plans.ndjson"),
        json!({"source": "KIAP", "plan_id": "KIAP-4321a84055", "version": 9, "cpr": NEIGHBOUR,
            "ydernummer": "586964", "type": "DM2", "created_at": "2022-09-01T10:00:00+02:00",
            "status": "completed", "next_control": null, "goals": [], "measurements": []})
        .to_string()
            + "\n",
    )
    .expect("write");
    app.import(feed.path());
    let r = note(&app, &patient(NEIGHBOUR), &uuid(10), NEIGHBOUR_PLAN, "x");
    assert_eq!(code(&r), "BAD_USER_INPUT", "{r}");
    assert!(
        message(&r).contains("COMPLETED") || message(&r).contains("completed"),
        "{r}"
    );

    // A withdrawal cannot be withdrawn, and an entry is withdrawn once.
    assert!(note(&app, &me, &uuid(11), PLAN, "first")["errors"].is_null());
    let w = |id: u32, entry: u32| {
        app.graphql_as(
            &me,
            WITHDRAW,
            json!({ "id": uuid(id), "entry": uuid(entry) }),
        )
        .json()
    };
    assert!(w(12, 11)["errors"].is_null());
    assert!(message(&w(13, 12)).starts_with("entry: a withdrawal cannot be withdrawn"));
    assert!(message(&w(14, 11)).starts_with("entry: is withdrawn already"));
    // The same withdrawal sent again is the stored one, not a second withdrawal.
    assert!(w(12, 11)["errors"].is_null());
    assert_eq!(count(&app, "patient_entries"), 2);
}

#[test]
fn the_same_id_again_answers_the_stored_entry_across_a_restart_and_other_content_conflicts() {
    let app = loaded();
    let me = patient(WRITER);
    let first = measurement(&app, &me, &uuid(1), "WEIGHT", 81.5, &day(0));
    let again = measurement(&app, &me, &uuid(1), "WEIGHT", 81.5, &day(0));
    assert_eq!(
        first, again,
        "the retry answers the stored entry, its time too"
    );
    let other = measurement(&app, &me, &uuid(1), "WEIGHT", 82.0, &day(0));
    assert_eq!(code(&other), "CONFLICT", "{other}");
    assert!(message(&other).starts_with("id:"), "{other}");
    // The same id on another kind of entry is other content too.
    let r = note(&app, &me, &uuid(1), PLAN, "x");
    assert_eq!(code(&r), "CONFLICT", "{r}");
    assert_eq!(count(&app, "patient_entries"), 1);

    let app = app.restarted();
    let after = measurement(&app, &me, &uuid(1), "WEIGHT", 81.5, &day(0));
    assert_eq!(first, after, "after a restart");
    assert_eq!(count(&app, "patient_entries"), 1);
    // One audit record of the write, however often it was sent.
    let writes = audit_of(&app, WRITER)
        .into_iter()
        .filter(|(_, _, types)| types == "PatientEntry")
        .count();
    assert!(writes >= 1, "the write is audited");
}

#[test]
fn entries_are_append_only_in_the_database_and_a_late_supplier_version_keeps_the_mark() {
    let app = loaded();
    let me = patient(WRITER);
    assert!(mark(&app, &me, &uuid(1), true)["errors"].is_null());
    for sql in [
        "UPDATE patient_entries SET reached = false",
        "DELETE FROM patient_entries",
    ] {
        let refused = execute(&app, sql).expect_err(sql);
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    assert_eq!(count(&app, "patient_entries"), 1);

    // The supplier delivers version 3 with the same goal (and a new one): the mark follows
    // the goal; the new goal has none; the entry is still there.
    let feed = tempfile::tempdir().expect("dir");
    std::fs::write(
        feed.path().join("plans.ndjson"),
        json!({"source": "KIAP", "plan_id": "KIAP-2d418bfbb0", "version": 3, "cpr": WRITER,
            "ydernummer": "586964", "type": "KOL", "created_at": "2022-10-01T10:00:00+02:00",
            "status": "active", "next_control": "2023-10-01",
            "goals": [{"text": GOAL.0, "set_on": GOAL.1, "achieved": true},
                      {"text": "Gå en tur hver dag", "set_on": "2022-10-01", "achieved": false}],
            "measurements": []})
        .to_string()
            + "\n",
    )
    .expect("write");
    app.import(feed.path());
    let r = app.graphql_as(&me, MY_PLANS, json!({})).json();
    let plan = plan_of(&r, PLAN);
    assert_eq!(plan["current"]["version"], 3, "{r}");
    let goals = plan["current"]["goals"].as_array().expect("goals");
    assert_eq!(goals[0]["achieved"], true, "the clinic's word");
    assert_eq!(
        goals[0]["patientMark"]["reached"], true,
        "the patient's mark"
    );
    assert!(goals[1]["patientMark"].is_null());
    assert_eq!(plan["entries"].as_array().map(Vec::len), Some(1));
    // A later mark replaces the earlier one's say; both stay in the history.
    assert!(mark(&app, &me, &uuid(2), false)["errors"].is_null());
    let r = app.graphql_as(&me, MY_PLANS, json!({})).json();
    let plan = plan_of(&r, PLAN);
    assert_eq!(plan["current"]["goals"][0]["patientMark"]["reached"], false);
    assert_eq!(plan["entries"].as_array().map(Vec::len), Some(2));
}

#[test]
fn only_a_patient_writes_and_only_over_post() {
    let app = loaded();
    let vars = json!({ "id": uuid(1), "plan": PLAN, "text": "x" });
    for (who, token) in [
        ("clinician", clinician("586964")),
        ("region", region("1083")),
        ("ministry", helpers::ministry()),
        ("supplier", helpers::token(Actor::Supplier(Source::Kiap))),
    ] {
        let r = app.graphql_as(&token, WRITE_NOTE, vars.clone()).json();
        assert_eq!(code(&r), "FORBIDDEN", "{who}: {r}");
    }
    // A mutation over GET is refused before anything runs.
    let id = forloeb_gateway::trusted::document_id(WRITE_NOTE);
    let path = format!(
        "/graphql?documentId={id}&variables={}",
        urlencode(&vars.to_string())
    );
    let r = app.get_with(
        &path,
        &[("authorization", &format!("Bearer {}", patient(WRITER)))],
    );
    assert_eq!(r.status, 405, "{}", r.body);
    // A patient's own document is refused (trusted documents only), mutation or not.
    let r = app
        .graphql_as(
            &patient(WRITER),
            "mutation { writeNote(id: \"00000000-0000-4000-8000-000000000001\", plan: \"KIAP:KIAP-2d418bfbb0\", text: \"x\") { id } }",
            json!({}),
        )
        .json();
    assert_eq!(code(&r), "PERSISTED_QUERY_REQUIRED", "{r}");
    assert_eq!(count(&app, "patient_entries"), 0);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn a_supplier_reads_the_entries_on_its_own_plans_from_a_cursor_and_nothing_else() {
    let app = loaded();
    let me = patient(WRITER);
    for n in 1..=5 {
        assert!(note(&app, &me, &uuid(n), PLAN, &format!("note {n}"))["errors"].is_null());
    }
    let kiap = helpers::token_of("kiap-system", Actor::Supplier(Source::Kiap));
    let page = |after: Option<&str>| {
        app.graphql_as(&kiap, ENTRIES_SINCE, json!({ "first": 2, "after": after }))
            .json()
    };
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let r = page(after.as_deref());
        let conn = &r["data"]["patientEntries"];
        for e in conn["edges"].as_array().expect("edges") {
            assert_eq!(e["node"]["planId"], "KIAP-2d418bfbb0");
            seen.push(e["node"]["note"].as_str().expect("note").to_string());
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, ["note 1", "note 2", "note 3", "note 4", "note 5"]);
    // From the last cursor: nothing new until the next entry.
    let r = page(after.as_deref());
    let last = r["data"]["patientEntries"]["pageInfo"]["endCursor"]
        .as_str()
        .map(str::to_string);
    let r = page(last.as_deref());
    assert_eq!(r["data"]["patientEntries"]["edges"], json!([]), "{r}");
    // Audited as a supplier read of the patient.
    assert!(audit_of(&app, WRITER)
        .iter()
        .any(|(role, sub, _)| role == "supplier" && sub == "kiap-system"));

    // Another source's system reads none of them; a bad cursor is named.
    let plsp = helpers::token(Actor::Supplier(Source::Plsp));
    let r = app
        .graphql_as(&plsp, ENTRIES_SINCE, json!({ "first": 100 }))
        .json();
    assert_eq!(r["data"]["patientEntries"]["edges"], json!([]), "{r}");
    let r = app
        .graphql_as(&kiap, ENTRIES_SINCE, json!({ "first": 100, "after": "x" }))
        .json();
    assert!(message(&r).starts_with("after:"), "{r}");
    // And a supplier still reads nothing else: no document of its own, and no other trusted
    // one.
    let r = app
        .graphql_as(
            &kiap,
            "query($cpr: String!) { patient(cpr: $cpr) { cpr } }",
            json!({ "cpr": WRITER }),
        )
        .json();
    assert_eq!(code(&r), "PERSISTED_QUERY_REQUIRED", "{r}");
    let r = app.graphql_as(&kiap, MY_PLANS, json!({})).json();
    assert_eq!(code(&r), "FORBIDDEN", "{r}");
    assert!(!r.to_string().contains(WRITER), "{r}");
    // Nor does anyone else read the supplier's list.
    for token in [clinician("586964"), me.clone()] {
        let r = app
            .graphql_as(&token, ENTRIES_SINCE, json!({ "first": 100 }))
            .json();
        assert_eq!(code(&r), "FORBIDDEN", "{r}");
    }
}

/// Delegates of the writer, on the day the test runs (Copenhagen): each row is (delegate,
/// valid_from, valid_to, revoked_on) relative to today.
fn delegations(app: &TestApp, rows: &[(&str, i64, Option<i64>, Option<i64>)]) {
    let feed = tempfile::tempdir().expect("dir");
    let lines: String = rows
        .iter()
        .map(|(delegate, from, to, revoked)| {
            json!({"grantor": WRITER, "delegate": delegate, "scope": "forloebsplaner",
                "valid_from": day(*from), "valid_to": to.map(day),
                "revoked_on": revoked.map(day)})
            .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(feed.path().join("delegations.ndjson"), lines).expect("write");
    app.import(feed.path());
}

#[test]
fn a_delegate_acts_for_the_grantor_only_on_the_days_the_delegation_holds() {
    let app = loaded();
    // Invented delegates (valid CPR numbers with no data of their own) and the neighbour,
    // who has plans of their own.
    let starts_today = NEIGHBOUR;
    let ended_today = "0101010101";
    let revoked_today = "0202020202";
    let starts_tomorrow = "0303030303";
    let current = "0404040404";
    for c in [ended_today, revoked_today, starts_tomorrow, current] {
        Cpr::parse(c).expect("a valid CPR number");
    }
    delegations(
        &app,
        &[
            (starts_today, 0, None, None),
            (ended_today, -30, Some(0), None),
            (revoked_today, -30, None, Some(0)),
            (starts_tomorrow, 1, None, None),
            (current, -30, Some(30), Some(31)),
        ],
    );
    let grantor_plan = |token: &str| -> Value {
        app.graphql_as(token, ACTING_FOR, json!({})).json()["data"]["me"]["actingFor"].clone()
    };
    for holder in [starts_today, current] {
        let token = helpers::token_of(
            &format!("sub-{holder}"),
            Actor::Patient(Cpr::parse(holder).expect("cpr")),
        );
        let people = grantor_plan(&token);
        assert_eq!(
            people.as_array().map(Vec::len),
            Some(1),
            "{holder}: {people}"
        );
        let plans = people[0]["plans"].as_array().expect("plans");
        assert!(plans.iter().any(|p| p["id"] == PLAN), "{people}");
        // Never the CPR number: the opaque id.
        assert!(!people.to_string().contains(WRITER));
    }
    for stranger in [ended_today, revoked_today, starts_tomorrow] {
        let token = patient(stranger);
        assert_eq!(grantor_plan(&token), json!([]), "{stranger}");
        // Writing on the grantor's plan is answered as for a plan that does not exist.
        let r = note(&app, &token, &uuid(50), PLAN, "x");
        assert!(
            message(&r).starts_with("plan: no such plan"),
            "{stranger}: {r}"
        );
    }

    // The delegate who is also a patient: their own plans stay theirs alone in MyPlans, and
    // they write for the grantor, recorded as by the delegate.
    let delegate_sub = "the-neighbour";
    let delegate = helpers::token_of(
        delegate_sub,
        Actor::Patient(Cpr::parse(starts_today).expect("cpr")),
    );
    let own = app.graphql_as(&delegate, MY_PLANS, json!({})).json();
    let own_ids: Vec<&str> = own["data"]["me"]["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert!(
        own_ids.contains(&NEIGHBOUR_PLAN) && !own_ids.contains(&PLAN),
        "{own_ids:?}"
    );
    let r = note(
        &app,
        &delegate,
        &uuid(60),
        PLAN,
        "Skrevet af fuldmagtshaver",
    );
    assert_eq!(r["data"]["writeNote"]["byDelegate"], true, "{r}");
    let r = app.graphql_as(&patient(WRITER), MY_PLANS, json!({})).json();
    let entry = &plan_of(&r, PLAN)["entries"][0];
    assert_eq!(entry["byDelegate"], true);
    // Withdrawn by the grantor themself.
    let r = app
        .graphql_as(
            &patient(WRITER),
            WITHDRAW,
            json!({ "id": uuid(61), "entry": uuid(60) }),
        )
        .json();
    assert!(r["errors"].is_null(), "{r}");

    // The audit: the delegate's read of the grantor is one record per person, naming the
    // delegate as the reader; the grantor's access log shows it as a power-of-attorney
    // holder's.
    let before = audit_of(&app, WRITER).len();
    let read = app.graphql_as(&delegate, ACTING_FOR, json!({})).json();
    assert!(read["errors"].is_null(), "{read}");
    let added: Vec<_> = audit_of(&app, WRITER).into_iter().skip(before).collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(added[0].0, "delegate");
    assert_eq!(added[0].1, delegate_sub);
    assert!(
        added[0].2.contains("CarePlan") && added[0].2.contains("PatientEntry"),
        "{added:?}"
    );
    let log = app
        .graphql_as(&patient(WRITER), ACCESS_LOG, json!({ "first": 50 }))
        .json();
    let roles: Vec<&str> = log["data"]["myAccessLog"]
        .as_array()
        .expect("log")
        .iter()
        .map(|e| e["role"].as_str().expect("role"))
        .collect();
    assert!(roles.contains(&"delegate"), "{roles:?}");
    // The delegate's own access log holds only reads of their own data.
    let theirs = app
        .graphql_as(&delegate, ACCESS_LOG, json!({ "first": 50 }))
        .json();
    assert!(
        !theirs.to_string().contains("delegate"),
        "the delegate's reads of the grantor are not in their own log: {theirs}"
    );

    // Revoked from today on: the delegate is a stranger at once.
    delegations(&app, &[(starts_today, 0, None, Some(0))]);
    assert_eq!(grantor_plan(&delegate), json!([]));
    let r = note(&app, &delegate, &uuid(62), PLAN, "x");
    assert!(message(&r).starts_with("plan: no such plan"), "{r}");
    // Their own plans are still theirs.
    let r = note(&app, &delegate, &uuid(63), NEIGHBOUR_PLAN, "min egen");
    assert!(r["errors"].is_null(), "{r}");
}

#[test]
fn writes_have_a_budget_of_their_own() {
    let app = loaded_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.writes.burst = 3;
        s.rate_limit.writes.per_second = 0.01;
    });
    let me = patient(WRITER);
    for n in 1..=3 {
        assert!(note(&app, &me, &uuid(n), PLAN, "x")["errors"].is_null());
    }
    let r = app.graphql_as(
        &me,
        WRITE_NOTE,
        json!({ "id": uuid(4), "plan": PLAN, "text": "x" }),
    );
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "RATE_LIMITED");
    assert!(r.header("retry-after").is_some());
    // Reads go on.
    let r = app.graphql_as(&me, MY_PLANS, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(count(&app, "patient_entries"), 3);
}

#[test]
fn an_entry_whose_audit_record_cannot_be_written_is_not_stored_either() {
    let app = loaded();
    let me = patient(WRITER);
    // The audit table refuses every row, as a full disk or a broken audit store would.
    let (refuse, allow) = if app.db.is_postgres() {
        (
            vec![
                "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'the audit store is full'; END $$",
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
                 FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
            ],
            "DROP TRIGGER refuse_audit ON audit_log",
        )
    } else {
        (
            vec![
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
                 BEGIN SELECT RAISE(ABORT, 'the audit store is full'); END",
            ],
            "DROP TRIGGER refuse_audit",
        )
    };
    for sql in refuse {
        execute(&app, sql).expect(sql);
    }
    let r = note(&app, &me, &uuid(1), PLAN, "x");
    assert_eq!(code(&r), "INTERNAL", "{r}");
    assert_eq!(
        count(&app, "patient_entries"),
        0,
        "neither the entry nor its record"
    );
    execute(&app, allow).expect(allow);
    // The app sends it again: now both are stored.
    let r = note(&app, &me, &uuid(1), PLAN, "x");
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(count(&app, "patient_entries"), 1);
    assert!(audit_of(&app, WRITER)
        .iter()
        .any(|(role, _, types)| role == "patient" && types == "PatientEntry"));
}
