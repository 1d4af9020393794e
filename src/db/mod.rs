//! One database code path over embedded SQLite and PostgreSQL: a diesel `MultiConnection`
//! enum, an r2d2 pool that picks the backend from the URL, migrations per backend, and
//! `Db::run` to keep diesel's blocking calls off the async workers.

mod connection;
mod migrate;
pub mod sql;
pub mod tables;

pub use connection::{statements_executed, Backend, DbConnection, DbUrl};
pub use migrate::run_migrations;

use crate::config::DatabaseSettings;
use diesel::r2d2::{self, Pool, PooledConnection};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use std::time::Duration;

/// Runs the same diesel code on whichever concrete connection `conn` holds, for statements
/// the `MultiConnection` cannot express (`ON CONFLICT`). The body is compiled once per backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgres($c) => $body,
        }
    };
}

pub type DbPool = Pool<connection::Manager>;
pub type PooledConn = PooledConnection<connection::Manager>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("invalid database url: {0}")]
    Url(String),
    #[error("database task was cancelled")]
    Cancelled,
}

impl DbError {
    /// A stored value did not parse into its domain type as a row was read (a row written by
    /// hand, or by a bug): the row is refused, never defaulted.
    pub fn is_unparsable(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DeserializationError(_))
        )
    }

    /// PostgreSQL cancelled the statement at `database.statement_timeout_ms`.
    pub fn is_statement_timeout(&self) -> bool {
        // diesel does not expose the SQLSTATE (57014); the message is PostgreSQL's own, and
        // the gateway's connections are not localized (lc_messages comes from the server,
        // so a localized server only loses the TIMEOUT code, not the cancellation).
        matches!(self, DbError::Query(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("statement timeout"))
    }
}

/// Marks that stored feed data changed (call inside the writing transaction).
pub fn bump_data_version(conn: &mut DbConnection) -> Result<(), DbError> {
    use tables::data_version::dsl::{data_version, version};
    diesel::update(data_version)
        .set(version.eq(version + 1))
        .execute(conn)?;
    Ok(())
}

/// The current data version (see `bump_data_version`).
pub fn data_version(conn: &mut DbConnection) -> Result<i64, DbError> {
    use tables::data_version::dsl::{data_version, version};
    Ok(data_version.select(version).first(conn)?)
}

/// Which connections a request uses: the shared pool, or the few kept for patients' own
/// reads (and readiness), which no dashboard or ad-hoc question can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Shared,
    Reserved,
}

/// The pools and what they connect to. Cheap to clone; a clone may be switched to the
/// reserved lane (`Db::reserved`) for one request.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    reserved: Option<DbPool>,
    lane: Lane,
    backend: Backend,
    ready_timeout: Duration,
}

impl Db {
    /// Connects (failing fast when the database is unreachable) and keeps `pool_size`
    /// connections. It does not migrate; see `run_migrations`.
    pub fn connect(settings: &DatabaseSettings) -> Result<Self, DbError> {
        let url = DbUrl::parse(settings.url.expose())?;
        let backend = url.backend();
        let build = |size: u32| {
            let manager = connection::Manager::new(
                url.clone(),
                settings.sqlite_busy_timeout_ms,
                settings.statement_timeout_ms,
            );
            Pool::builder()
                .max_size(size)
                .connection_timeout(Duration::from_secs(settings.connect_timeout_secs))
                // A connection that went bad while idle (database restarted) is replaced on
                // checkout.
                .test_on_check_out(true)
                .error_handler(Box::new(r2d2::LoggingErrorHandler))
                .build(manager)
                .map_err(|e| DbError::Unavailable(e.to_string()))
        };
        let pool = build(settings.pool_size)?;
        let reserved = match settings.reserved_pool_size {
            0 => None,
            n => Some(build(n)?),
        };
        Ok(Self {
            pool,
            reserved,
            lane: Lane::Shared,
            backend,
            ready_timeout: Duration::from_millis(settings.ready_timeout_ms),
        })
    }

    /// This database on the reserved lane (the shared pool when none is set apart).
    pub fn reserved(&self) -> Self {
        Self {
            lane: Lane::Reserved,
            ..self.clone()
        }
    }

    fn lane_pool(&self) -> &DbPool {
        match (self.lane, &self.reserved) {
            (Lane::Reserved, Some(p)) => p,
            _ => &self.pool,
        }
    }

    /// Connections of the pools (the shared one and the reserved lane's): in use, idle.
    pub fn connections(&self) -> (u32, u32) {
        [Some(&self.pool), self.reserved.as_ref()]
            .into_iter()
            .flatten()
            .map(|p| p.state())
            .fold((0, 0), |(used, idle), s| {
                (
                    used + s.connections.saturating_sub(s.idle_connections),
                    idle + s.idle_connections,
                )
            })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let pool = self.lane_pool().clone();
        // The call's span (waiting for a connection, then its statements) under the request's,
        // on the blocking thread that runs it.
        let span = tracing::debug_span!("db");
        actix_web::rt::task::spawn_blocking(move || {
            let _in = span.enter();
            let mut conn = checkout(&pool)?;
            f(&mut conn)
        })
        .await
        .unwrap_or_else(|e| match e.try_into_panic() {
            // A panic in the work is a bug, not a cancelled query: it goes on up as the
            // panic it was (actix answers 500 and logs it), never as an ordinary error.
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(DbError::Cancelled),
        })
    }

    /// Synchronous access, on this lane, for the CLI (import, migrate), which has no async
    /// runtime to protect, and for threads of their own (the audit's writer).
    pub fn get(&self) -> Result<PooledConn, DbError> {
        checkout(self.lane_pool())
    }

    /// True when a connection can be had within the readiness timeout and answers `SELECT 1`.
    pub async fn is_ready(&self) -> bool {
        let pool = self.reserved().lane_pool().clone();
        let timeout = self.ready_timeout;
        actix_web::rt::task::spawn_blocking(move || {
            let Ok(mut conn) = pool.get_timeout(timeout) else {
                return false;
            };
            diesel::sql_query("SELECT 1").execute(&mut *conn).is_ok()
        })
        .await
        .unwrap_or(false)
    }
}

/// Stored values read back that did not parse, since the process started (`/metrics`).
static UNPARSABLE_STORED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn unparsable_stored_values() -> u64 {
    UNPARSABLE_STORED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Counts a stored value that did not parse (the reader reports it: an answer's error, or a
/// log line where no request waits).
pub fn count_unparsable_stored_value() {
    UNPARSABLE_STORED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// A connection from `pool`, timed for the metrics (a slow checkout is a request waiting for
/// a connection).
fn checkout(pool: &DbPool) -> Result<PooledConn, DbError> {
    let started = std::time::Instant::now();
    let conn = pool.get();
    crate::metrics::pool_checkout(started.elapsed().as_secs_f64(), conn.is_ok());
    conn.map_err(|e| DbError::Unavailable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_the_work_goes_on_up_as_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = crate::config::Settings::load_from(None, Vec::new()).expect("defaults");
        settings.database.url =
            crate::config::Secret::new(dir.path().join("p.db").display().to_string());
        let db = Db::connect(&settings.database).expect("db");
        let ok = actix_web::rt::System::new().block_on(db.run(|_| Ok(7)));
        assert_eq!(ok.ok(), Some(7));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            actix_web::rt::System::new()
                .block_on(db.run(|_| -> Result<(), DbError> { panic!("a bug in the work") }))
        }));
        let panic = caught.expect_err("the panic is raised again, not an error");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"a bug in the work"));
    }
}
