//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of API.md, generated from the code.
//!
//! Every routed handler carries a `#[utoipa::path]` annotation and every request and response
//! type derives `utoipa::ToSchema`; [`ApiDoc`] gathers them. This module adds what the code
//! cannot say by itself: the schemas of the domain types (they live in `tills-domain`, which knows
//! nothing of OpenAPI, so fields name the stand-ins below with `#[schema(value_type = ...)]`), the
//! error body, the bearer scheme, and the categories/brands/units paths, which one generic handler
//! serves.

use std::borrow::Cow;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::http::{audit, auth, customers, named, ops, platform, products, reports, sales, store, users};
use crate::services::{catalog, checkout, report};

/// The document, serialized once.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    security(()),
    responses((status = 200, description = "This OpenAPI 3.1 document", body = serde_json::Value))
)]
pub async fn serve() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| document().to_json().expect("the OpenAPI document serializes to JSON"));
    ([(header::CONTENT_TYPE, "application/json")], json.as_str())
}

/// The OpenAPI document of the API.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The name of the bearer security scheme.
pub const BEARER: &str = "bearerAuth";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tills API",
        version = "1",
        description = "Point-of-sale API. Base path `/api/v1`; JSON in and out, field names in camelCase. \
            Money is an integer in the store's minor currency unit, quantities are numbers with at most \
            3 decimals, tax rates are basis points, timestamps are RFC 3339 in UTC. The store a request \
            acts on is the token's `storeId` claim and nothing else. Lists take `limit` (default 50, \
            max 200) and `cursor` and answer `{\"items\": [...], \"nextCursor\": ...}`."
    ),
    paths(
        auth::login,
        auth::me,
        auth::change_password,
        platform::create_store,
        platform::list_stores,
        platform::get_store,
        platform::patch_store,
        platform::support_token,
        platform::create_store_admin,
        store::get,
        store::patch,
        products::invalidate_cache,
        users::list,
        users::create,
        users::get,
        users::patch,
        users::delete,
        audit::list,
        categories::list,
        categories::create,
        categories::get,
        categories::patch,
        categories::delete,
        brands::list,
        brands::create,
        brands::get,
        brands::patch,
        brands::delete,
        units::list,
        units::create,
        units::get,
        units::patch,
        units::delete,
        products::list,
        products::create,
        products::get,
        products::patch,
        products::delete,
        products::adjust_stock,
        products::stock_movements,
        products::scan,
        customers::list,
        customers::create,
        customers::get,
        customers::patch,
        customers::delete,
        sales::list,
        sales::create,
        sales::quote,
        sales::export_csv,
        sales::by_invoice,
        sales::get,
        sales::void,
        sales::refund,
        sales::payments,
        reports::daily,
        serve,
        ops::healthz,
        ops::readyz,
        ops::metrics,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        ErrorCode,
        Money,
        Quantity,
        TaxRate,
        Barcode,
        Role,
        StoreRole,
        ScaleFormat,
        ScaleKind,
        Embedded,
        ProductStatus,
        ProductSort,
        StoreStatus,
        SaleStatus,
        PaymentMethod,
        StockReason,
        RefundLine,
        RefundWithSale,
        Health,
        Readiness,
        auth::LoginRequest,
        auth::LoginResponse,
        auth::UserView,
        auth::ChangePassword,
        platform::CreateStore,
        platform::Owner,
        platform::PatchStore,
        platform::SupportToken,
        platform::StoreAdmin,
        store::StoreView,
        store::StorePatch,
        users::UserView,
        users::CreateUser,
        users::PatchUser,
        audit::AuditView,
        named::NamedView,
        named::NamedBody,
        catalog::ProductBody,
        catalog::PackBody,
        products::ProductView,
        products::PackView,
        products::ScanView,
        products::StockBody,
        products::MovementView,
        customers::CustomerView,
        customers::CustomerBody,
        checkout::SaleBody,
        checkout::LineBody,
        checkout::PaymentBody,
        sales::SaleView,
        sales::SaleSummary,
        sales::LineView,
        sales::TaxBandView,
        sales::PaymentView,
        sales::RefundView,
        sales::QuoteView,
        sales::RefundBody,
        sales::RefundLineBody,
        sales::RefundPaymentBody,
        report::DailyReport,
        report::Voids,
    )),
    modifiers(&BearerScheme),
    security(("bearerAuth" = [])),
    tags(
        (name = "auth", description = "Sign in, the signed-in account, passwords"),
        (name = "platform", description = "Stores and support tokens (platform_admin)"),
        (name = "store", description = "The caller's store and its settings"),
        (name = "users", description = "A store's users (admin)"),
        (name = "audit", description = "Who did what and when (admin)"),
        (name = "categories", description = "Catalog: categories (read: every role; write: manager, admin)"),
        (name = "brands", description = "Catalog: brands (read: every role; write: manager, admin)"),
        (name = "units", description = "Catalog: units (read: every role; write: manager, admin)"),
        (name = "products", description = "Catalog: products, stock and the barcode scan"),
        (name = "customers", description = "Customers (every role reads and creates; manager and admin change)"),
        (name = "sales", description = "Sales, quotes, voids, refunds, payments and the CSV export"),
        (name = "reports", description = "Reports (manager, admin)"),
        (name = "ops", description = "Operations: liveness, readiness, metrics"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// `Authorization: Bearer <JWT>`, required by every operation that does not say otherwise.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A token from `POST /api/v1/auth/login` (or a support token)"))
                    .build(),
            ),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Categories, brands and units: one generic handler (`http::named`) serves the three resources,
// so each gets its own documented paths here. The functions only carry the annotations.

macro_rules! named_paths {
    (
        $kind:ident, $tag:tt, $collection:tt, $item:tt,
        $list_id:tt, $create_id:tt, $get_id:tt, $patch_id:tt, $delete_id:tt
    ) => {
        #[allow(dead_code)]
        mod $kind {
            use super::ErrorBody;
            use crate::http::named::{ListQuery, NamedBody, NamedView};
            use crate::http::pagination::Page;

            #[utoipa::path(
                get,
                path = $collection,
                operation_id = $list_id,
                summary = concat!("List ", $tag),
                description = "By name (Unicode lower case), then id.",
                tag = $tag,
                params(ListQuery),
                responses(
                    (status = 200, description = "A page, by name", body = Page<NamedView>),
                    (status = 400, description = "`invalid_input`: a bad `limit` or `cursor`", body = ErrorBody),
                    (status = 401, description = "`unauthorized`", body = ErrorBody),
                    (status = 403, description = "`forbidden`: the store is suspended", body = ErrorBody),
                    (status = 503, description = "`unavailable`", body = ErrorBody),
                )
            )]
            pub fn list() {}

            #[utoipa::path(
                post,
                path = $collection,
                operation_id = $create_id,
                summary = concat!("Create one of the ", $tag, " (manager, admin)"),
                description = "Names are trimmed and unique per store ignoring case (Unicode lower case). \
                    Only categories take `parentId`, which must be one of the store's categories.",
                tag = $tag,
                request_body = NamedBody,
                responses(
                    (status = 201, description = "Created", body = NamedView),
                    (status = 400, description = "`malformed_json`, `invalid_input` (with `field`)", body = ErrorBody),
                    (status = 401, description = "`unauthorized`", body = ErrorBody),
                    (status = 403, description = "`forbidden`: not a manager or admin, or the store is suspended", body = ErrorBody),
                    (status = 409, description = "`name_taken`", body = ErrorBody),
                    (status = 413, description = "`payload_too_large`", body = ErrorBody),
                    (status = 503, description = "`unavailable`", body = ErrorBody),
                )
            )]
            pub fn create() {}

            #[utoipa::path(
                get,
                path = $item,
                operation_id = $get_id,
                summary = concat!("Get one of the ", $tag),
                tag = $tag,
                params(("id" = uuid::Uuid, Path, description = "Its id")),
                responses(
                    (status = 200, description = "Found", body = NamedView),
                    (status = 401, description = "`unauthorized`", body = ErrorBody),
                    (status = 403, description = "`forbidden`: the store is suspended", body = ErrorBody),
                    (status = 404, description = "`not_found` (also for another store's ids)", body = ErrorBody),
                    (status = 503, description = "`unavailable`", body = ErrorBody),
                )
            )]
            pub fn get() {}

            #[utoipa::path(
                patch,
                path = $item,
                operation_id = $patch_id,
                summary = concat!("Change one of the ", $tag, " (manager, admin)"),
                description = "Absent fields keep their values; `\"parentId\": null` clears a category's parent.",
                tag = $tag,
                params(("id" = uuid::Uuid, Path, description = "Its id")),
                request_body = NamedBody,
                responses(
                    (status = 200, description = "Changed", body = NamedView),
                    (status = 400, description = "`malformed_json`, `invalid_input` (with `field`)", body = ErrorBody),
                    (status = 401, description = "`unauthorized`", body = ErrorBody),
                    (status = 403, description = "`forbidden`: not a manager or admin, or the store is suspended", body = ErrorBody),
                    (status = 404, description = "`not_found`", body = ErrorBody),
                    (status = 409, description = "`name_taken`", body = ErrorBody),
                    (status = 413, description = "`payload_too_large`", body = ErrorBody),
                    (status = 503, description = "`unavailable`", body = ErrorBody),
                )
            )]
            pub fn patch() {}

            #[utoipa::path(
                delete,
                path = $item,
                operation_id = $delete_id,
                summary = concat!("Delete one of the ", $tag, " (manager, admin)"),
                tag = $tag,
                params(("id" = uuid::Uuid, Path, description = "Its id")),
                responses(
                    (status = 204, description = "Deleted"),
                    (status = 401, description = "`unauthorized`", body = ErrorBody),
                    (status = 403, description = "`forbidden`: not a manager or admin, or the store is suspended", body = ErrorBody),
                    (status = 404, description = "`not_found`", body = ErrorBody),
                    (status = 409, description = "`in_use`: a product still uses it", body = ErrorBody),
                    (status = 503, description = "`unavailable`", body = ErrorBody),
                )
            )]
            pub fn delete() {}
        }
    };
}

