//! Parked carts: `POST /carts` parks, `GET /carts` lists those waiting, `POST /carts/{id}/resume`
//! takes one (exactly once).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tills_domain::Id;
use tills_storage::ParkedCartRecord;

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, parse_id};
use crate::http::sales::body::LineBody;
use crate::openapi::{BadBody, ErrorBody, StoreRead};
use crate::services::carts::{self, Park};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParkBody {
    /// What the cashier will recognize it by ("lady in the red coat"): 1-80 characters.
    #[schema(min_length = 1, max_length = 80)]
    label: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    customer_id: Option<Id>,
    /// At most 500 characters.
    note: Option<String>,
    /// The cart's lines, as `POST /sales` takes them (1-1000).
    lines: Vec<LineBody>,
}

/// A parked cart.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParkedCartView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    label: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    customer_id: Option<Id>,
    note: Option<String>,
    /// The lines as they were parked (`POST /sales`'s line objects).
    #[schema(value_type = Vec<LineBody>)]
    lines: serde_json::Value,
    #[schema(value_type = Option<uuid::Uuid>)]
    created_by: Option<Id>,
    created_at: chrono::DateTime<chrono::Utc>,
    /// When it stops waiting (the store's `parkedCartHours` after it was parked).
    expires_at: chrono::DateTime<chrono::Utc>,
}

impl From<&ParkedCartRecord> for ParkedCartView {
    fn from(c: &ParkedCartRecord) -> Self {
        ParkedCartView {
            id: c.id,
            label: c.label.clone(),
            customer_id: c.customer_id,
            note: c.note.clone(),
            lines: c.lines.clone(),
            created_by: c.created_by,
            created_at: c.created_at,
            expires_at: c.expires_at,
        }
    }
}

/// The carts of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParkedCarts {
    items: Vec<ParkedCartView>,
}

/// Park a cart
///
/// Puts the current cart aside: it takes no stock and no invoice number, and waits for any
/// terminal of the store to resume it until it expires.
#[utoipa::path(
    post,
    path = "/api/v1/carts",
    operation_id = "parkCart",
    tag = "sales",
    request_body = ParkBody,
    responses(
        (status = 201, description = "The parked cart", body = ParkedCartView),
        StoreRead,
        BadBody,
    )
)]
pub async fn park(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiJson(body): ApiJson<ParkBody>,
) -> ApiResult<(StatusCode, Json<ParkedCartView>)> {
    if body.lines.is_empty() || body.lines.len() > crate::services::checkout::MAX_LINES {
        return Err(ApiError::invalid("lines", "a parked cart has 1 to 1000 lines"));
    }
    for (i, l) in body.lines.iter().enumerate() {
        if l.product_id.is_some() == l.barcode.is_some() {
            return Err(ApiError::invalid(
                format!("lines[{i}]"),
                "a line names its product by productId or by barcode",
            ));
        }
    }
    let lines = serde_json::to_value(&body.lines).map_err(|e| ApiError::Internal(e.to_string()))?;
    let cart = Park { label: body.label, customer_id: body.customer_id, note: body.note, lines };
    let parked = carts::park(&*state.store, &caller.settings, caller.as_actor(), cart).await?;
    Ok((StatusCode::CREATED, Json(ParkedCartView::from(&parked))))
}

/// The carts waiting
///
/// Parked, not resumed, not expired: newest first (at most 200).
#[utoipa::path(
    get,
    path = "/api/v1/carts",
    operation_id = "listParkedCarts",
    tag = "sales",
    responses((status = 200, description = "The carts waiting", body = ParkedCarts), StoreRead)
)]
pub async fn list(State(state): State<AppState>, caller: StoreCaller) -> ApiResult<Json<ParkedCarts>> {
    let waiting = carts::waiting(&*state.store, caller.as_actor()).await?;
    Ok(Json(ParkedCarts { items: waiting.iter().map(ParkedCartView::from).collect() }))
}

/// Resume a parked cart
///
/// Takes the cart for this terminal: of two terminals resuming it at once, exactly one gets it.
#[utoipa::path(
    post,
    path = "/api/v1/carts/{id}/resume",
    operation_id = "resumeCart",
    tag = "sales",
    params(("id" = uuid::Uuid, Path, description = "The cart's id")),
    responses(
        (status = 200, description = "The cart, now this terminal's", body = ParkedCartView),
        StoreRead,
        (status = 404, description = "`not_found`: no such cart in this store, or it expired", body = ErrorBody),
        (status = 409, description = "`conflict`: another terminal resumed it first", body = ErrorBody),
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<ParkedCartView>> {
    let cart = carts::resume(&*state.store, caller.as_actor(), parse_id(&id)?).await?;
    Ok(Json(ParkedCartView::from(&cart)))
}
