//! `GET /api/v1/audit?from=&to=&action=` (admin): who did what and when.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tills_domain::Id;
use tills_storage::{AuditFilter, AuditRecord};

use crate::auth::StoreCaller;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::http::pagination::{self, Page};
use crate::openapi::{AdminOnly, ErrorBody};
use crate::state::AppState;
use crate::time;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// From (inclusive): a local day `YYYY-MM-DD` or an RFC 3339 instant.
    from: Option<String>,
    /// To: a local day `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
    to: Option<String>,
    /// Only this action (`login.failed`, `user.role`, `sale.void`, ...).
    action: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// An audit entry; entries are never changed or deleted.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    #[schema(value_type = Option<uuid::Uuid>)]
    actor_id: Option<Id>,
    actor_email: Option<String>,
    /// `login.failed`, `support.token`, `user.create`, `user.role`, `sale.price_override`, ...
    action: String,
    target: Option<String>,
    /// Details of the action; their shape depends on it.
    detail: serde_json::Value,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<AuditRecord> for AuditView {
    fn from(a: AuditRecord) -> Self {
        AuditView {
            id: a.id,
            actor_id: a.actor_id,
            actor_email: a.actor_email,
            action: a.action,
            target: a.target,
            detail: a.detail,
            created_at: a.created_at,
        }
    }
}

/// The store's audit log (admin)
///
/// Who did what and when: failed logins, support tokens, user and role changes, price
/// overrides, discounts, voids, refunds, stock adjustments, store settings.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "listAudit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries", body = Page<AuditView>),
        AdminOnly,
        (status = 400, description = "`invalid_input`: a bad `from`, `to`, `limit` or `cursor`", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditView>>> {
    caller.require_admin()?;
    let tz = state.timezone(&caller.store).await?;
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), tz)?;
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&[
        "audit",
        q.from.as_deref().unwrap_or(""),
        q.to.as_deref().unwrap_or(""),
        q.action.as_deref().unwrap_or(""),
    ]);
    let after = pagination::decode(q.cursor.as_deref(), &filters)?;
    let filter = AuditFilter { from, to, action: q.action.filter(|a| !a.is_empty()), after, limit: limit + 1 };
    let rows = state.store.list_audit(&caller.store, &filter).await?;
    Ok(Json(pagination::page(rows, limit, &filters, |a| (a.created_at, a.id), AuditView::from)))
}
