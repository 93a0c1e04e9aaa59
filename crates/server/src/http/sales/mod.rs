//! Sales: `POST /sales` (checkout), `POST /sales/quote`, reads, lists, voids and refunds; the
//! bodies are in [`body`], the answers in [`views`], the CSV export in [`export`].

pub mod body;
pub mod export;
pub mod views;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tills_domain::{ApprovalAction, Id, PaymentMethod, SaleStatus};
use tills_storage::{Idempotent, SaleFilter};

use self::body::{RefundBody, SaleBody, client_ref, parse_refund, parse_sale};
use self::views::{PaymentView, QuoteView, RefundWithSale, SaleSummary, SaleView};
use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, ApprovalHeader, JsonBytes, parse_id};
use crate::http::pagination::{self, Page};
use crate::openapi::{Authenticated, BadApproval, BadBody, ErrorBody, ManagerOnly, NotFound, StoreRead, TooLarge};
use crate::services::checkout::{self, Sold};
use crate::services::{approvals, refund, void};
use crate::state::AppState;
use crate::time;

/// Make a sale
///
/// `201` with the sale; the same `clientRef` again answers `200` with the original sale as it
/// is now, or `409 idempotency_mismatch` when the content differs. Prices come from the catalog
/// at the moment of sale; a line `price` (override) or any `discount` needs a manager or an
/// admin, except the prices of an `offline` sale.
#[utoipa::path(
    post,
    path = "/api/v1/sales",
    operation_id = "createSale",
    tag = "sales",
    params(("X-Approval" = Option<uuid::Uuid>, Header, description = "A manager's approval of this action for the caller (`POST /approvals`)")),
    request_body = SaleBody,
    responses(
        (status = 201, description = "The sale", body = SaleView),
        (status = 200, description = "This `clientRef`'s sale, as it is now", body = SaleView),
        Authenticated,
        TooLarge,
        (status = 400, description = "`malformed_json`, `invalid_input` (with `field`: `lines[2].productId`), `insufficient_payment`", body = ErrorBody),
        (status = 403, description = "`forbidden`: a price override or discount without manager or admin, or the store is suspended", body = ErrorBody),
        (status = 409, description = "`idempotency_mismatch`: this `clientRef` was used for a different sale", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApprovalHeader(approval): ApprovalHeader,
    JsonBytes(raw): JsonBytes,
) -> ApiResult<Response> {
    let (body, hash) = parse_sale(&raw)?;
    let client_ref = client_ref(body.client_ref.as_deref(), &hash)?;
    let (cart, tenders) = (body.cart()?, body.tenders());
    let db = &*state.store;
    let sold = approvals::with_approval(db, caller.as_actor(), ApprovalAction::Sale, approval, |actor| {
        checkout::sell(db, &state.cache, &caller.settings, actor, &cart, &tenders, client_ref)
    })
    .await?;
    Ok(match sold {
        Sold::Created(sale) => (StatusCode::CREATED, Json(SaleView::from(&sale))),
        Sold::Replayed(sale) => (StatusCode::OK, Json(SaleView::from(&sale))),
    }
    .into_response())
}

/// Quote a sale
///
/// The lines and totals the sale would have now, computed by the same code with the same checks
/// and errors; writes nothing, takes no invoice number. `clientRef` and `payments` are ignored.
#[utoipa::path(
    post,
    path = "/api/v1/sales/quote",
    operation_id = "quoteSale",
    tag = "sales",
    params(("X-Approval" = Option<uuid::Uuid>, Header, description = "A manager's approval of this action for the caller (`POST /approvals`)")),
    request_body = SaleBody,
    responses(
        (status = 200, description = "The priced cart", body = QuoteView),
        Authenticated,
        BadBody,
        (status = 403, description = "`forbidden`: a price override or discount without manager or admin, or the store is suspended", body = ErrorBody),
    )
)]
pub async fn quote(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApprovalHeader(approval): ApprovalHeader,
    JsonBytes(raw): JsonBytes,
) -> ApiResult<Json<QuoteView>> {
    let (body, _) = parse_sale(&raw)?;
    let cart = body.cart()?;
    let actor = approvals::peek(&*state.store, caller.as_actor(), ApprovalAction::Sale, approval).await?;
    let priced = checkout::quote(&*state.store, &state.cache, &caller.settings, actor, &cart).await?;
    Ok(Json(QuoteView::from(&priced)))
}

