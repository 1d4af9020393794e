//! Liveness and readiness, including readiness across a database outage.

use crate::helpers::{spawn_app, spawn_on, test_settings, PgUrl, TestDb, POSTGRES_ENV};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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

/// A TCP relay between the gateway and PostgreSQL that the test can cut and restore: a real
/// outage as the gateway sees it, without stopping the machine's shared server.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, live2) = (up.clone(), live.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut tracked = live2.lock().expect("lock");
                for s in [&client, &server] {
                    if let Ok(c) = s.try_clone() {
                        tracked.push(c);
                    }
                }
                pipe(&client, &server);
                pipe(&server, &client);
            }
        });
        Self { port, up, live }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.live.lock().expect("lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(from: &TcpStream, to: &TcpStream) {
    let (mut from, mut to) = (
        from.try_clone().expect("clone"),
        to.try_clone().expect("clone"),
    );
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
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
    let parts = PgUrl::parse(&base);
    let relay = Relay::start(parts.host_port.clone());
    let via_relay = parts.to_url(
        &format!("127.0.0.1:{}", relay.port),
        db.postgres_name().expect("a PostgreSQL test database"),
    );
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
