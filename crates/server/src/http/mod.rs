//! The HTTP layer: one module per resource, routes in one place.

pub mod audit;
pub mod auth;
pub mod customers;
pub mod named;
pub mod ops;
pub mod pagination;
pub mod platform;
pub mod products;
pub mod reports;
pub mod sales;
pub mod store;
pub mod users;

use axum::Router;
use axum::routing::{get, post};

use self::named::{Brands, Categories, Units};

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
        .route("/admin/stores/{id}/admins", post(platform::create_store_admin))
        .route("/store", get(store::get).patch(store::patch))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::get).patch(users::patch).delete(users::delete))
        .route("/audit", get(audit::list))
        .route("/categories", get(named::list::<Categories>).post(named::create::<Categories>))
        .route(
            "/categories/{id}",
            get(named::get::<Categories>).patch(named::patch::<Categories>).delete(named::delete::<Categories>),
        )
        .route("/brands", get(named::list::<Brands>).post(named::create::<Brands>))
        .route("/brands/{id}", get(named::get::<Brands>).patch(named::patch::<Brands>).delete(named::delete::<Brands>))
        .route("/units", get(named::list::<Units>).post(named::create::<Units>))
        .route("/units/{id}", get(named::get::<Units>).patch(named::patch::<Units>).delete(named::delete::<Units>))
        .route("/products", get(products::list).post(products::create))
        .route("/products/barcode/{barcode}", get(products::scan))
        .route("/cache/products/invalidate", post(products::invalidate_cache))
        .route("/products/{id}", get(products::get).patch(products::patch).delete(products::delete))
        .route("/products/{id}/stock", post(products::adjust_stock))
        .route("/products/{id}/stock-movements", get(products::stock_movements))
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/{id}", get(customers::get).patch(customers::patch).delete(customers::delete))
        .route("/sales", get(sales::list).post(sales::create))
        .route("/sales/quote", post(sales::quote))
        .route("/sales/export.csv", get(sales::export_csv))
        .route("/sales/invoice/{invoice}", get(sales::by_invoice))
        .route("/sales/{id}", get(sales::get))
        .route("/sales/{id}/void", post(sales::void))
        .route("/sales/{id}/refunds", post(sales::refund))
        .route("/payments", get(sales::payments))
        .route("/reports/daily", get(reports::daily))
        .route("/openapi.json", get(crate::openapi::serve));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        // The terminal (embedded assets).
        .route("/", get(crate::web::index))
        .route("/{file}", get(crate::web::asset))
}
