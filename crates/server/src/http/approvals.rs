//! A manager approves at a cashier's terminal (`POST /approvals`) and sets the PIN they approve
//! with (`POST /auth/pin`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tills_domain::{ApprovalAction, Email, Id};
use tills_storage::NewAudit;

use crate::auth::{StoreCaller, password};
use crate::client_addr::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::openapi::{BadBody, ErrorBody, StoreRead};
use crate::services::approvals;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalBody {
    /// What the approval allows, once.
    action: ApprovalAction,
    /// The approving manager's (or admin's) email in this store.
    email: String,
    /// The manager's password; or `pin`.
    password: Option<String>,
    /// The manager's numeric PIN (`POST /auth/pin`); or `password`.
    #[schema(pattern = "^[0-9]{4,8}$")]
    pin: Option<String>,
}

/// An approval: send its `approval` as the `X-Approval` header of the request it approves.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalView {
    #[schema(value_type = uuid::Uuid)]
    approval: Id,
    action: ApprovalAction,
    #[schema(value_type = uuid::Uuid)]
    approved_by: Id,
    approved_by_name: String,
    /// Two minutes from now.
    expires_at: chrono::DateTime<chrono::Utc>,
}

const WRONG: ApiError = ApiError::Forbidden("the manager's email, password or PIN is wrong");

/// A manager's approval, given at the caller's terminal
///
/// The manager types their email and password or PIN on the cashier's terminal; the cashier
/// stays signed in. The approval allows `action` once, for the caller, within two minutes: send
/// it as the `X-Approval` header of that request (a sale with a price override or discount, a
/// void, a refund, a return without receipt, or closing a shift beyond the cash tolerance). Both
/// users are written to the audit log. Wrong credentials are throttled like logins.
#[utoipa::path(
    post,
    path = "/api/v1/approvals",
    operation_id = "approve",
    tag = "auth",
    request_body = ApprovalBody,
    responses(
        (status = 201, description = "The approval", body = ApprovalView),
        StoreRead,
        BadBody,
        (status = 403, description = "`forbidden`: wrong credentials, not a manager, or the store is suspended", body = ErrorBody),
        (status = 429, description = "`too_many_requests`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    caller: StoreCaller,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<ApprovalBody>,
) -> ApiResult<(StatusCode, Json<ApprovalView>)> {
    let store = caller.store.as_str();
    if let Some(secs) = state.throttle.check(Some(store), &body.email, client).await {
        return Err(ApiError::TooManyRequests { retry_after_secs: secs });
    }
    let manager = match Email::parse(&body.email) {
        Ok(email) => state.store.find_user_by_email(&caller.store, &email).await?,
        Err(_) => None,
    };
    let ok = match (&body.password, &body.pin, &manager) {
        (Some(p), None, m) => password::verify(p.clone(), m.as_ref().map(|m| m.password_hash.clone())).await,
        (None, Some(pin), Some(m)) => {
            let hash = state.store.user_pin(&caller.store, m.id).await?;
            password::verify(pin.clone(), hash).await
        }
        (None, Some(pin), None) => password::verify(pin.clone(), None).await,
        _ => return Err(ApiError::invalid("password", "give the manager's password or PIN, one of them")),
    };
    let manager = match manager {
        Some(m) if ok => m,
        _ => {
            state.throttle.failure(Some(store), &body.email, client).await;
            let audit = NewAudit::new("approval.failed")
                .by(caller.actor(), None)
                .detail(serde_json::json!({"email": body.email, "action": body.action}));
            state.store.append_audit(&caller.store, audit).await?;
            return Err(WRONG);
        }
    };
    state.throttle.success(Some(store), &body.email).await;
    let granted = approvals::grant(&*state.store, caller.as_actor(), &manager, body.action).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApprovalView {
            approval: granted.id,
            action: granted.action,
            approved_by: granted.approved_by,
            approved_by_name: manager.name,
            expires_at: granted.expires_at,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinBody {
    /// The caller's password, to prove it is them.
    current_password: String,
    /// 4-8 digits; `null` removes the PIN.
    #[schema(pattern = "^[0-9]{4,8}$")]
    pin: Option<String>,
}

/// Set the PIN a manager approves with (manager, admin)
#[utoipa::path(
    post,
    path = "/api/v1/auth/pin",
    operation_id = "setPin",
    tag = "auth",
    request_body = PinBody,
    responses(
        (status = 204, description = "Set (or removed)"),
        StoreRead,
        BadBody,
        (status = 403, description = "`forbidden`: not a manager or admin, or the store is suspended", body = ErrorBody),
    )
)]
pub async fn set_pin(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiJson(body): ApiJson<PinBody>,
) -> ApiResult<StatusCode> {
    caller.require_manager()?;
    let user = state.store.get_user(&caller.store, caller.user_id).await?.ok_or(ApiError::NotFound)?;
    if !password::verify(body.current_password, Some(user.password_hash)).await {
        return Err(ApiError::invalid("currentPassword", "the current password is wrong"));
    }
    let hash = match body.pin {
        Some(pin) if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) => {
            Some(password::hash(pin).await?)
        }
        Some(_) => return Err(ApiError::invalid("pin", "a PIN is 4 to 8 digits")),
        None => None,
    };
    let audit = NewAudit::new("user.pin").by(caller.actor(), None).target(caller.user_id);
    state.store.set_user_pin(&caller.store, caller.user_id, hash.as_deref(), audit).await?;
    Ok(StatusCode::NO_CONTENT)
}
