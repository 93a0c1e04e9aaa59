//! Sales: `POST /sales` (checkout), `POST /sales/quote`, reads, lists, the CSV export, voids and
//! refunds.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tills_domain::{Id, Money, Quantity, new_id};
use tills_storage::{
    Idempotent, NewAudit, PaymentRecord, RefundRecord, RefundRequest, SaleFilter, SaleHeader, SaleLineRecord,
    SaleRecord,
};

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, JsonBytes, parse_id};
use crate::http::pagination::{self, Page};
use crate::openapi::{Authenticated, BadBody, ErrorBody, ManagerOnly, NotFound, StoreRead, TooLarge};
use crate::services::checkout::{self, PaymentBody, SaleBody};
use crate::state::AppState;
use crate::time;

/// A sale line; amounts in minor currency units.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineView {
    /// Absent in a quote.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    product_id: Option<Id>,
    name: String,
    barcode: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    unit_id: Option<Id>,
    /// Base units per pack (1 without a pack).
    factor: i64,
    #[schema(value_type = crate::openapi::Quantity)]
    quantity: Quantity,
    /// The unit (or pack) price the line sold at.
    price: i64,
    discount: i64,
    /// Basis points.
    tax_rate: i32,
    tax: i64,
    /// Net, plus tax when prices exclude tax.
    total: i64,
}

/// The tax of the lines of one rate.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaxBandView {
    /// Basis points.
    rate: i64,
    /// What the tax is levied on.
    base: i64,
    tax: i64,
}

/// A payment of a sale, or a payout of a refund (with `refundId`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    #[schema(value_type = uuid::Uuid)]
    sale_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    refund_id: Option<Id>,
    #[schema(value_type = crate::openapi::PaymentMethod)]
    method: String,
    /// Minor currency units.
    amount: i64,
    reference: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&PaymentRecord> for PaymentView {
    fn from(p: &PaymentRecord) -> Self {
        PaymentView {
            id: p.id,
            sale_id: p.sale_id,
            refund_id: p.refund_id,
            method: p.method.clone(),
            amount: p.amount,
            reference: p.reference.clone(),
            created_at: p.created_at,
        }
    }
}

/// A refund of some of a sale's lines.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    #[schema(value_type = uuid::Uuid)]
    sale_id: Id,
    client_ref: Option<String>,
    restock: bool,
    total: i64,
    #[schema(value_type = Option<uuid::Uuid>)]
    created_by: Option<Id>,
    created_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = Vec<RefundLine>)]
    lines: Vec<serde_json::Value>,
    payments: Vec<PaymentView>,
}

impl From<&RefundRecord> for RefundView {
    fn from(r: &RefundRecord) -> Self {
        RefundView {
            id: r.id,
            sale_id: r.sale_id,
            client_ref: r.client_ref.clone(),
            restock: r.restock,
            total: r.total,
            created_by: r.created_by,
            created_at: r.created_at,
            lines: r
                .lines
                .iter()
                .map(|l| json!({"lineId": l.sale_line_id, "quantity": Quantity::from_milli(l.quantity_milli).unwrap_or_default(), "amount": l.amount}))
                .collect(),
            payments: r.payments.iter().map(PaymentView::from).collect(),
        }
    }
}

/// A line of a refund.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RefundLine {
    pub line_id: uuid::Uuid,
    #[schema(value_type = crate::openapi::Quantity)]
    pub quantity: Quantity,
    /// What this line returns: its total × refunded ÷ sold quantity, rounded half up.
    pub amount: i64,
}

/// `POST /sales/{id}/refunds` answers the refund with the sale as it is after it.
#[derive(utoipa::ToSchema)]
pub struct RefundWithSale {
    #[serde(flatten)]
    pub refund: RefundView,
    pub sale: SaleView,
}

