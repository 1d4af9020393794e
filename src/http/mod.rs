//! The actix-web application: `/graphql`, GraphiQL, health and readiness.

mod client;
mod graphql;
mod health;
pub mod limits;
mod request;
mod request_span;
mod subgraph;

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::db::Db;
use crate::error::{Code, HttpError};
use crate::federation::Subgraph;
use crate::ratelimit::RateLimiter;
use crate::rollout::snapshot::Aggregates;
use crate::schema::Served;
use crate::trusted::Manifest;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

pub use request_span::RequestId;

/// What every handler shares.
pub struct AppState {
    pub schema: Served,
    /// The subgraph this process serves, or None for the whole graph.
    pub subgraph: Option<Subgraph>,
    pub db: Db,
    pub body_limit: usize,
    pub auth: Authenticator,
    pub disclosure_threshold: u32,
    pub anonymous_introspection: bool,
    pub aggregates: Arc<Aggregates>,
    pub limits: crate::config::LimitSettings,
    pub documents: crate::config::DocumentSettings,
    pub manifest: Manifest,
    pub limiter: RateLimiter,
    pub request_timeout: Duration,
    /// The daily budget of distinct controlled cells, and the question log.
    pub cell_budget: Arc<crate::access::CellBudget>,
    /// Work admission: cost budgets and permits for aggregate work.
    pub work: Arc<crate::access::work::WorkAdmission>,
    /// How long a client has to send its body.
    pub body_timeout: Duration,
    /// Requests in flight per client address.
    pub in_flight: client::InFlight,
}

/// Builds the server on an already bound listener (tests bind port 0 and read the address).
/// The returned `Server` stops gracefully on SIGTERM/SIGINT: it stops accepting, lets
/// in-flight requests finish within `shutdown_timeout_secs`, then returns.
pub fn serve(
    listener: TcpListener,
    settings: &Settings,
    db: Db,
    schema: Served,
    auth: Authenticator,
    aggregates: Arc<Aggregates>,
    limiter: RateLimiter,
) -> std::io::Result<Server> {
    let state = web::Data::new(AppState {
        schema,
        subgraph: settings.server.subgraph(),
        db,
        body_limit: settings.server.body_limit_bytes,
        auth,
        disclosure_threshold: settings.access.disclosure_threshold,
        anonymous_introspection: settings.auth.anonymous_introspection,
        aggregates,
        limits: settings.limits.clone(),
        documents: settings.documents.clone(),
        manifest: Manifest::builtin(),
        limiter,
        request_timeout: Duration::from_millis(settings.server.request_timeout_ms),
        cell_budget: Arc::new(crate::access::CellBudget::new(
            settings.access.cell_budget.clone(),
        )),
        work: Arc::new(crate::access::work::WorkAdmission::new(
            settings.work.clone(),
        )),
        body_timeout: Duration::from_millis(settings.server.body_timeout_ms),
        in_flight: client::InFlight::new(settings.server.max_requests_per_address),
    });
    let graphiql = settings.server.graphiql;
    let mut server = HttpServer::new(move || {
        let mut app = App::new()
            .app_data(state.clone())
            .service(
                web::resource("/graphql")
                    .route(web::post().to(graphql::post))
                    .route(web::get().to(graphql::get))
                    .default_service(web::to(graphql::method_not_allowed)),
            )
            .route("/health/live", web::get().to(health::live))
            .route("/health/ready", web::get().to(health::ready))
            .route("/metrics", web::get().to(health::metrics));
        if graphiql {
            app = app.route("/graphiql", web::get().to(graphiql_page));
        }
        app.default_service(web::to(not_found))
            .wrap(from_fn(request_span::request_span))
    })
    .shutdown_timeout(settings.server.shutdown_timeout_secs)
    .client_request_timeout(Duration::from_secs(5))
    .listen(listener)?;
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    Ok(server.run())
}

async fn graphiql_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            async_graphql::http::GraphiQLSource::build()
                .endpoint("/graphql")
                .title("forloeb-gateway")
                .finish(),
        )
}

async fn not_found() -> Result<HttpResponse, HttpError> {
    Err(HttpError::new(
        Code::NotFound,
        "no such endpoint; the API is at /graphql",
    ))
}
