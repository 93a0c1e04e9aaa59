//! Operations: `/healthz`, `/readyz`, `/metrics`, and this API's OpenAPI document.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::state::AppState;

/// The document, serialized once.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    security(()),
    responses((status = 200, description = "This OpenAPI 3.1 document", body = serde_json::Value))
)]
pub async fn openapi() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| crate::http::document_json().to_string());
    ([(header::CONTENT_TYPE, "application/json")], json.as_str())
}

/// Liveness
///
/// `200` while the process runs.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "ops",
    security(()),
    responses((status = 200, description = "The process runs", body = crate::openapi::Health))
)]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Readiness
///
/// `200` when the database answers, `503` otherwise; the body says how the cache is.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "ops",
    security(()),
    responses(
        (status = 200, description = "The database answers", body = crate::openapi::Readiness),
        (status = 503, description = "The database does not answer", body = crate::openapi::Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let db = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    let db_ok = matches!(db, Ok(Ok(())));
    let cache = match state.cache.redis_up().await {
        None => json!({"kind": "memory", "up": true}),
        Some(up) => json!({"kind": "redis", "up": up}),
    };
    let body = json!({
        "status": if db_ok { "ready" } else { "unavailable" },
        "database": {"backend": state.store.backend(), "up": db_ok},
        "cache": cache,
    });
    let status = if db_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}

/// Prometheus metrics
///
/// `tills_http_request_duration_seconds`, `tills_product_lookup_seconds`,
/// `tills_product_cache_requests_total`, `tills_store_id_in_request_total`,
/// `tills_tenant_violations_total`, `tills_db_connections` (by `kind` and `state`: `busy`,
/// `idle`, `max`), ...
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "ops",
    security(()),
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain; version=0.0.4"),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Read when scraped: a connection's checkout and return stay free of metrics.
    for c in state.store.connections() {
        let gauge = |s: &'static str| metrics::gauge!("tills_db_connections", "kind" => c.kind, "state" => s);
        gauge("busy").set(f64::from(c.open.saturating_sub(c.idle)));
        gauge("idle").set(f64::from(c.idle));
        gauge("max").set(f64::from(c.max));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