/// A sale as API.md shows it (plus its refunds). Amounts in minor currency units:
/// `subtotal` = Σ gross, `discountTotal` = Σ discounts, `taxTotal` = Σ line tax, `total` = Σ
/// line totals.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaleView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    /// `invoicePrefix` + a gapless counter (`INV-000042`).
    invoice_number: String,
    #[schema(value_type = crate::openapi::SaleStatus)]
    status: String,
    client_ref: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    customer_id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    cashier_id: Option<Id>,
    note: Option<String>,
    lines: Vec<LineView>,
    subtotal: i64,
    discount_total: i64,
    tax_total: i64,
    tax_breakdown: Vec<TaxBandView>,
    total: i64,
    paid: i64,
    change: i64,
    payments: Vec<PaymentView>,
    refunds: Vec<RefundView>,
    offline: bool,
    sold_at: chrono::DateTime<chrono::Utc>,
    created_at: chrono::DateTime<chrono::Utc>,
}

fn line_view(l: &SaleLineRecord) -> LineView {
    LineView {
        id: Some(l.id),
        product_id: l.product_id,
        name: l.name.clone(),
        barcode: l.barcode.clone(),
        unit_id: l.unit_id,
        factor: l.factor,
        quantity: Quantity::from_milli(l.quantity_milli).unwrap_or_default(),
        price: l.price,
        discount: l.discount,
        tax_rate: l.tax_rate,
        tax: l.tax,
        total: l.total,
    }
}

/// Groups lines by tax rate; the base is what the tax is levied on (a line's total less its tax,
/// whether prices include tax or not).
fn breakdown(lines: impl Iterator<Item = (i64, i64, i64)>) -> Vec<TaxBandView> {
    let mut bands: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    for (rate, total, tax) in lines {
        let b = bands.entry(rate).or_default();
        b.0 += total - tax;
        b.1 += tax;
    }
    bands.into_iter().map(|(rate, (base, tax))| TaxBandView { rate, base, tax }).collect()
}

impl From<&SaleRecord> for SaleView {
    fn from(s: &SaleRecord) -> Self {
        let h = &s.header;
        SaleView {
            id: h.id,
            invoice_number: h.invoice_number.clone(),
            status: h.status.clone(),
            client_ref: h.client_ref.clone(),
            customer_id: h.customer_id,
            cashier_id: h.cashier_id,
            note: h.note.clone(),
            lines: s.lines.iter().map(line_view).collect(),
            subtotal: h.subtotal,
            discount_total: h.discount_total,
            tax_total: h.tax_total,
            tax_breakdown: breakdown(s.lines.iter().map(|l| (i64::from(l.tax_rate), l.total, l.tax))),
            total: h.total,
            paid: h.paid,
            change: h.change,
            payments: s.payments.iter().map(PaymentView::from).collect(),
            refunds: s.refunds.iter().map(RefundView::from).collect(),
            offline: h.offline,
            sold_at: h.sold_at,
            created_at: h.created_at,
        }
    }
}

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
    JsonBytes(raw): JsonBytes,
) -> ApiResult<Response> {
    let (body, hash) = checkout::parse_sale(&raw)?;
    let client_ref = body.client_ref.as_deref().map(checkout::valid_client_ref).transpose()?;
    let sold = async {
        let settings = state.settings(&caller.store).await?;
        checkout::check_customer(&state, &caller.store, body.customer_id).await?;
        let cart = checkout::price_cart(&state, &caller, &settings, &body).await?;
        let (payments, paid, change) =
            checkout::take_payments(cart.totals.total, body.payments.as_deref().unwrap_or(&[]))?;
        let sale = checkout::new_sale(&caller, &body, hash.clone(), cart, payments, paid, change)?;
        Ok::<_, ApiError>(state.store.create_sale(&caller.store, sale).await?)
    }
    .await;
    match sold {
        Ok(Idempotent::Created(sale)) => Ok((StatusCode::CREATED, Json(SaleView::from(&sale))).into_response()),
        Ok(Idempotent::Replayed { existing, same_request: true }) => {
            Ok((StatusCode::OK, Json(SaleView::from(&existing))).into_response())
        }
        Ok(Idempotent::Replayed { .. }) => Err(mismatch()),
        // A retry gets its sale even when the catalog changed since and pricing it again fails;
        // the lookup is paid only by requests that fail (create_sale finds the others' twins).
        Err(e) => match &client_ref {
            Some(client_ref) => match state.store.find_client_ref(&caller.store, client_ref).await? {
                Some((kind, stored_hash, id)) => replay(&state, &caller, &kind, stored_hash == hash, id).await,
                None => Err(e),
            },
            None => Err(e),
        },
    }
}

