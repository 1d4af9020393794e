//! The connection enum and the pool's connection manager.

use super::DbError;
use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// One connection type for both backends. Queries that need backend-specific SQL match on it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// A database URL whose backend is decided by its form, never by trying: `postgres://…` or
/// `postgresql://…` is PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a plain path is SQLite.
#[derive(Clone)]
pub enum DbUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DbUrl {
    pub fn parse(raw: &str) -> Result<Self, DbError> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_string()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() {
            return Err(DbError::Url("an SQLite URL needs a file path".into()));
        }
        if path.contains("://") {
            return Err(DbError::Url(
                "use postgres://… for PostgreSQL, or a file path / sqlite://PATH for SQLite".into(),
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Safe to log: the SQLite path, or PostgreSQL's host and database without credentials.
impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            Self::Postgres(url) => {
                let rest = url.split_once("://").map_or("", |(_, r)| r);
                let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
                let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
                write!(f, "postgres://{rest}")
            }
        }
    }
}

pub struct Manager {
    url: DbUrl,
    busy_timeout_ms: u64,
    statement_timeout_ms: u64,
}

impl Manager {
    pub fn new(url: DbUrl, busy_timeout_ms: u64, statement_timeout_ms: u64) -> Self {
        Self {
            url,
            busy_timeout_ms,
            statement_timeout_ms,
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let mut conn = self.establish()?;
        let system = match self.url {
            DbUrl::Postgres(_) => "postgresql",
            DbUrl::Sqlite(_) => "sqlite",
        };
        conn.set_instrumentation(Statements { system, open: None });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        match conn {
            DbConnection::Postgres(c) => c.is_broken(),
            DbConnection::Sqlite(c) => c.is_broken(),
        }
    }
}

/// SQL statements executed by this process, for `/metrics` (and the test that no list grows
/// its statement count with its length).
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

pub fn statements_executed() -> u64 {
    STATEMENTS.load(Ordering::Relaxed)
}

/// Counts each statement, and gives it a span (`db.statement`, under the current one, when
/// there is one: a request's database call, never a background thread's) for traces. The span
/// names the statement's kind only (`SELECT`, `INSERT`…): its text can carry bound values.
struct Statements {
    system: &'static str,
    open: Option<tracing::Span>,
}

impl diesel::connection::Instrumentation for Statements {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                STATEMENTS.fetch_add(1, Ordering::Relaxed);
                if !tracing::Span::current().is_disabled() {
                    let mut kind = StatementKind::default();
                    // Stops at the first word: the rest (and the binds) is never formatted.
                    let _ = fmt::write(&mut kind, format_args!("{query}"));
                    self.open = Some(tracing::debug_span!(
                        "db.statement",
                        otel.kind = "client",
                        otel.name = kind.name(),
                        otel.status_code = tracing::field::Empty,
                        db.system = self.system,
                        db.operation = kind.name(),
                    ));
                }
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                if let Some(span) = self.open.take() {
                    if error.is_some() {
                        span.record("otel.status_code", "error");
                    }
                }
            }
            _ => {}
        }
    }
}

/// The first word of a statement, read from its text as it is formatted.
#[derive(Default)]
struct StatementKind {
    word: [u8; 12],
    len: usize,
    done: bool,
}

impl StatementKind {
    /// One of a fixed set of words, so that nothing of a statement's own text goes out.
    fn name(&self) -> &'static str {
        const KINDS: [&str; 14] = [
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "WITH",
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "SAVEPOINT",
            "RELEASE",
            "SET",
            "PRAGMA",
            "CREATE",
            "COPY",
        ];
        let word = self.word.get(..self.len).unwrap_or_default();
        KINDS
            .into_iter()
            .find(|k| k.as_bytes().eq_ignore_ascii_case(word))
            .unwrap_or("OTHER")
    }
}

impl fmt::Write for StatementKind {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b.is_ascii_whitespace() || b == b';' || b == b'(' {
                if self.len > 0 {
                    self.done = true;
                }
            } else if let Some(slot) = self.word.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            } else {
                self.done = true;
            }
            if self.done {
                // Ends the formatting early: nothing past the first word is needed.
                return Err(fmt::Error);
            }
        }
        Ok(())
    }
}

impl Manager {
    fn establish(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        match &self.url {
            DbUrl::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
                // PostgreSQL cancels a statement past this and the connection stays usable, so
                // a runaway query gives its connection back instead of holding it.
                if self.statement_timeout_ms > 0 {
                    conn.batch_execute(&format!(
                        "SET statement_timeout = {}",
                        self.statement_timeout_ms
                    ))
                    .map_err(diesel::r2d2::Error::QueryError)?;
                }
                Ok(DbConnection::Postgres(conn))
            }
            DbUrl::Sqlite(path) => {
                // A missing file is created (and migrated), a missing directory is not: a
                // misspelt path should fail, not scatter databases over the disk.
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    if !dir.is_dir() {
                        return Err(diesel::r2d2::Error::ConnectionError(
                            diesel::ConnectionError::BadConnection(format!(
                                "no directory {} for the database file {} (create it first)",
                                dir.display(),
                                path.display()
                            )),
                        ));
                    }
                }
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the one writer; foreign keys are off by default
                // in SQLite; the busy timeout turns lock contention into waiting, not errors.
                // The default 2 MB page cache made imports at national scale thrash once the
                // indexes outgrew it (random CPR keys): 64 MB keeps them in memory.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; \
                     PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
                    self.busy_timeout_ms
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url_form() {
        let b = |s| DbUrl::parse(s).map(|u| u.backend()).ok();
        assert_eq!(b("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(b("postgresql://h/db"), Some(Backend::Postgres));
        assert_eq!(b("forloeb.db"), Some(Backend::Sqlite));
        assert_eq!(b("sqlite:///tmp/x.db"), Some(Backend::Sqlite));
        assert_eq!(b("sqlite://rel.db"), Some(Backend::Sqlite));
        assert_eq!(b("mysql://h/db"), None);
        assert_eq!(b("sqlite://"), None);
    }

    #[test]
    fn display_hides_credentials() {
        let u = DbUrl::parse("postgres://user:hunter2@db.example:5432/forloeb?sslmode=require")
            .expect("url");
        assert_eq!(u.to_string(), "postgres://db.example:5432/forloeb");
        let u = DbUrl::parse("sqlite:///var/lib/f.db").expect("url");
        assert_eq!(u.to_string(), "sqlite:/var/lib/f.db");
    }
}
