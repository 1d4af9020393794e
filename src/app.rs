//! Startup shared by `forloeb serve` and the integration tests: connect, migrate, bind, serve.

use crate::access::{RecordKeys, DEMO_RECORD_KEY_SECRET};
use crate::auth::Authenticator;
use crate::config::{DatabaseSettings, Settings};
use crate::db::{run_migrations, Db, DbError};
use crate::facts::snapshot::Aggregates;
use crate::plans::patient_id::PatientIds;
use crate::ratelimit::RateLimiter;
use crate::schema::Served;
use crate::service::GraphqlService;
use crate::{http, schema};
use actix_web::dev::Server;
use std::net::{SocketAddr, TcpListener};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthConfigError),
    #[error(transparent)]
    PatientIdKey(#[from] crate::plans::patient_id::BadKey),
    #[error(transparent)]
    RecordKeySecret(#[from] crate::access::BadRecordKeySecret),
    #[error(
        "access.record_key_secret: the demonstration secret is refused when tokens come from \
         an identity provider; set your own (64 hex digits, e.g. `openssl rand -hex 32`), the \
         same in every replica"
    )]
    DemoRecordKeySecret,
    #[error("cannot start the audit's writer thread: {0}")]
    AuditWriter(std::io::Error),
    #[error(transparent)]
    RateLimit(#[from] crate::ratelimit::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// A server that is bound and migrated; await `server` to run it until shutdown.
pub struct Started {
    pub server: Server,
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `server.metrics_bind` names its own address.
    pub metrics_addr: Option<SocketAddr>,
    pub db: Db,
}

/// Must run inside an actix system (the server registers with it).
pub fn start(settings: &Settings) -> Result<Started, StartError> {
    start_with_demo_pages(settings, http::DemoPages::default())
}

/// As `start`, with GraphiQL opening on the demo's tabs and the dashboard offering its tokens.
pub fn start_with_demo_pages(
    settings: &Settings,
    demo: http::DemoPages,
) -> Result<Started, StartError> {
    let auth = Authenticator::new(&settings.auth)?;
    if auth.is_demo() {
        tracing::warn!(
            "tokens are checked with the shared HS256 demo key from the config: anyone who has \
             it can mint any token; configure auth.jwks_file for real use"
        );
    }
    // Migrations may rightly run longer than the statement timeout of the serving pool.
    let maintenance = DatabaseSettings {
        pool_size: 1,
        ..settings.database.unbounded()
    };
    let applied = run_migrations(&mut *Db::connect(&maintenance)?.get()?)?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "database migrated");
    }
    let db = Db::connect(&settings.database)?;
    let bind_error = |source| StartError::Bind {
        addr: settings.server.bind.clone(),
        source,
    };
    let listener = TcpListener::bind(&settings.server.bind).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let metrics_listener = match settings.server.metrics_bind.as_str() {
        "" => None,
        bind => Some(TcpListener::bind(bind).map_err(|source| StartError::Bind {
            addr: bind.to_string(),
            source,
        })?),
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()
        .map_err(bind_error)?;
    if !auth.is_demo() && settings.access.record_key_secret.expose() == DEMO_RECORD_KEY_SECRET {
        return Err(StartError::DemoRecordKeySecret);
    }
    let graphql = service(settings, db.clone())?;
    let limiter = RateLimiter::new(&settings.rate_limit)?;
    let listeners = http::Listeners {
        api: listener,
        metrics: metrics_listener,
    };
    let server =
        http::serve(listeners, settings, graphql, auth, limiter, demo).map_err(bind_error)?;
    Ok(Started {
        server,
        addr,
        metrics_addr,
        db,
    })
}

/// The GraphQL service on a migrated database: the schema the settings ask for (the whole
/// graph, or one subgraph) and the shared state its resolvers read. The benchmarks build the
/// same service.
pub fn service(settings: &Settings, db: Db) -> Result<GraphqlService, StartError> {
    let record_keys = RecordKeys::new(settings.access.record_key_secret.expose())?;
    let aggregates = Aggregates::new(
        std::time::Duration::from_secs(settings.rollout.refresh_secs),
        record_keys,
    );
    aggregates.warm(db.clone());
    let patient_ids = PatientIds::new(settings.access.patient_id_key.expose())?;
    let schema = match settings.server.subgraph {
        None => Served::Gateway(schema::build(db.clone(), aggregates.clone(), patient_ids)),
        Some(subgraph) => {
            let fixed: Vec<&str> = crate::auth::Role::ALL
                .iter()
                .filter(|r| !settings.documents.ad_hoc_roles.contains(r))
                .map(|r| r.as_str())
                .collect();
            if !fixed.is_empty() {
                tracing::warn!(
                    roles = fixed.join(", "),
                    subgraph = subgraph.as_str(),
                    "these roles may run only trusted documents, but a router sends the \
                     documents it plans: behind a router, list every role in \
                     documents.ad_hoc_roles and enforce trusted documents at the router"
                );
            }
            schema::build_subgraph(subgraph, db.clone(), aggregates.clone(), patient_ids)
        }
    };
    GraphqlService::new(settings, db, schema, aggregates).map_err(StartError::AuditWriter)
}
