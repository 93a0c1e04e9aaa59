//! Cash-drawer shifts: open with a float, pay in and out, the X report, the Z close.
//!
//! `POST /shifts`, `GET /shifts`, `GET /shifts/current`, `GET /shifts/{id}`,
//! `POST /shifts/{id}/cash-movements`, `GET /shifts/{id}/report`, `POST /shifts/{id}/close`.
//! A cashier sees and works their own shifts; managers and admins any of the store's.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tills_domain::{ApprovalAction, CashMovementKind, Id, Money, ShiftStatus};
use tills_storage::{CashMovementRecord, ShiftFilter, ShiftRecord};

use crate::auth::StoreCaller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, ApprovalHeader, parse_id};
use crate::http::pagination::{self, Page};
use crate::openapi::{BadBody, BadPage, ErrorBody, NotFound, StoreRead};
use crate::services::approvals;
use crate::services::shifts::{self, Count, ShiftFigures};
use crate::state::AppState;
use crate::time;

/// A shift: open, or closed with its count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShiftView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    terminal: String,
    #[schema(value_type = uuid::Uuid)]
    cashier_id: Id,
    status: ShiftStatus,
    /// Minor units.
    opening_float: i64,
    opened_at: chrono::DateTime<chrono::Utc>,
    closed_at: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(value_type = Option<uuid::Uuid>)]
    closed_by: Option<Id>,
    /// The store's Z number of the close: gapless, in the order of closes.
    z_number: Option<i64>,
    /// What the drawer should hold at the close.
    expected_cash: Option<i64>,
    counted_cash: Option<i64>,
    /// Counted − expected: above 0 over, below 0 short.
    difference: Option<i64>,
    /// The count per denomination (minor units → count), when it was given.
    #[schema(value_type = Option<BTreeMap<String, i64>>)]
    denominations: Option<serde_json::Value>,
    note: Option<String>,
}

impl From<&ShiftRecord> for ShiftView {
    fn from(s: &ShiftRecord) -> Self {
        ShiftView {
            id: s.id,
            terminal: s.terminal.clone(),
            cashier_id: s.cashier_id,
            status: s.status,
            opening_float: s.opening_float,
            opened_at: s.opened_at,
            closed_at: s.closed_at,
            closed_by: s.closed_by,
            z_number: s.z_number,
            expected_cash: s.expected_cash,
            counted_cash: s.counted_cash,
            difference: s.difference,
            denominations: s.denominations.clone(),
            note: s.note.clone(),
        }
    }
}

/// Cash in or out of the drawer without a sale, or the drawer opened for nothing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CashMovementView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    #[schema(value_type = uuid::Uuid)]
    shift_id: Id,
    kind: CashMovementKind,
    /// Minor units (0 for a no-sale).
    amount: i64,
    reason: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    created_by: Option<Id>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&CashMovementRecord> for CashMovementView {
    fn from(m: &CashMovementRecord) -> Self {
        CashMovementView {
            id: m.id,
            shift_id: m.shift_id,
            kind: m.kind,
            amount: m.amount,
            reason: m.reason.clone(),
            created_by: m.created_by,
            created_at: m.created_at,
        }
    }
}

/// A shift's report: `x` while it is open (as of now), `z` once closed (as of its close, never
/// changing again).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShiftReportView {
    /// `x` (open) or `z` (closed).
    #[schema(pattern = "^[xz]$")]
    kind: &'static str,
    shift: ShiftView,
    figures: ShiftFigures,
    movements: Vec<CashMovementView>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenShiftBody {
    /// The terminal's name (1-40 characters): one open shift per terminal.
    #[schema(min_length = 1, max_length = 40, examples("till-1"))]
    terminal: String,
    /// The cash put in the drawer to start with, in minor units.
    #[schema(value_type = crate::openapi::Money)]
    opening_float: Money,
}

