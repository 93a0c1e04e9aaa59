//! Operations: `/healthz`, `/readyz`, `/metrics`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::state::AppState;

/// `200` while the process runs.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// `200` when the database answers, `503` otherwise; the body says how the cache is.
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

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