named_paths!(
    categories,
    "categories",
    "/api/v1/categories",
    "/api/v1/categories/{id}",
    "listCategories",
    "createCategory",
    "getCategory",
    "updateCategory",
    "deleteCategory"
);
named_paths!(
    brands,
    "brands",
    "/api/v1/brands",
    "/api/v1/brands/{id}",
    "listBrands",
    "createBrand",
    "getBrand",
    "updateBrand",
    "deleteBrand"
);
named_paths!(
    units,
    "units",
    "/api/v1/units",
    "/api/v1/units/{id}",
    "listUnits",
    "createUnit",
    "getUnit",
    "updateUnit",
    "deleteUnit"
);

// ---------------------------------------------------------------------------------------------
// Errors.

/// Every error answer: `{"error": {"code": "snake_case", "message": "human sentence", "field": "name"?}}`.
#[derive(ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// A sentence for people; its wording may change.
    pub message: String,
    /// With `invalid_input`: the input that failed (`name`, `lines[2].productId`, `limit`).
    #[schema(nullable = false)]
    pub field: Option<String>,
}

/// The error codes of API.md, by status: 400 `malformed_json`, `invalid_input`,
/// `insufficient_payment`; 401 `unauthorized`; 403 `forbidden`; 404 `not_found`; 409
/// `barcode_taken`, `name_taken`, `phone_taken`, `email_taken`, `in_use`, `idempotency_mismatch`,
/// `conflict`; 413 `payload_too_large`; 429 `too_many_requests`; 503 `unavailable`; 500 `internal`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedJson,
    InvalidInput,
    InsufficientPayment,
    Unauthorized,
    Forbidden,
    NotFound,
    BarcodeTaken,
    NameTaken,
    PhoneTaken,
    EmailTaken,
    InUse,
    IdempotencyMismatch,
    Conflict,
    PayloadTooLarge,
    TooManyRequests,
    Unavailable,
    Internal,
}

