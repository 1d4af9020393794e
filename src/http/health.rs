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

/// Prometheus text: counters safe to expose (no labels that could carry personal data).
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(format!(
            "# HELP forloeb_db_statements_total SQL statements executed by this process.\n\
             # TYPE forloeb_db_statements_total counter\n\
             forloeb_db_statements_total {}\n\
             # HELP forloeb_stored_values_unparsable_total Stored values read back that did not parse (each also logged as an internal error).\n\
             # TYPE forloeb_stored_values_unparsable_total counter\n\
             forloeb_stored_values_unparsable_total {}\n",
            crate::db::statements_executed(),
            crate::gql::unparsable_stored_values()
        ))
}
