//! The HTTP layer: one module per resource, and the one list of routes.
//!
//! Each handler carries its `#[utoipa::path]` annotation; [`routes`] registers it with
//! `utoipa_axum::routes!`, which takes the method and path from that annotation. So the router
//! and the OpenAPI document ([`document`]) come from the same declaration and cannot differ.

pub mod approvals;
pub mod audit;
pub mod auth;
pub mod carts;
pub mod catalog_changes;
pub mod customers;
pub mod journal;
pub mod named;
pub mod ops;
pub mod pagination;
pub mod platform;
pub mod products;
pub mod reports;
pub mod returns;
pub mod sales;
pub mod shifts;
pub mod store;
pub mod users;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::named::{brands, categories, units};
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// Every documented route: API.md's under `/api/v1`, and operations.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(approvals::set_pin))
        .routes(routes!(approvals::approve))
        .routes(routes!(platform::create_store, platform::list_stores))
        .routes(routes!(platform::get_store, platform::patch_store))
        .routes(routes!(platform::support_token))
        .routes(routes!(platform::create_store_admin))
        .routes(routes!(store::get, store::patch))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::patch, users::delete))
        .routes(routes!(audit::list))
        .routes(routes!(categories::list, categories::create))
        .routes(routes!(categories::get, categories::patch, categories::delete))
        .routes(routes!(brands::list, brands::create))
        .routes(routes!(brands::get, brands::patch, brands::delete))
        .routes(routes!(units::list, units::create))
        .routes(routes!(units::get, units::patch, units::delete))
        .routes(routes!(products::list, products::create))
        .routes(routes!(products::scan))
        .routes(routes!(products::invalidate_cache))
        .routes(routes!(products::get, products::patch, products::delete))
        .routes(routes!(products::adjust_stock))
        .routes(routes!(products::stock_movements))
        .routes(routes!(customers::list, customers::create))
        .routes(routes!(customers::get, customers::patch, customers::delete))
        .routes(routes!(sales::list, sales::create))
        .routes(routes!(sales::quote))
        .routes(routes!(sales::export::export_csv))
        .routes(routes!(sales::by_invoice))
        .routes(routes!(sales::get))
        .routes(routes!(sales::void))
        .routes(routes!(sales::refund))
        .routes(routes!(sales::payments))
        .routes(routes!(returns::create))
        .routes(routes!(returns::get))
        .routes(routes!(carts::list, carts::park))
        .routes(routes!(carts::resume))
        .routes(routes!(shifts::list, shifts::open))
        .routes(routes!(shifts::current))
        .routes(routes!(shifts::get))
        .routes(routes!(shifts::move_cash))
        .routes(routes!(shifts::report))
        .routes(routes!(shifts::close))
        .routes(routes!(catalog_changes::changes))
        .routes(routes!(reports::daily))
        .routes(routes!(journal::public_key))
        .routes(routes!(journal::verify))
        .routes(routes!(journal::export))
        .routes(routes!(journal::day_close))
        .routes(routes!(ops::openapi))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The OpenAPI 3.1 document of every route [`routes`] serves.
pub fn document() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The document as served: [`document`] with the rules of the server's text fields written in
/// (`openapi::tighten`).
pub fn document_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(document()).unwrap_or_default();
    crate::openapi::tighten(&mut doc);
    doc
}
