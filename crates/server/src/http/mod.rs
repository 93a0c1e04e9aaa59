//! The HTTP layer: one module per resource, routes in one place.

pub mod audit;
pub mod auth;
pub mod ops;
pub mod pagination;
pub mod platform;
pub mod store;
pub mod users;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Every route of API.md that exists so far, under `/api/v1`, plus operations.
pub fn routes() -> Router<AppState> {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/me", get(auth::me))
        .route("/auth/password", post(auth::change_password))
        .route("/admin/stores", post(platform::create_store).get(platform::list_stores))
        .route("/admin/stores/{id}", get(platform::get_store).patch(platform::patch_store))
        .route("/admin/stores/{id}/token", post(platform::support_token))
        .route("/store", get(store::get).patch(store::patch))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::get).patch(users::patch).delete(users::delete))
        .route("/audit", get(audit::list))
        .route("/openapi.json", get(crate::openapi::serve));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
}
