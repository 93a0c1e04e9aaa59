//! `GET /api/v1/reports/daily?date=YYYY-MM-DD` (manager, admin).

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::services::report::{self, DailyReport};
use crate::state::AppState;
use crate::time;

#[derive(Deserialize)]
pub struct DailyQuery {
    date: Option<String>,
}

pub async fn daily(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<DailyQuery>,
) -> ApiResult<Json<DailyReport>> {
    caller.require_manager()?;
    let settings = state.access.store(&state.store, &caller.store).await?.ok_or(ApiError::NotFound)?;
    let tz = time::parse_timezone(&settings.timezone).unwrap_or(chrono_tz::UTC);
    let date = match q.date.as_deref() {
        Some(d) => {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| ApiError::invalid("date", "date is YYYY-MM-DD"))?
        }
        None => chrono::Utc::now().with_timezone(&tz).date_naive(),
    };
    let next = date.succ_opt().ok_or_else(|| ApiError::invalid("date", "date out of range"))?;
    let activity =
        state.store.day_activity(&caller.store, time::day_start(date, tz), time::day_start(next, tz)).await?;
    Ok(Json(report::daily(date, &activity)))
}
