//! Products: CRUD, lists, stock, and the scan (`GET /api/v1/products/barcode/{barcode}`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tills_domain::{
    AdjustReason, Barcode, Embedded, Id, Money, ProductStatus, Quantity, StockReason, TaxRate, name_key,
};
use tills_storage::{
    BarcodeMatch, NewAudit, Pack, ProductAfter, ProductFilter, ProductRecord, ProductSort, StockMovement,
};

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, double_option, parse_id};
use crate::http::pagination::{self, Page};
use crate::openapi::{AdminOnly, BadBody, BadPage, ErrorBody, ManagerOnly, NotFound, StoreRead, TooLarge};
use crate::services::catalog::{self, NewPack, ProductChanges};
use crate::services::{scan, search};
use crate::state::AppState;

/// A product as API.md shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    #[schema(value_type = uuid::Uuid)]
    pub id: Id,
    pub store_id: String,
    pub name: String,
    pub barcode: Option<String>,
    pub sku: Option<String>,
    /// Minor currency units.
    pub price: i64,
    /// Minor currency units.
    pub cost: Option<i64>,
    /// Basis points.
    pub tax_rate: i32,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub category_id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub brand_id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub unit_id: Option<Id>,
    pub units: Vec<PackView>,
    pub alternate_barcodes: Vec<String>,
    /// May be negative (a sale is never refused for stock).
    #[schema(value_type = crate::openapi::Quantity)]
    pub stock: Quantity,
    pub status: ProductStatus,
    pub show_in_quick_products: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The body of `POST /products` and `PATCH /products/{id}`: in a PATCH every field is optional,
/// and `null` clears an optional one.
///
/// On create `name` and `price` are required. A barcode (the product's own, an alternate or a
/// unit's) names one product in a store: a second use is `409 barcode_taken`.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductBody {
    #[schema(examples("Cola 330ml"))]
    pub name: Option<String>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<crate::openapi::Barcode>)]
    pub barcode: Option<Option<Barcode>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub sku: Option<Option<String>>,
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub price: Option<Money>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub cost: Option<Option<Money>>,
    /// Default 0.
    #[schema(value_type = Option<crate::openapi::TaxRate>)]
    pub tax_rate: Option<TaxRate>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub category_id: Option<Option<Id>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub brand_id: Option<Option<Id>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub unit_id: Option<Option<Id>>,
    /// Packs of the product (replaces the list); at most one per unit.
    pub units: Option<Vec<PackBody>>,
    /// Other codes printed on the same item (replaces the list).
    #[schema(value_type = Option<Vec<crate::openapi::Barcode>>)]
    pub alternate_barcodes: Option<Vec<Barcode>>,
    /// On create the opening stock; in a PATCH a stocktake (the difference is recorded).
    #[schema(value_type = Option<crate::openapi::Quantity>)]
    pub stock: Option<Quantity>,
    /// Default `active`.
    pub status: Option<ProductStatus>,
    /// Default false.
    pub show_in_quick_products: Option<bool>,
}

/// A pack: `factor` base units sold under its own barcode; without `price` it costs the
/// product's price × factor.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackBody {
    #[schema(value_type = uuid::Uuid)]
    pub unit_id: Id,
    #[schema(value_type = Option<crate::openapi::Barcode>)]
    pub barcode: Option<Barcode>,
    /// How many base units the pack holds: a whole number ≥ 1.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub factor: i64,
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub price: Option<Money>,
}

impl From<ProductBody> for ProductChanges {
    fn from(b: ProductBody) -> Self {
        ProductChanges {
            name: b.name,
            barcode: b.barcode,
            sku: b.sku,
            price: b.price,
            cost: b.cost,
            tax_rate: b.tax_rate,
            category_id: b.category_id,
            brand_id: b.brand_id,
            unit_id: b.unit_id,
            units: b.units.map(|packs| {
                packs
                    .into_iter()
                    .map(|p| NewPack { unit_id: p.unit_id, barcode: p.barcode, factor: p.factor, price: p.price })
                    .collect()
            }),
            alternate_barcodes: b.alternate_barcodes,
            stock: b.stock,
            active: b.status.map(|s| s == ProductStatus::Active),
            show_in_quick_products: b.show_in_quick_products,
        }
    }
}