// ---------------------------------------------------------------------------------------------
// Stand-ins for the domain types (`tills_domain`), named by `#[schema(value_type = ...)]`.

/// Implements `ToSchema` for a stand-in whose schema is built by hand.
macro_rules! hand_made_schema {
    ($name:ident, $schema:expr) => {
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

/// An amount of money: a whole number of the store's minor currency unit (cents for USD, yen
/// for JPY; the store's `currencyDecimals` says which), never negative, never a float.
pub struct Money;
hand_made_schema!(
    Money,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .maximum(Some(10_000_000_000_000_i64))
        .description(Some("A whole number of the store's minor currency unit (150 is 1.50 USD); never a float"))
        .examples([150])
        .into()
);

/// A quantity: a number with at most 3 decimals (`0.535` kg), stored exactly.
pub struct Quantity;
hand_made_schema!(
    Quantity,
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .description(Some("A number with at most 3 decimals (0.535 kg); stored exactly"))
        .examples([0.535])
        .into()
);

/// A tax rate in basis points: 1900 is 19 %.
pub struct TaxRate;
hand_made_schema!(
    TaxRate,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(0))
        .maximum(Some(10_000))
        .description(Some("Basis points: 1900 is 19 %"))
        .examples([1900])
        .into()
);

/// A barcode: 1-64 printable ASCII characters, no spaces.
pub struct Barcode;
hand_made_schema!(
    Barcode,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(64))
        .pattern(Some("^[!-~]{1,64}$"))
        .description(Some("1-64 printable ASCII characters, no spaces"))
        .examples(["5449000000996"])
        .into()
);