fn mismatch() -> ApiError {
    ApiError::conflict("idempotency_mismatch", "this clientRef was used for a different sale")
}

async fn replay(state: &AppState, caller: &StoreCaller, kind: &str, same: bool, id: Id) -> ApiResult<Response> {
    if kind != "sale" || !same {
        return Err(mismatch());
    }
    let sale = state.store.get_sale(&caller.store, id).await?.ok_or(ApiError::NotFound)?;
    Ok((StatusCode::OK, Json(SaleView::from(&sale))).into_response())
}

/// What a sale would be now.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteView {
    lines: Vec<LineView>,
    subtotal: i64,
    discount_total: i64,
    tax_total: i64,
    tax_breakdown: Vec<TaxBandView>,
    total: i64,
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
    JsonBytes(raw): JsonBytes,
) -> ApiResult<Json<QuoteView>> {
    let (body, _) = checkout::parse_sale(&raw)?;
    let settings = state.settings(&caller.store).await?;
    checkout::check_customer(&state, &caller.store, body.customer_id).await?;
    let cart = checkout::price_cart(&state, &caller, &settings, &body).await?;
    let t = &cart.totals;
    let lines = cart
        .lines
        .iter()
        .zip(&t.lines)
        .map(|(l, lt)| LineView {
            id: None,
            product_id: Some(l.product.id),
            name: l.product.name.clone(),
            barcode: l.barcode.clone(),
            unit_id: l.unit_id,
            factor: l.factor,
            quantity: Quantity::from_milli(l.quantity_milli).unwrap_or_default(),
            price: l.price,
            discount: lt.discount,
            tax_rate: l.product.tax_rate,
            tax: lt.tax,
            total: lt.total,
        })
        .collect();
    Ok(Json(QuoteView {
        lines,
        subtotal: t.subtotal,
        discount_total: t.discount_total,
        tax_total: t.tax_total,
        tax_breakdown: t.tax_breakdown.iter().map(|b| TaxBandView { rate: b.rate, base: b.base, tax: b.tax }).collect(),
        total: t.total,
    }))
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
    #[param(value_type = Option<crate::openapi::SaleStatus>)]
    status: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    customer_id: Option<Id>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page (with the same filters).
    cursor: Option<String>,
}

/// A sale in a list: the sale without its lines, payments and refunds.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaleSummary {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    invoice_number: String,
    #[schema(value_type = crate::openapi::SaleStatus)]
    status: String,
    client_ref: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    customer_id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    cashier_id: Option<Id>,
    subtotal: i64,
    discount_total: i64,
    tax_total: i64,
    total: i64,
    paid: i64,
    change: i64,
    offline: bool,
    sold_at: chrono::DateTime<chrono::Utc>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<SaleHeader> for SaleSummary {
    fn from(h: SaleHeader) -> Self {
        SaleSummary {
            id: h.id,
            invoice_number: h.invoice_number,
            status: h.status,
            client_ref: h.client_ref,
            customer_id: h.customer_id,
            cashier_id: h.cashier_id,
            subtotal: h.subtotal,
            discount_total: h.discount_total,
            tax_total: h.tax_total,
            total: h.total,
            paid: h.paid,
            change: h.change,
            offline: h.offline,
            sold_at: h.sold_at,
            created_at: h.created_at,
        }
    }
}