/// Open a shift
///
/// The caller's cash-drawer session on a terminal, with its opening float. One open shift per
/// terminal and per cashier. Sales, refunds and voids the caller makes while it is open belong
/// to it.
#[utoipa::path(
    post,
    path = "/api/v1/shifts",
    operation_id = "openShift",
    tag = "shifts",
    request_body = OpenShiftBody,
    responses(
        (status = 201, description = "The open shift", body = ShiftView),
        StoreRead,
        BadBody,
        (status = 409, description = "`conflict`: a shift is open on this terminal, or the caller has one open", body = ErrorBody),
    )
)]
pub async fn open(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiJson(body): ApiJson<OpenShiftBody>,
) -> ApiResult<(StatusCode, Json<ShiftView>)> {
    let shift = shifts::open(&*state.store, caller.as_actor(), &body.terminal, body.opening_float.minor()).await?;
    Ok((StatusCode::CREATED, Json(ShiftView::from(&shift))))
}

/// The caller's open shift
#[utoipa::path(
    get,
    path = "/api/v1/shifts/current",
    operation_id = "currentShift",
    tag = "shifts",
    responses(
        (status = 200, description = "The caller's open shift", body = ShiftView),
        StoreRead,
        (status = 404, description = "`not_found`: the caller has no open shift", body = ErrorBody),
    )
)]
pub async fn current(State(state): State<AppState>, caller: StoreCaller) -> ApiResult<Json<ShiftView>> {
    let shift = shifts::current(&*state.store, caller.as_actor()).await?;
    Ok(Json(ShiftView::from(&shift)))
}

/// Get a shift
#[utoipa::path(
    get,
    path = "/api/v1/shifts/{id}",
    operation_id = "getShift",
    tag = "shifts",
    params(("id" = uuid::Uuid, Path, description = "The shift's id")),
    responses(
        (status = 200, description = "The shift", body = ShiftView),
        StoreRead,
        NotFound,
        (status = 403, description = "`forbidden`: another cashier's shift, or the store is suspended", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<ShiftView>> {
    let shift = shifts::get(&*state.store, caller.as_actor(), parse_id(&id)?).await?;
    Ok(Json(ShiftView::from(&shift)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    status: Option<ShiftStatus>,
    /// Opened from (inclusive): a local day `YYYY-MM-DD` or an RFC 3339 instant.
    from: Option<String>,
    /// Opened before: a local day `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
    to: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page (with the same filters).
    cursor: Option<String>,
}

/// List shifts
///
/// Newest first. Managers and admins see every shift of the store, cashiers their own.
#[utoipa::path(
    get,
    path = "/api/v1/shifts",
    operation_id = "listShifts",
    tag = "shifts",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of shifts, newest first", body = Page<ShiftView>),
        StoreRead,
        BadPage,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<ShiftView>>> {
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), caller.timezone())?;
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&[
        "shifts",
        q.status.map_or("", ShiftStatus::as_str),
        q.from.as_deref().unwrap_or(""),
        q.to.as_deref().unwrap_or(""),
    ]);
    let before = pagination::decode(q.cursor.as_deref(), &filters)?;
    let filter = ShiftFilter { status: q.status, cashier_id: None, from, to, before, limit: limit + 1 };
    let rows = shifts::list(&*state.store, caller.as_actor(), filter).await?;
    Ok(Json(pagination::page(rows, limit, &filters, |s| (s.opened_at, s.id), |s| ShiftView::from(&s))))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashMovementBody {
    kind: CashMovementKind,
    /// Above 0 for a pay-in or pay-out, 0 for a no-sale (minor units).
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
    /// Why (1-200 characters): it goes to the audit log.
    #[schema(min_length = 1, max_length = 200)]
    reason: String,
}

/// Pay in, pay out, or open the drawer without a sale
///
/// In an open shift of the caller's (or any, for a manager); written to the audit log.
#[utoipa::path(
    post,
    path = "/api/v1/shifts/{id}/cash-movements",
    operation_id = "addCashMovement",
    tag = "shifts",
    params(("id" = uuid::Uuid, Path, description = "The shift's id")),
    request_body = CashMovementBody,
    responses(
        (status = 201, description = "The movement", body = CashMovementView),
        StoreRead,
        BadBody,
        NotFound,
        (status = 403, description = "`forbidden`: another cashier's shift, or the store is suspended", body = ErrorBody),
        (status = 409, description = "`conflict`: the shift is closed", body = ErrorBody),
    )
)]
pub async fn move_cash(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CashMovementBody>,
) -> ApiResult<(StatusCode, Json<CashMovementView>)> {
    let id = parse_id(&id)?;
    let moved =
        shifts::move_cash(&*state.store, caller.as_actor(), id, body.kind, body.amount.minor(), &body.reason).await?;
    Ok((StatusCode::CREATED, Json(CashMovementView::from(&moved))))
}