/// A pack: `price` is what it sells for (its own, or the product's price × factor);
/// `priceSet` says whether it has its own.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackView {
    #[schema(value_type = uuid::Uuid)]
    pub unit_id: Id,
    pub barcode: Option<String>,
    pub factor: i64,
    pub price: i64,
    pub price_set: bool,
}

pub fn pack_view(product_price: i64, p: &Pack) -> PackView {
    PackView {
        unit_id: p.unit_id,
        barcode: p.barcode.clone(),
        factor: p.factor,
        price: p.price.unwrap_or_else(|| product_price.saturating_mul(p.factor)),
        price_set: p.price.is_some(),
    }
}

impl From<&ProductRecord> for ProductView {
    fn from(p: &ProductRecord) -> Self {
        ProductView {
            id: p.id,
            store_id: p.store_id.to_string(),
            name: p.name.clone(),
            barcode: p.barcode.clone(),
            sku: p.sku.clone(),
            price: p.price,
            cost: p.cost,
            tax_rate: p.tax_rate,
            category_id: p.category_id,
            brand_id: p.brand_id,
            unit_id: p.unit_id,
            units: p.units.iter().map(|u| pack_view(p.price, u)).collect(),
            alternate_barcodes: p.alternate_barcodes.clone(),
            stock: Quantity::from_milli(p.stock_milli).unwrap_or_default(),
            status: if p.active { ProductStatus::Active } else { ProductStatus::Inactive },
            show_in_quick_products: p.show_in_quick_products,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Create a product (manager, admin)
#[utoipa::path(
    post,
    path = "/api/v1/products",
    operation_id = "createProduct",
    tag = "products",
    request_body = ProductBody,
    responses(
        (status = 201, description = "Created", body = ProductView),
        ManagerOnly,
        TooLarge,
        (status = 400, description = "`malformed_json`, `invalid_input` (with `field`; also for another store's category, brand or unit ids)", body = ErrorBody),
        (status = 409, description = "`barcode_taken`", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiJson(body): ApiJson<ProductBody>,
) -> ApiResult<(StatusCode, Json<ProductView>)> {
    let product = catalog::create_product(&*state.store, &state.cache, caller.as_actor(), body.into()).await?;
    Ok((StatusCode::CREATED, Json(ProductView::from(&product))))
}

/// Get a product
///
/// Always the live stock figure.
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}",
    operation_id = "getProduct",
    tag = "products",
    params(("id" = uuid::Uuid, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The product", body = ProductView),
        StoreRead,
        NotFound,
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductView>> {
    let product = state.store.get_product(&caller.store, parse_id(&id)?).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(ProductView::from(&product)))
}

/// Change a product (manager, admin)
///
/// Any field, barcodes included; a `stock` is a stocktake: the difference is recorded as a
/// movement.
#[utoipa::path(
    patch,
    path = "/api/v1/products/{id}",
    operation_id = "updateProduct",
    tag = "products",
    params(("id" = uuid::Uuid, Path, description = "The product's id")),
    request_body = ProductBody,
    responses(
        (status = 200, description = "The product as it is now", body = ProductView),
        ManagerOnly,
        BadBody,
        NotFound,
        (status = 409, description = "`barcode_taken`", body = ErrorBody),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProductBody>,
) -> ApiResult<Json<ProductView>> {
    let id = parse_id(&id)?;
    let product = catalog::update_product(&*state.store, &state.cache, caller.as_actor(), id, body.into()).await?;
    Ok(Json(ProductView::from(&product)))
}

/// Delete a product (manager, admin)
///
/// The product is gone from reads, lists and scans and its barcodes are free again; past sales
/// keep their lines.
#[utoipa::path(
    delete,
    path = "/api/v1/products/{id}",
    operation_id = "deleteProduct",
    tag = "products",
    params(("id" = uuid::Uuid, Path, description = "The product's id")),
    responses(
        (status = 204, description = "Deleted"),
        ManagerOnly,
        NotFound,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    catalog::delete_product(&*state.store, &state.cache, caller.as_actor(), parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    status: Option<ProductStatus>,
    #[param(value_type = Option<uuid::Uuid>)]
    category_id: Option<Id>,
    #[param(value_type = Option<uuid::Uuid>)]
    brand_id: Option<Id>,
    /// `true`: the store's quick products only.
    quick: Option<bool>,
    /// Case-insensitive: the name contains it, or the sku or a barcode starts with it.
    q: Option<String>,
    /// `name` (default: Unicode lower case, then id) or `-createdAt` (newest first).
    #[param(value_type = Option<crate::openapi::ProductSort>)]
    sort: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page (with the same filters and sort).
    cursor: Option<String>,
}

/// List products
#[utoipa::path(
    get,
    path = "/api/v1/products",
    operation_id = "listProducts",
    tag = "products",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of products", body = Page<ProductView>),
        StoreRead,
        (status = 400, description = "`invalid_input` (with `field`), also for a cursor used with other filters or another sort", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<ProductView>>> {
    let limit = pagination::limit(q.limit)?;
    let active = q.status.map(|s| s == ProductStatus::Active);
    let sort = match q.sort.as_deref() {
        None | Some("") | Some("name") => ProductSort::Name,
        Some("-createdAt") => ProductSort::NewestFirst,
        Some(_) => return Err(ApiError::invalid("sort", "sort is name or -createdAt")),
    };
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(name_key);
    if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::invalid("q", "at most 200 characters"));
    }
    let fingerprint = pagination::fingerprint(&[
        "products",
        q.status.map_or("", ProductStatus::as_str),
        &q.category_id.map(|c| c.to_string()).unwrap_or_default(),
        &q.brand_id.map(|c| c.to_string()).unwrap_or_default(),
        if q.quick == Some(true) { "quick" } else { "" },
        search.as_deref().unwrap_or(""),
        if sort == ProductSort::Name { "name" } else { "-createdAt" },
    ]);
    let after: Option<ProductAfter> = pagination::decode(q.cursor.as_deref(), &fingerprint)?;
    let filter = ProductFilter {
        active,
        category_id: q.category_id,
        brand_id: q.brand_id,
        quick_only: q.quick == Some(true),
        q: search,
        sort,
        after,
        limit: limit + 1,
    };
    let rows = match filter.q {
        Some(_) => search::search(&state.search, &state.store, &caller.store, &filter).await?,
        None => state.store.list_products(&caller.store, &filter).await?,
    };
    Ok(Json(pagination::page(
        rows,
        limit,
        &fingerprint,
        |p| match sort {
            ProductSort::Name => ProductAfter::Name(name_key(&p.name), p.id),
            ProductSort::NewestFirst => ProductAfter::Created(p.created_at, p.id),
        },
        |p| ProductView::from(&p),
    )))
}

/// What a barcode names.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanView {
    /// The same object as `GET /api/v1/products/{id}` (its `stock` may be as old as the cache entry).
    product: ProductView,
    /// Set when the barcode is a pack's.
    unit: Option<PackView>,
    /// Set when the code is a scale label of one of the store's `scaleBarcodes` formats.
    #[schema(value_type = Option<crate::openapi::Embedded>)]
    embedded: Option<serde_json::Value>,
}

/// Drop the store's cached products (admin)
///
/// `POST /cache/products/invalidate` (admin): drops every cached product of the store.
#[utoipa::path(
    post,
    path = "/api/v1/cache/products/invalidate",
    operation_id = "invalidateProductCache",
    tag = "store",
    responses(
        (status = 204, description = "Every cached product of the store dropped"),
        AdminOnly,
    )
)]
pub async fn invalidate_cache(State(state): State<AppState>, caller: StoreCaller) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    state.cache.invalidate_store_products(&caller.store).await;
    let audit = NewAudit::new("cache.invalidate").by(caller.actor(), None).target(&caller.store);
    state.store.append_audit(&caller.store, audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Scan a barcode
///
/// The most frequent request Tills serves. An exact barcode (a product's own, an alternate or a
/// pack's) first; otherwise a valid EAN-13 of one of the store's `scaleBarcodes` formats names the
/// product whose barcode is the prefix followed by the item digits, with the label's weight or
/// price in `embedded`. Inactive products scan too.
#[utoipa::path(
    get,
    path = "/api/v1/products/barcode/{barcode}",
    operation_id = "scanBarcode",
    tag = "products",
    params(("barcode" = String, Path, description = "The scanned code")),
    responses(
        (status = 200, description = "The product, its pack if the code is a pack's, a scale label's value", body = ScanView),
        StoreRead,
        (status = 404, description = "`not_found`: the store has no such barcode", body = ErrorBody),
    )
)]
pub async fn scan(State(state): State<AppState>, caller: StoreCaller, Path(code): Path<String>) -> ApiResult<Response> {
    let scanned = scan::scan(&state.cache, &caller.store, &caller.settings, &code).await?;
    let Some(embedded) = scanned.embedded else {
        // The hot path: the answer depends on the cache entry alone, so it is rendered once.
        let body = scanned.found.scan_body(|found| render(&scan_view(found, None)));
        return Ok(([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response());
    };
    let embedded = match embedded {
        Embedded::Weight(q) => json!({"kind": "weight", "quantity": q}),
        Embedded::Price(p) => json!({"kind": "price", "price": p}),
    };
    Ok(Json(scan_view(&scanned.found, Some(embedded))).into_response())
}

fn scan_view(found: &BarcodeMatch, embedded: Option<serde_json::Value>) -> ScanView {
    let product = &found.product;
    ScanView {
        product: ProductView::from(product),
        unit: found.pack.as_ref().map(|p| pack_view(product.price, p)),
        embedded,
    }
}

fn render(view: &ScanView) -> Bytes {
    // Serializing plain structs of strings and integers cannot fail.
    serde_json::to_vec(view).map(Bytes::from).unwrap_or_default()
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StockBody {
    /// The change, not 0 (`-3`).
    #[schema(value_type = crate::openapi::Quantity)]
    delta: Quantity,
    reason: AdjustReason,
    /// At most 500 characters.
    note: Option<String>,
}

/// Adjust stock (manager, admin)
#[utoipa::path(
    post,
    path = "/api/v1/products/{id}/stock",
    operation_id = "adjustStock",
    tag = "products",
    params(("id" = uuid::Uuid, Path, description = "The product's id")),
    request_body = StockBody,
    responses(
        (status = 200, description = "The product as it is now", body = ProductView),
        ManagerOnly,
        BadBody,
        NotFound,
    )
)]
pub async fn adjust_stock(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StockBody>,
) -> ApiResult<Json<ProductView>> {
    let id = parse_id(&id)?;
    let product =
        catalog::adjust_stock(&*state.store, &state.cache, caller.as_actor(), id, body.delta, body.reason, body.note)
            .await?;
    Ok(Json(ProductView::from(&product)))
}

/// A change of a product's stock, with its reason.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MovementView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    #[schema(value_type = uuid::Uuid)]
    product_id: Id,
    #[schema(value_type = crate::openapi::Quantity)]
    delta: Quantity,
    /// A stock reason, or what else moved it (a sale, a void, a refund, an import).
    reason: StockReason,
    note: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    sale_id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    refund_id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    user_id: Option<Id>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<StockMovement> for MovementView {
    fn from(m: StockMovement) -> Self {
        MovementView {
            id: m.id,
            product_id: m.product_id,
            delta: Quantity::from_milli(m.delta_milli).unwrap_or_default(),
            reason: m.reason,
            note: m.note,
            sale_id: m.sale_id,
            refund_id: m.refund_id,
            user_id: m.user_id,
            created_at: m.created_at,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// A product's stock movements
///
/// Every change with its reason, its sale or refund if any, its user and time.
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}/stock-movements",
    operation_id = "listStockMovements",
    tag = "products",
    params(("id" = uuid::Uuid, Path, description = "The product's id"), PageQuery),
    responses(
        (status = 200, description = "A page of movements", body = Page<MovementView>),
        StoreRead,
        BadPage,
        NotFound,
    )
)]
pub async fn stock_movements(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<MovementView>>> {
    let id = parse_id(&id)?;
    state.store.get_product(&caller.store, id).await?.ok_or(ApiError::NotFound)?;
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&["movements", &id.to_string()]);
    let after = pagination::decode(q.cursor.as_deref(), &filters)?;
    let rows = state.store.list_stock_movements(&caller.store, id, after, limit + 1).await?;
    Ok(Json(pagination::page(rows, limit, &filters, |m| (m.created_at, m.id), MovementView::from)))
}
