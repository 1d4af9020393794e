//! Spawns the gateway on port 0 with a database of its own: a temporary SQLite file, or a
//! fresh PostgreSQL database when FORLOEB_TEST_POSTGRES_URL is set (dropped afterwards).

use diesel::{Connection, PgConnection, RunQueryDsl};
use forloeb_gateway::config::{Secret, Settings};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `forloeb` binary, with the process environment kept from steering it.
pub fn forloeb() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_forloeb"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FORLOEB_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

/// The committed feed fixture (see tests/fixtures/README.md).
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub const POSTGRES_ENV: &str = "FORLOEB_TEST_POSTGRES_URL";

/// A database that exists for one test.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    pub fn new() -> Self {
        match std::env::var(POSTGRES_ENV) {
            Ok(base) if !base.is_empty() => Self::postgres(&base),
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("test.db").display().to_string();
                Self::Sqlite { _dir: dir, url }
            }
        }
    }

    /// An embedded database in a directory of its own under `parent` (a small file system,
    /// say), whatever the suite's backend.
    pub fn sqlite_in(parent: &std::path::Path) -> Self {
        let dir = tempfile::tempdir_in(parent).expect("temp dir");
        let url = dir.path().join("test.db").display().to_string();
        Self::Sqlite { _dir: dir, url }
    }

    pub fn postgres(base: &str) -> Self {
        let name = format!("forloeb_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(base).expect("connect to test PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        Self::Postgres {
            url: with_database(base, &name),
            admin_url: base.to_string(),
            name,
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    pub fn postgres_name(&self) -> Option<&str> {
        match self {
            Self::Postgres { name, .. } => Some(name),
            Self::Sqlite { .. } => None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
        {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// The parts of a PostgreSQL URL the tests rewrite.
pub struct PgUrl {
    scheme: String,
    user: Option<String>,
    pub host_port: String,
    query: String,
}

impl PgUrl {
    pub fn parse(url: &str) -> Self {
        let (scheme, rest) = url.split_once("://").expect("postgres url");
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, format!("?{q}")),
            None => (rest, String::new()),
        };
        let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
        let (user, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let host_port = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:5432")
        };
        Self {
            scheme: scheme.to_string(),
            user,
            host_port,
            query,
        }
    }

    pub fn to_url(&self, host_port: &str, database: &str) -> String {
        let user = self
            .user
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!(
            "{}://{user}{host_port}/{database}{}",
            self.scheme, self.query
        )
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping host, credentials and parameters.
pub fn with_database(base: &str, name: &str) -> String {
    let parts = PgUrl::parse(base);
    parts.to_url(&parts.host_port, name)
}

/// The client request ids (`x-request-id`) the audit of the database at `db_url` holds.
pub fn audited_client_ids(db_url: &str) -> std::collections::HashSet<String> {
    use diesel::prelude::*;
    use forloeb_gateway::db::tables::audit_log;
    let db = forloeb_gateway::db::Db::connect(&test_settings(db_url).database).expect("database");
    let mut conn = db.get().expect("connection");
    forloeb_gateway::on_backend!(&mut *conn, |c| audit_log::table
        .select(audit_log::client_request_id)
        .load::<Option<String>>(c))
    .expect("audit")
    .into_iter()
    .flatten()
    .collect()
}

pub fn test_settings(db_url: &str) -> Settings {
    let mut s = Settings::load_from(None, Vec::new()).expect("default settings");
    s.database.url = Secret::new(db_url);
    s.database.pool_size = 3;
    s.server.bind = "127.0.0.1:0".into();
    s.server.workers = 1;
    s.server.shutdown_timeout_secs = 1;
    // Tests of other things send ad-hoc documents as every role and many requests a second;
    // the trusted-document and rate-limit tests turn the defaults back on.
    s.documents.ad_hoc_roles = forloeb_gateway::auth::Role::ALL.to_vec();
    s.rate_limit.enabled = false;
    // Likewise they ask many controlled counts; the disclosure tests use the shipped budget.
    s.access.cell_budget.clinician = 1_000_000;
    s.access.cell_budget.region = 1_000_000;
    s.access.cell_budget.ministry = 1_000_000;
    // Not the demo secret, which is refused next to a JWKS (the auth tests configure one).
    s.access.record_key_secret = Secret::new("7465".repeat(16));
    s
}

/// The shipped defaults for documents and rate limits, as a production config starts.
pub fn shipped_defaults(s: &mut Settings) {
    let d = Settings::load_from(None, Vec::new()).expect("default settings");
    s.documents = d.documents;
    s.rate_limit = d.rate_limit;
    s.access.cell_budget = d.access.cell_budget;
}

/// A running gateway. Dropping it stops the server, then removes its database.
pub struct TestApp {
    pub addr: SocketAddr,
    /// `/metrics`' own address, when `server.metrics_bind` is set.
    pub metrics_addr: Option<SocketAddr>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    pub db: TestDb,
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

pub fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::new();
    let mut settings = test_settings(db.url());
    tweak(&mut settings);
    spawn_on(db, settings)
}

/// A gateway with the demonstration data (`forloeb demo`): 60 clinics of the national shape,
/// or FORLOEB_TEST_DEMO_CLINICS of them (1693 for the national scale).
pub fn spawn_with_demo(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let app = spawn_app_with(tweak);
    let clinics = std::env::var("FORLOEB_TEST_DEMO_CLINICS").unwrap_or_else(|_| "60".into());
    let dir = tempfile::tempdir().expect("temp dir");
    load_demo(
        &app,
        &["--clinics", &clinics],
        &dir.path().join("demo-tokens.json"),
    );
    app
}

/// `forloeb demo --no-serve` into the app's database with `args`, its tokens written to
/// `tokens_file`; returns what it printed.
pub fn load_demo(app: &TestApp, args: &[&str], tokens_file: &std::path::Path) -> String {
    let out = forloeb()
        .args(["demo", "--no-serve", "--database", app.db.url()])
        .args(args)
        .arg("--tokens-file")
        .arg(tokens_file)
        .output()
        .expect("demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn spawn_on(db: TestDb, settings: Settings) -> TestApp {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let started = forloeb_gateway::app::start(&settings).expect("gateway starts");
            tx.send((started.addr, started.metrics_addr, started.server.handle()))
                .expect("report address");
            started.server.await.expect("server runs");
        })
    });
    let (addr, metrics_addr, handle) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("gateway started");
    TestApp {
        addr,
        metrics_addr,
        handle,
        thread: Some(thread),
        db,
    }
}

impl TestApp {
    /// The server stopped and started again on the same database, with the test settings.
    pub fn restarted(mut self) -> TestApp {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let db = std::mem::take(&mut self.db);
        drop(self);
        let settings = test_settings(db.url());
        spawn_on(db, settings)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A response read whole, whatever its status.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub request_id: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// `errors[0].extensions.code`
    pub fn error_code(&self) -> String {
        self.json()["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

fn read(result: Result<ureq::Response, ureq::Error>) -> Reply {
    let res = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let headers = res
        .headers_names()
        .into_iter()
        .map(|n| {
            let v = res.header(&n).unwrap_or_default().to_string();
            (n, v)
        })
        .collect();
    Reply {
        status: res.status(),
        content_type: res.content_type().to_string(),
        request_id: res.header("x-request-id").map(String::from),
        headers,
        body: res.into_string().expect("body"),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn get(&self, path: &str) -> Reply {
        read(agent().get(&self.url(path)).call())
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = agent().get(&self.url(path));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        read(req.call())
    }

    /// Any method, with the given headers and no body (a CORS preflight is an OPTIONS).
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = agent().request(method, &self.url(path));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        read(req.call())
    }

    /// POST a raw body with the given headers.
    pub fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut req = agent().post(&self.url(path));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        read(req.send_string(body))
    }

    /// POST a GraphQL request with a bearer token.
    pub fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Reply {
        self.post_raw(
            "/graphql",
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {token}")),
            ],
            &json!({ "query": query, "variables": variables }).to_string(),
        )
    }

    /// Loads a feed folder into this app's database through the real `forloeb import`.
    pub fn import(&self, dir: &std::path::Path) {
        let out = forloeb()
            .args(["import", "--quiet", "--database", self.db.url()])
            .arg(dir)
            .output()
            .expect("run forloeb import");
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(2),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// POST a GraphQL request as application/json.
    pub fn graphql(&self, query: &str, variables: Value) -> Reply {
        self.post_raw(
            "/graphql",
            &[("content-type", "application/json")],
            &json!({ "query": query, "variables": variables }).to_string(),
        )
    }
}

/// A TCP relay between the gateway and PostgreSQL that the test can cut and restore: a real
/// outage as the gateway sees it, without stopping the machine's shared server.
pub struct Relay {
    pub port: u16,
    up: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    pub fn start(upstream: String) -> Self {
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

    /// A relay to the PostgreSQL server of `base`, and the URL of `db` through it.
    pub fn to_database(base: &str, db: &TestDb) -> (Self, String) {
        let parts = PgUrl::parse(base);
        let relay = Self::start(parts.host_port.clone());
        let url = parts.to_url(
            &format!("127.0.0.1:{}", relay.port),
            db.postgres_name().expect("a PostgreSQL test database"),
        );
        (relay, url)
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.live.lock().expect("lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
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

/// A demo token (HS256, default test settings) for a principal.
pub fn token(actor: forloeb_gateway::auth::Actor) -> String {
    token_of("test-user", actor)
}

/// A demo token for a principal with a `sub` of its own (rate limits are per `sub`).
pub fn token_of(sub: &str, actor: forloeb_gateway::auth::Actor) -> String {
    let settings = test_settings("unused.db");
    let principal = forloeb_gateway::auth::Principal::new(sub, actor);
    forloeb_gateway::auth::Authenticator::mint(&settings.auth, &principal, Duration::from_secs(600))
        .expect("mint")
}

pub fn ministry() -> String {
    token(forloeb_gateway::auth::Actor::Ministry)
}

pub fn clinician(ydernummer: &str) -> String {
    token(forloeb_gateway::auth::Actor::Clinician(
        forloeb_gateway::domain::Ydernummer::parse(ydernummer).expect("ydernummer"),
    ))
}

pub fn patient(cpr: &str) -> String {
    token(forloeb_gateway::auth::Actor::Patient(
        forloeb_gateway::domain::Cpr::parse(cpr).expect("cpr"),
    ))
}

pub fn region(code: &str) -> String {
    token(forloeb_gateway::auth::Actor::Region(
        forloeb_gateway::domain::RegionCode::parse(code).expect("region"),
    ))
}
