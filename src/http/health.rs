//! Liveness (the process answers) and readiness (the database answers too).

use super::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

/// 503 while the database is unreachable, 200 again as soon as it is back: the pool replaces
/// broken connections on checkout, so no restart is needed.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.graphql.db().is_ready().await {
        HttpResponse::Ok().json(
            json!({ "status": "ready", "database": state.graphql.db().backend().to_string() }),
        )
    } else {
        tracing::warn!("readiness check failed: database unreachable");
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "reason": "database unreachable" }))
    }
}

/// Prometheus text (`crate::metrics`): the counters and histograms as they stand, the pool
/// and the aggregates read now.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (pool_in_use, pool_idle) = state.graphql.db().connections();
    let gauges = crate::metrics::Gauges {
        pool_in_use,
        pool_idle,
        snapshot: state
            .graphql
            .aggregates()
            .built()
            .map(|(version, age)| (version, age.as_secs())),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::render(&gauges))
}
