//! Liveness and readiness, including readiness across a database outage.

use crate::helpers::{spawn_app, spawn_on, test_settings, Relay, TestDb, POSTGRES_ENV};
use std::time::Duration;

#[test]
fn live_and_ready() {
    let app = spawn_app();
    let r = app.get("/health/live");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "live");
    let r = app.get("/health/ready");
    assert_eq!(r.status, 200);
    let backend = if app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(r.json()["database"], backend);
}

fn wait_for_status(app: &crate::helpers::TestApp, want: u16) -> u16 {
    let mut last = 0;
    for _ in 0..20 {
        last = app.get("/health/ready").status;
        if last == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    last
}

#[test]
fn readiness_follows_a_postgres_outage_without_restart() {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        eprintln!("skipped: needs {POSTGRES_ENV} (runs in CI's PostgreSQL pass)");
        return;
    };
    let db = TestDb::postgres(&base);
    let (relay, via_relay) = Relay::to_database(&base, &db);
    let mut settings = test_settings(&via_relay);
    settings.database.ready_timeout_ms = 500;
    settings.database.connect_timeout_secs = 1;
    let app = spawn_on(db, settings);

    assert_eq!(app.get("/health/ready").status, 200);
    relay.cut();
    assert_eq!(wait_for_status(&app, 503), 503);
    assert_eq!(
        app.get("/health/live").status,
        200,
        "liveness does not depend on the database"
    );
    relay.restore();
    assert_eq!(wait_for_status(&app, 200), 200);
    let r = app.graphql("{ __typename }", serde_json::json!({}));
    assert_eq!(r.status, 200);
}
