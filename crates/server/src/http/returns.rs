//! Returns without a receipt: `POST /returns` (manager, or with a manager's approval),
//! `GET /returns/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tills_domain::{ApprovalAction, Id, Money, PaymentMethod, Quantity};
use tills_storage::ReturnRecord;

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApprovalHeader, JsonBytes, from_value_ref, parse_id, parse_value};
use crate::http::sales::body::{PaymentBody, client_ref, content_hash};
use crate::openapi::{BadBody, ErrorBody, ManagerOnly, NotFound, StoreRead};
use crate::services::approvals;
use crate::services::checkout::{Item, Tender};
use crate::services::returns::{self, GoodsBack, ReturnLine, Returned};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReturnBody {
    /// The same `clientRef` again answers the original return (`200`).
    client_ref: Option<String>,
    /// Why the goods came back (1-200 characters).
    #[schema(min_length = 1, max_length = 200)]
    reason: String,
    /// Default true: the goods go back to stock.
    restock: Option<bool>,
    /// 1-1000 lines, by `productId` (with an optional `unitId` pack) or by `barcode`.
    lines: Vec<ReturnLineBody>,
    /// The payouts: they must come to the return's total.
    payments: Vec<PaymentBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReturnLineBody {
    #[schema(value_type = Option<uuid::Uuid>)]
    product_id: Option<Id>,
    barcode: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    unit_id: Option<Id>,
    /// Default 1; packs for a pack; not with a scale label.
    #[schema(value_type = Option<crate::openapi::Quantity>)]
    quantity: Option<Quantity>,
    /// What to give back for each (default: the catalog's price now).
    #[schema(value_type = Option<crate::openapi::Money>)]
    price: Option<Money>,
}

/// A line of a return.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReturnLineView {
    #[schema(value_type = uuid::Uuid)]
    product_id: Id,
    name: String,
    barcode: Option<String>,
    /// Base units taken back.
    #[schema(value_type = crate::openapi::Quantity)]
    quantity: Quantity,
    price: i64,
    tax_rate: i32,
    tax: i64,
    total: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayoutView {
    method: PaymentMethod,
    amount: i64,
    reference: Option<String>,
}

/// A return without a receipt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReturnView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    client_ref: Option<String>,
    reason: String,
    restock: bool,
    subtotal: i64,
    tax_total: i64,
    total: i64,
    lines: Vec<ReturnLineView>,
    payments: Vec<PayoutView>,
    /// The shift it was made in.
    #[schema(value_type = Option<uuid::Uuid>)]
    shift_id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    created_by: Option<Id>,
    /// The manager who approved it at the till, when one did.
    #[schema(value_type = Option<uuid::Uuid>)]
    approved_by: Option<Id>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&ReturnRecord> for ReturnView {
    fn from(r: &ReturnRecord) -> Self {
        ReturnView {
            id: r.id,
            client_ref: r.client_ref.clone(),
            reason: r.reason.clone(),
            restock: r.restock,
            subtotal: r.subtotal,
            tax_total: r.tax_total,
            total: r.total,
            lines: r
                .lines
                .iter()
                .map(|l| ReturnLineView {
                    product_id: l.product_id,
                    name: l.name.clone(),
                    barcode: l.barcode.clone(),
                    quantity: Quantity::from_milli(l.quantity_milli).unwrap_or_default(),
                    price: l.price,
                    tax_rate: l.tax_rate,
                    tax: l.tax,
                    total: l.total,
                })
                .collect(),
            payments: r
                .payouts
                .iter()
                .map(|p| PayoutView { method: p.method, amount: p.amount, reference: p.reference.clone() })
                .collect(),
            shift_id: r.shift_id,
            created_by: r.created_by,
            approved_by: r.approved_by,
            created_at: r.created_at,
        }
    }
}

/// Take goods back without a receipt (manager, admin, or with a manager's approval)
///
/// Each line at the catalog's price now unless `price` is given; the payouts must come to the
/// total. Counted under refunds in the daily report and in the shift it was made in.
#[utoipa::path(
    post,
    path = "/api/v1/returns",
    operation_id = "createReturn",
    tag = "sales",
    params(("X-Approval" = Option<uuid::Uuid>, Header, description = "A manager's approval (`return`) for a cashier")),
    request_body = ReturnBody,
    responses(
        (status = 201, description = "The return", body = ReturnView),
        (status = 200, description = "This `clientRef`'s return", body = ReturnView),
        ManagerOnly,
        BadBody,
        (status = 409, description = "`idempotency_mismatch`: this `clientRef` was used for another return", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApprovalHeader(approval): ApprovalHeader,
    JsonBytes(raw): JsonBytes,
) -> ApiResult<Response> {
    let mut value = parse_value(&raw)?;
    let body: ReturnBody = from_value_ref(&value)?;
    if let Value::Object(map) = &mut value {
        map.remove("clientRef");
    }
    let client_ref = client_ref(body.client_ref.as_deref(), &content_hash(&value)?)?;
    let lines = body
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let item = match (&l.product_id, &l.barcode) {
                (Some(id), None) => Item::Product { id: *id, unit_id: l.unit_id },
                (None, Some(code)) if l.unit_id.is_none() => Item::Barcode(code.clone()),
                _ => {
                    return Err(ApiError::invalid(
                        format!("lines[{i}]"),
                        "a line names its product by productId (and unitId) or by barcode",
                    ));
                }
            };
            Ok(ReturnLine { item, quantity: l.quantity, price: l.price })
        })
        .collect::<ApiResult<_>>()?;
    let goods = GoodsBack {
        client_ref,
        reason: body.reason,
        restock: body.restock.unwrap_or(true),
        lines,
        payouts: body
            .payments
            .iter()
            .map(|p| Tender { method: p.method, amount: p.amount, reference: p.reference.clone() })
            .collect(),
    };
    let db = &*state.store;
    let returned = approvals::with_approval(db, caller.as_actor(), ApprovalAction::Return, approval, |actor| {
        returns::take_back(db, &state.cache, &caller.settings, actor, goods)
    })
    .await?;
    Ok(match returned {
        Returned::Created(r) => (StatusCode::CREATED, Json(ReturnView::from(&r))),
        Returned::Replayed(r) => (StatusCode::OK, Json(ReturnView::from(&r))),
    }
    .into_response())
}

/// Get a return
#[utoipa::path(
    get,
    path = "/api/v1/returns/{id}",
    operation_id = "getReturn",
    tag = "sales",
    params(("id" = uuid::Uuid, Path, description = "The return's id")),
    responses((status = 200, description = "The return", body = ReturnView), StoreRead, NotFound)
)]
pub async fn get(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<ReturnView>> {
    let r = state.store.get_return(&caller.store, parse_id(&id)?).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(ReturnView::from(&r)))
}