/// A shift's report (X or Z)
///
/// While the shift is open, its figures as of now (the X report); once closed, the Z report as
/// it was at the close. Sales count, gross, discounts, tax, refunds, voids, takings per payment
/// method, and the cash the drawer should hold.
#[utoipa::path(
    get,
    path = "/api/v1/shifts/{id}/report",
    operation_id = "shiftReport",
    tag = "shifts",
    params(("id" = uuid::Uuid, Path, description = "The shift's id")),
    responses(
        (status = 200, description = "The X or Z report", body = ShiftReportView),
        StoreRead,
        NotFound,
        (status = 403, description = "`forbidden`: another cashier's shift, or the store is suspended", body = ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<ShiftReportView>> {
    let r = shifts::report(&*state.store, caller.as_actor(), parse_id(&id)?).await?;
    Ok(Json(ShiftReportView {
        kind: if r.shift.status == ShiftStatus::Open { "x" } else { "z" },
        shift: ShiftView::from(&r.shift),
        figures: r.figures,
        movements: r.movements.iter().map(CashMovementView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloseShiftBody {
    /// The cash counted in the drawer (minor units).
    #[schema(value_type = crate::openapi::Money)]
    counted_cash: Money,
    /// The count per denomination in minor units (`{"5000": 2, "100": 3}`: two 50.00 notes and
    /// three 1.00 coins); must add up to `countedCash`.
    denominations: Option<BTreeMap<String, i64>>,
    /// At most 500 characters.
    note: Option<String>,
}

/// Close a shift (Z)
///
/// The caller's shift, or any for a manager (a forgotten one). Records the expected cash, the
/// count and the difference, gives the close the store's next Z number, and freezes the Z
/// report: nothing changes a closed shift afterwards. A difference beyond the store's
/// `cashTolerance` needs a manager.
#[utoipa::path(
    post,
    path = "/api/v1/shifts/{id}/close",
    operation_id = "closeShift",
    tag = "shifts",
    params(
        ("id" = uuid::Uuid, Path, description = "The shift's id"),
        ("X-Approval" = Option<uuid::Uuid>, Header, description = "A manager's approval (`close_shift`) of a difference beyond the tolerance"),
    ),
    request_body = CloseShiftBody,
    responses(
        (status = 200, description = "The closed shift", body = ShiftView),
        StoreRead,
        BadBody,
        NotFound,
        (status = 400, description = "`invalid_input` (with `field`): the denominations do not add up to the count", body = ErrorBody),
        (status = 403, description = "`forbidden`: another cashier's shift, a difference beyond the tolerance without a manager, or the store is suspended", body = ErrorBody),
        (status = 409, description = "`conflict`: the shift is already closed", body = ErrorBody),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApprovalHeader(approval): ApprovalHeader,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CloseShiftBody>,
) -> ApiResult<Json<ShiftView>> {
    let count = Count { counted_cash: body.counted_cash.minor(), denominations: body.denominations, note: body.note };
    let (db, id) = (&*state.store, parse_id(&id)?);
    let shift = approvals::with_approval(db, caller.as_actor(), ApprovalAction::CloseShift, approval, |actor| {
        shifts::close(db, &caller.settings, actor, id, count, &*state.journal)
    })
    .await?;
    Ok(Json(ShiftView::from(&shift)))
}