const STATUSES: [&str; 4] = ["completed", "voided", "partially_refunded", "refunded"];

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
    let tz = state.timezone(&caller.store).await?;
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), tz)?;
    if let Some(s) = &q.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(ApiError::invalid("status", "status is completed, voided, partially_refunded or refunded"));
    }
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&[
        "sales",
        q.from.as_deref().unwrap_or(""),
        q.to.as_deref().unwrap_or(""),
        q.status.as_deref().unwrap_or(""),
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
    params(("id" = uuid::Uuid, Path, description = "The sale's id")),
    responses(
        (status = 200, description = "The sale, with `status: \"voided\"`", body = SaleView),
        ManagerOnly,
        NotFound,
        (status = 409, description = "`conflict`: already voided, or the sale has refunds", body = ErrorBody),
    )
)]
pub async fn void(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<SaleView>> {
    caller.require_manager()?;
    let id = parse_id(&id)?;
    let audit = NewAudit::new("sale.void").by(caller.actor(), None).target(id);
    let sale = state.store.void_sale(&caller.store, id, caller.actor(), audit).await?;
    Ok(Json(SaleView::from(&sale)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundBody {
    /// The same `clientRef` again answers the original refund (`200`).
    client_ref: Option<String>,
    /// Default true: the refunded quantities go back to stock.
    restock: Option<bool>,
    lines: Vec<RefundLineBody>,
    /// Must equal the refund's total.
    #[serde(default)]
    payments: Vec<RefundPaymentBody>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundLineBody {
    /// A line of this sale.
    #[schema(value_type = uuid::Uuid)]
    line_id: Id,
    /// Above 0; with earlier refunds at most what was sold.
    #[schema(value_type = crate::openapi::Quantity)]
    quantity: Quantity,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RefundPaymentBody {
    #[schema(value_type = crate::openapi::PaymentMethod)]
    method: String,
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
    reference: Option<String>,
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
    params(("id" = uuid::Uuid, Path, description = "The sale's id")),
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
    Path(id): Path<String>,
    JsonBytes(raw): JsonBytes,
) -> ApiResult<Response> {
    caller.require_manager()?;
    let sale_id = parse_id(&id)?;
    let value = crate::extract::parse_value(&raw)?;
    let body: RefundBody = crate::extract::from_value_ref(&value)?;
    if body.lines.is_empty() {
        return Err(ApiError::invalid("lines", "a refund has at least one line"));
    }
    if body.lines.len() > checkout::MAX_LINES {
        return Err(ApiError::invalid("lines", "too many lines"));
    }
    for (i, l) in body.lines.iter().enumerate() {
        if l.quantity.milli() <= 0 {
            return Err(ApiError::invalid(format!("lines[{i}].quantity"), "quantity must be above 0"));
        }
    }
    let payments: Vec<PaymentBody> = body
        .payments
        .into_iter()
        .map(|p| PaymentBody { method: p.method, amount: p.amount, reference: p.reference })
        .collect();
    let total_paid: i64 = payments.iter().map(|p| p.amount.minor()).sum();
    // The same method rules as a sale, with the refund's total known only inside the
    // transaction: here each payment is checked, there the sum.
    let (payments, _, _) = checkout::take_payments(total_paid, &payments)?;
    let client_ref = match &body.client_ref {
        Some(c) => {
            let mut normalized = value;
            if let serde_json::Value::Object(m) = &mut normalized {
                m.remove("clientRef");
            }
            Some((checkout::valid_client_ref(c)?, checkout::content_hash(&normalized)?))
        }
        None => None,
    };
    let request = RefundRequest {
        id: new_id(),
        client_ref,
        restock: body.restock.unwrap_or(true),
        lines: body.lines.iter().map(|l| (l.line_id, l.quantity.milli())).collect(),
        payments,
        created_by: caller.actor(),
        audit: NewAudit::new("sale.refund").by(caller.actor(), None).target(sale_id),
    };
    let (status, (sale, refund)) = match state.store.create_refund(&caller.store, sale_id, request).await? {
        Idempotent::Created(r) => (StatusCode::CREATED, r),
        Idempotent::Replayed { existing, same_request: true } => (StatusCode::OK, existing),
        Idempotent::Replayed { .. } => {
            return Err(ApiError::conflict("idempotency_mismatch", "this clientRef was used for a different refund"));
        }
    };
    let mut view = serde_json::to_value(RefundView::from(&refund)).map_err(|e| ApiError::Internal(e.to_string()))?;
    view["sale"] = serde_json::to_value(SaleView::from(&sale)).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((status, Json(view)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// From (inclusive): a local day `YYYY-MM-DD` or an RFC 3339 instant.
    from: Option<String>,
    /// To: a local day `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
    to: Option<String>,
}

/// Export sales as CSV (manager, admin)
///
/// `GET /sales/export.csv` (manager, admin): one row per line, streamed in pages so a month of
/// a busy store never sits in memory.
#[utoipa::path(
    get,
    path = "/api/v1/sales/export.csv",
    operation_id = "exportSalesCsv",
    tag = "sales",
    params(ExportQuery),
    responses(
        (status = 200, description = "One row per sale line: invoiceNumber, status, soldAt, offline, line, productId, name, barcode, factor, quantity, price, discount, taxRate, tax, total", body = String, content_type = "text/csv"),
        ManagerOnly,
        (status = 400, description = "`invalid_input`: a bad `from` or `to`", body = ErrorBody),
    )
)]
pub async fn export_csv(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    caller.require_manager()?;
    let tz = state.timezone(&caller.store).await?;
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), tz)?;
    let store = caller.store.clone();
    let db = state.store.clone();
    const PAGE: i64 = 500;
    let header = "invoiceNumber,status,soldAt,offline,line,productId,name,barcode,factor,quantity,price,discount,taxRate,tax,total\n";
    let stream = async_stream(move |tx| async move {
        let _ = tx.send(Ok(Bytes::from_static(header.as_bytes()))).await;
        let mut after = None;
        loop {
            let rows = match db.export_lines(&store, from, to, after, PAGE).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "export failed mid-stream");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            let mut chunk = String::with_capacity(rows.len() * 120);
            for r in &rows {
                chunk.push_str(&csv_row(&[
                    &r.invoice_number,
                    &r.status,
                    &r.sold_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    if r.offline { "true" } else { "false" },
                    &(r.position + 1).to_string(),
                    &r.product_id.map(|p| p.to_string()).unwrap_or_default(),
                    &r.name,
                    r.barcode.as_deref().unwrap_or(""),
                    &r.factor.to_string(),
                    &Quantity::from_milli(r.quantity_milli).unwrap_or_default().to_string(),
                    &r.price.to_string(),
                    &r.discount.to_string(),
                    &r.tax_rate.to_string(),
                    &r.tax.to_string(),
                    &r.total.to_string(),
                ]));
            }
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == PAGE => after = Some((last.sold_at, last.sale_id, last.position)),
                _ => return,
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"sales.csv\""),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A CSV line, quoting fields that need it (RFC 4180), and neutralizing spreadsheet formulas.
fn csv_row(fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = if f.starts_with(['=', '+', '-', '@']) && f.parse::<f64>().is_err() {
            format!("'{f}")
        } else {
            (*f).to_owned()
        };
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
        }
    }
    out.push('\n');
    out
}

/// A stream fed by a task through a small channel (back-pressure: at most a few pages ahead).
fn async_stream<F, Fut>(f: F) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(f(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PaymentsQuery {
    #[param(value_type = Option<uuid::Uuid>)]
    sale_id: Option<Id>,
    #[param(value_type = Option<crate::openapi::PaymentMethod>)]
    method: Option<String>,
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
    let tz = state.timezone(&caller.store).await?;
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), tz)?;
    if let Some(m) = &q.method
        && !["cash", "card", "mobile", "voucher"].contains(&m.as_str())
    {
        return Err(ApiError::invalid("method", "method is cash, card, mobile or voucher"));
    }
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&[
        "payments",
        &q.sale_id.map(|c| c.to_string()).unwrap_or_default(),
        q.method.as_deref().unwrap_or(""),
        q.from.as_deref().unwrap_or(""),
        q.to.as_deref().unwrap_or(""),
    ]);
    let before = pagination::decode(q.cursor.as_deref(), &filters)?;
    let filter =
        tills_storage::PaymentFilter { sale_id: q.sale_id, method: q.method, from, to, before, limit: limit + 1 };
    let rows = state.store.list_payments(&caller.store, &filter).await?;
    Ok(Json(pagination::page(rows, limit, &filters, |p| (p.created_at, p.id), |p| PaymentView::from(&p))))
}