/// What a signed-in account may do.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    Admin,
    Manager,
    Cashier,
}

/// The roles a store's user may have.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum StoreRole {
    Admin,
    Manager,
    Cashier,
}

/// One of a store's in-store barcode formats for weighed or priced items: an EAN-13 made of
/// `prefix`, `itemDigits` digits naming the item, a value of `12 − len(prefix) − itemDigits`
/// digits and a check digit.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ScaleFormat {
    /// Digits, e.g. `"21"`.
    pub prefix: String,
    pub item_digits: u8,
    pub kind: ScaleKind,
    /// Decimals of the embedded value (kg for a weight; at most the currency's for a price).
    pub decimals: u8,
}

/// Whether a scale label carries the item's weight or its price.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ScaleKind {
    Weight,
    Price,
}

/// What a scanned scale label carries: `{"kind": "weight", "quantity": 0.535}` or
/// `{"kind": "price", "price": 1234}`.
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Embedded {
    Weight { quantity: Quantity },
    Price { price: Money },
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ProductStatus {
    Active,
    Inactive,
}

/// The order of `GET /products`: by name (the default) or newest first.
#[derive(ToSchema)]
pub enum ProductSort {
    #[schema(rename = "name")]
    Name,
    #[schema(rename = "-createdAt")]
    NewestFirst,
}

/// A suspended store's tokens get `403`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum StoreStatus {
    Active,
    Suspended,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SaleStatus {
    Completed,
    Voided,
    PartiallyRefunded,
    Refunded,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum PaymentMethod {
    Cash,
    Card,
    Mobile,
    Voucher,
}

/// Why stock was adjusted by hand.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum StockReason {
    Damaged,
    Received,
    Stocktake,
    Correction,
    Other,
}

/// A line of a refund.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RefundLine {
    pub line_id: uuid::Uuid,
    pub quantity: Quantity,
    /// What this line returns: its total × refunded ÷ sold quantity, rounded half up.
    pub amount: i64,
}

/// `POST /sales/{id}/refunds` answers the refund with the sale as it is after it.
#[derive(ToSchema)]
pub struct RefundWithSale {
    #[serde(flatten)]
    pub refund: sales::RefundView,
    pub sale: sales::SaleView,
}

// ---------------------------------------------------------------------------------------------
// Operations.

/// `{"status": "ok"}`
#[derive(ToSchema)]
pub struct Health {
    #[schema(examples("ok"))]
    pub status: String,
}

/// Whether the database answers, and how the product cache is.
#[derive(ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    #[schema(examples("ready"))]
    pub status: String,
    pub database: ReadinessDatabase,
    pub cache: ReadinessCache,
}

#[derive(ToSchema)]
pub struct ReadinessDatabase {
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub up: bool,
}

#[derive(ToSchema)]
pub struct ReadinessCache {
    /// `memory` (in-process only) or `redis`.
    pub kind: String,
    pub up: bool,
}