/// Get a sale
#[utoipa::path(
    get,
    path = "/api/v1/sales/{id}",
    operation_id = "getSale",
    tag = "sales",
    params(("id" = uuid::Uuid, Path, description = "The sale's id")),
    responses(
        (status = 200, description = "The sale, with its refunds", body = SaleView),
        StoreRead,
        NotFound,
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<SaleView>> {
    let sale = state.store.get_sale(&caller.store, parse_id(&id)?).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(SaleView::from(&sale)))
}

/// Get a sale by its invoice number
#[utoipa::path(
    get,
    path = "/api/v1/sales/invoice/{invoiceNumber}",
    operation_id = "getSaleByInvoice",
    tag = "sales",
    params(("invoiceNumber" = String, Path, description = "The invoice number (`INV-000042`)")),
    responses(
        (status = 200, description = "The sale, with its refunds", body = SaleView),
        StoreRead,
        NotFound,
    )
)]
pub async fn by_invoice(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(invoice): Path<String>,
) -> ApiResult<Json<SaleView>> {
    let sale = state.store.get_sale_by_invoice(&caller.store, &invoice).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(SaleView::from(&sale)))
}
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// From (inclusive): a local day `YYYY-MM-DD` or an RFC 3339 instant.
    from: Option<String>,
    /// To: a local day `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
    to: Option<String>,
    status: Option<SaleStatus>,
    #[param(value_type = Option<uuid::Uuid>)]
    customer_id: Option<Id>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page (with the same filters).
    cursor: Option<String>,
}

/// List sales
///
/// `GET /sales?from=&to=&status=&customerId=`: newest first (by `soldAt`).
#[utoipa::path(
    get,
    path = "/api/v1/sales",
    operation_id = "listSales",
    tag = "sales",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of sales, newest first", body = Page<SaleSummary>),
        StoreRead,
        (status = 400, description = "`invalid_input` (with `field`)", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<SaleSummary>>> {
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), caller.timezone())?;
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&[
        "sales",
        q.from.as_deref().unwrap_or(""),
        q.to.as_deref().unwrap_or(""),
        q.status.map_or("", SaleStatus::as_str),
        &q.customer_id.map(|c| c.to_string()).unwrap_or_default(),
    ]);
    let before = pagination::decode(q.cursor.as_deref(), &filters)?;
    let filter = SaleFilter { from, to, status: q.status, customer_id: q.customer_id, before, limit: limit + 1 };
    let rows = state.store.list_sales(&caller.store, &filter).await?;
    Ok(Json(pagination::page(rows, limit, &filters, |s| (s.sold_at, s.id), SaleSummary::from)))
}

/// Void a sale (manager, admin)
///
/// Stock comes back, the invoice number stays taken.
#[utoipa::path(
    post,
    path = "/api/v1/sales/{id}/void",
    operation_id = "voidSale",
    tag = "sales",
    params(("id" = uuid::Uuid, Path, description = "The sale's id"), ("X-Approval" = Option<uuid::Uuid>, Header, description = "A manager's approval of this action for the caller (`POST /approvals`)")),
    responses(
        (status = 200, description = "The sale, with `status: \"voided\"`", body = SaleView),
        ManagerOnly,
        NotFound,
        BadApproval,
        (status = 409, description = "`conflict`: already voided, or the sale has refunds", body = ErrorBody),
    )
)]
pub async fn void(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApprovalHeader(approval): ApprovalHeader,
    Path(id): Path<String>,
) -> ApiResult<Json<SaleView>> {
    let (db, id) = (&*state.store, parse_id(&id)?);
    let sale = approvals::with_approval(db, caller.as_actor(), ApprovalAction::Void, approval, |actor| {
        void::void(db, actor, id)
    })
    .await?;
    Ok(Json(SaleView::from(&sale)))
}

