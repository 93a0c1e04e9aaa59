//! `GET /api/v1/reports/daily?date=YYYY-MM-DD` (manager, admin).

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::openapi::{ErrorBody, ManagerOnly};
use crate::services::report::{self, DailyReport};
use crate::state::AppState;
use crate::time;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DailyQuery {
    /// `YYYY-MM-DD`, a day in the store's timezone (default: today there).
    date: Option<String>,
}

/// The daily report (manager, admin)
///
/// Voided sales count only under `voids`; refunds count on the day they were made; offline
/// sales on their `soldAt` day. Amounts in minor currency units.
#[utoipa::path(
    get,
    path = "/api/v1/reports/daily",
    operation_id = "dailyReport",
    tag = "reports",
    params(DailyQuery),
    responses(
        (status = 200, description = "The day's figures", body = DailyReport),
        ManagerOnly,
        (status = 400, description = "`invalid_input`: `date` is not `YYYY-MM-DD`", body = ErrorBody),
    )
)]
pub async fn daily(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<DailyQuery>,
) -> ApiResult<Json<DailyReport>> {
    caller.require_manager()?;
    let tz = caller.timezone();
    let date = match q.date.as_deref() {
        Some(d) => {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| ApiError::invalid("date", "date is YYYY-MM-DD"))?
        }
        None => chrono::Utc::now().with_timezone(&tz).date_naive(),
    };
    let next = date.succ_opt().ok_or_else(|| ApiError::invalid("date", "date out of range"))?;
    let (from, to) = (time::day_start(date, tz), time::day_start(next, tz));
    Ok(Json(report::daily_report(&*state.store, &caller.store, date, from, to).await?))
}
