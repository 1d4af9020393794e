//! The actix-web application: `/graphql`, GraphiQL, health and readiness.

mod client;
pub mod console;
pub mod cors;
pub mod dashboard;
mod graphql;
mod health;
mod page;
mod request;
mod request_span;
mod status;

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::error::{ApiError, Code};
use crate::ratelimit::RateLimiter;
use crate::service::GraphqlService;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use std::net::TcpListener;
use std::time::Duration;

pub use request_span::RequestId;

/// What every handler shares.
pub struct AppState {
    /// Everything from the document on.
    pub graphql: GraphqlService,
    pub body_limit: usize,
    /// How long a client has to send its body.
    pub body_timeout: Duration,
    /// The batch limit (`limits.batch`).
    pub limits: crate::config::LimitSettings,
    pub auth: Authenticator,
    pub limiter: RateLimiter,
    /// Requests in flight per client address.
    pub in_flight: client::InFlight,
}

/// What `demo` gives its pages: GraphiQL's tabs (one per demo token) and the tokens the
/// dashboard offers. Empty for `serve`.
#[derive(Default)]
pub struct DemoPages {
    pub console_tabs: Vec<console::Tab>,
    pub dashboard_tokens: Vec<dashboard::DemoToken>,
}

/// The bound sockets: the API's, and `/metrics`' own when `server.metrics_bind` is set.
pub struct Listeners {
    pub api: TcpListener,
    pub metrics: Option<TcpListener>,
}

/// Builds the server on already bound listeners (tests bind port 0 and read the address).
/// The returned `Server` stops gracefully on SIGTERM/SIGINT: it stops accepting, lets
/// in-flight requests finish within `shutdown_timeout_secs`, then returns.
pub fn serve(
    listeners: Listeners,
    settings: &Settings,
    graphql: GraphqlService,
    auth: Authenticator,
    limiter: RateLimiter,
    demo: DemoPages,
) -> std::io::Result<Server> {
    let DemoPages {
        console_tabs,
        dashboard_tokens,
    } = demo;
    let state = web::Data::new(AppState {
        graphql,
        body_limit: settings.server.body_limit_bytes,
        body_timeout: Duration::from_millis(settings.server.body_timeout_ms),
        limits: settings.limits.clone(),
        auth,
        limiter,
        in_flight: client::InFlight::new(settings.server.max_requests_per_address),
    });
    let graphiql = settings.server.graphiql;
    let dashboard = settings.server.dashboard;
    // Checked by `Settings::validate`; an empty value is today.
    let dashboard_as_of = crate::domain::parse_date(&settings.server.dashboard_as_of).ok();
    let origins = settings.server.cors_origins.clone();
    let metrics_addr = listeners
        .metrics
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
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
            app = app.service(console::routes(console_tabs.clone()));
        }
        if dashboard {
            app = app.service(dashboard::routes(dashboard_as_of, dashboard_tokens.clone()));
        }
        app.default_service(web::to(not_found))
            .wrap(actix_web::middleware::Condition::new(
                !origins.is_empty(),
                cors::middleware(&origins),
            ))
            .wrap(actix_web::middleware::Condition::new(
                metrics_addr.is_some(),
                from_fn(move |req, next| metrics_apart(metrics_addr, req, next)),
            ))
            .wrap(from_fn(request_span::request_span))
    })
    .shutdown_timeout(settings.server.shutdown_timeout_secs)
    .client_request_timeout(Duration::from_secs(5))
    .listen(listeners.api)?;
    if let Some(metrics) = listeners.metrics {
        server = server.listen(metrics)?;
    }
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    Ok(server.run())
}

/// With `server.metrics_bind`: the metrics address answers `/metrics` alone, and the API's
/// address does not answer it (each listener's connections know their local address).
async fn metrics_apart(
    metrics_addr: Option<std::net::SocketAddr>,
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let on_metrics_listener = Some(req.app_config().local_addr()) == metrics_addr;
    if on_metrics_listener != (req.path() == "/metrics") {
        let (req, _) = req.into_parts();
        let res = actix_web::ResponseError::error_response(&ApiError::new(
            Code::NotFound,
            if on_metrics_listener {
                "this address serves /metrics alone"
            } else {
                "no such endpoint; the API is at /graphql"
            },
        ));
        return Ok(actix_web::dev::ServiceResponse::new(req, res));
    }
    next.call(req).await.map(|res| res.map_into_boxed_body())
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        Code::NotFound,
        "no such endpoint; the API is at /graphql",
    ))
}
