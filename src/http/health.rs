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
    if state.db.is_ready().await {
        HttpResponse::Ok()
            .json(json!({ "status": "ready", "database": state.db.backend().to_string() }))
    } else {
        tracing::warn!("readiness check failed: database unreachable");
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "reason": "database unreachable" }))
    }
}
