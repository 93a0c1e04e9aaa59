//! `GET /api/v1/audit?from=&to=&action=` (admin): who did what and when.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tills_domain::Id;
use tills_storage::{AuditFilter, AuditRecord};

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::http::pagination::{self, Page};
use crate::state::AppState;
use crate::time;

#[derive(Deserialize)]
pub struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    action: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    id: Id,
    actor_id: Option<Id>,
    actor_email: Option<String>,
    action: String,
    target: Option<String>,
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

pub async fn list(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditView>>> {
    caller.require_admin()?;
    let store = state.access.store(&state.store, &caller.store).await?.ok_or(ApiError::NotFound)?;
    let tz = time::parse_timezone(&store.timezone).unwrap_or(chrono_tz::UTC);
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