/// Refund some of a sale (manager, admin)
///
/// `POST /sales/{id}/refunds` (manager, admin) → `201` with the refund and the sale. A refunded
/// line returns its total × refunded ÷ sold quantity, rounded half up, the last refund of a line
/// taking what remains. Status becomes `partially_refunded` or `refunded`.
#[utoipa::path(
    post,
    path = "/api/v1/sales/{id}/refunds",
    operation_id = "refundSale",
    tag = "sales",
    params(("id" = uuid::Uuid, Path, description = "The sale's id"), ("X-Approval" = Option<uuid::Uuid>, Header, description = "A manager's approval of this action for the caller (`POST /approvals`)")),
    request_body = RefundBody,
    responses(
        (status = 201, description = "The refund, with the sale as it is now", body = RefundWithSale),
        (status = 200, description = "This `clientRef`'s refund, with the sale as it is now", body = RefundWithSale),
        ManagerOnly,
        TooLarge,
        NotFound,
        (status = 400, description = "`malformed_json`, `invalid_input` (with `field`; also more than was sold)", body = ErrorBody),
        (status = 409, description = "`conflict`: the sale is voided; `idempotency_mismatch`: this `clientRef` was used for another request", body = ErrorBody),
    )
)]
pub async fn refund(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApprovalHeader(approval): ApprovalHeader,
    Path(id): Path<String>,
    JsonBytes(raw): JsonBytes,
) -> ApiResult<Response> {
    let sale_id = parse_id(&id)?;
    let request = parse_refund(&raw)?;
    let db = &*state.store;
    let done = approvals::with_approval(db, caller.as_actor(), ApprovalAction::Refund, approval, |actor| {
        refund::refund(db, actor, sale_id, request)
    })
    .await?;
    let (status, (sale, refund)) = match done {
        Idempotent::Created(done) => (StatusCode::CREATED, done),
        Idempotent::Replayed { existing, .. } => (StatusCode::OK, existing),
    };
    Ok((status, Json(RefundWithSale::new(&sale, &refund))).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PaymentsQuery {
    #[param(value_type = Option<uuid::Uuid>)]
    sale_id: Option<Id>,
    method: Option<PaymentMethod>,
    /// From (inclusive): a local day `YYYY-MM-DD` or an RFC 3339 instant.
    from: Option<String>,
    /// To: a local day `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
    to: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page (with the same filters).
    cursor: Option<String>,
}

/// List payments
///
/// `GET /payments?saleId=&method=&from=&to=`: newest first; refund payouts carry `refundId`.
#[utoipa::path(
    get,
    path = "/api/v1/payments",
    operation_id = "listPayments",
    tag = "sales",
    params(PaymentsQuery),
    responses(
        (status = 200, description = "A page of payments, newest first", body = Page<PaymentView>),
        StoreRead,
        (status = 400, description = "`invalid_input` (with `field`)", body = ErrorBody),
    )
)]
pub async fn payments(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<PaymentsQuery>,
) -> ApiResult<Json<Page<PaymentView>>> {
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), caller.timezone())?;
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&[
        "payments",
        &q.sale_id.map(|c| c.to_string()).unwrap_or_default(),
        q.method.map_or("", PaymentMethod::as_str),
        q.from.as_deref().unwrap_or(""),
        q.to.as_deref().unwrap_or(""),
    ]);
    let before = pagination::decode(q.cursor.as_deref(), &filters)?;
    let filter =
        tills_storage::PaymentFilter { sale_id: q.sale_id, method: q.method, from, to, before, limit: limit + 1 };
    let rows = state.store.list_payments(&caller.store, &filter).await?;
    Ok(Json(pagination::page(rows, limit, &filters, |p| (p.created_at, p.id), |p| PaymentView::from(&p))))
}
