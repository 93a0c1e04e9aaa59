//! `POST /auth/login`, `GET /auth/me`, `POST /auth/password`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tills_domain::{Email, Id, NewPassword, Role, StoreId};
use tills_storage::{NewAudit, StoreStatus, UserChanges};

use crate::auth::{AnyCaller, password};
use crate::client_addr::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::openapi::{Authenticated, BadBody, ErrorBody, StoreRead, TooLarge};
use crate::state::AppState;

/// `store` names the store whose account signs in; a platform admin leaves it out.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// The store's id (`downtown-01`); trimmed and lower-cased. Absent for a platform admin.
    #[serde(default)]
    store: Option<String>,
    email: String,
    password: String,
}

/// The signed-in account, as API.md's `user` object.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SignedInUser)]
pub struct UserView {
    #[schema(value_type = uuid::Uuid)]
    pub id: Id,
    /// Null for a platform admin.
    pub store_id: Option<String>,
    pub email: String,
    pub name: String,
    #[schema(value_type = crate::openapi::Role)]
    pub role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    token: String,
    expires_at: chrono::DateTime<chrono::Utc>,
    user: UserView,
}

const BAD_CREDENTIALS: ApiError = ApiError::Unauthorized("wrong store, email or password");

/// Sign in
///
/// The one place a store is named by the caller: it picks the account, the token then carries
/// it. Wrong store, email or password all give the same `401`. Five failures for one store and
/// email, or twenty from one address, within 15 minutes give `429` with `Retry-After`.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "login",
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        BadBody,
        (status = 401, description = "`unauthorized`: wrong store, email or password", body = ErrorBody),
        (status = 403, description = "`forbidden`: the store is suspended", body = ErrorBody),
        (status = 429, description = "`too_many_requests`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let store_key = req.store.as_deref().map(|s| s.trim().to_lowercase());
    if let Some(secs) = state.throttle.check(store_key.as_deref(), &req.email, client).await {
        return Err(ApiError::TooManyRequests { retry_after_secs: secs });
    }
    let result = match &store_key {
        Some(store) => login_store_user(&state, store, &req).await,
        None => login_platform_admin(&state, &req).await,
    };
    match result {
        Ok(response) => {
            state.throttle.success(store_key.as_deref(), &req.email).await;
            Ok(Json(response))
        }
        Err(err @ ApiError::Unauthorized(_)) => {
            state.throttle.failure(store_key.as_deref(), &req.email, client).await;
            Err(err)
        }
        Err(other) => Err(other),
    }
}

async fn login_store_user(state: &AppState, store: &str, req: &LoginRequest) -> ApiResult<LoginResponse> {
    let (Ok(store_id), Ok(email)) = (StoreId::parse(store), Email::parse(&req.email)) else {
        password::verify(req.password.clone(), None).await;
        return Err(BAD_CREDENTIALS);
    };
    let store_record = state.store.get_store(&store_id).await?;
    let user = match &store_record {
        Some(_) => state.store.find_user_by_email(&store_id, &email).await?,
        None => None,
    };
    let ok = password::verify(req.password.clone(), user.as_ref().map(|u| u.password_hash.clone())).await;
    let user = match user {
        Some(u) if ok && u.active => u,
        _ => {
            if store_record.is_some() {
                let audit = NewAudit::new("login.failed")
                    .target(email.as_str())
                    .detail(serde_json::json!({"email": email.as_str()}));
                state.store.append_audit(&store_id, audit).await?;
            }
            return Err(BAD_CREDENTIALS);
        }
    };
    if store_record.is_some_and(|s| s.status == StoreStatus::Suspended) {
        return Err(ApiError::Forbidden("this store is suspended"));
    }
    if password::needs_upgrade(&user.password_hash) {
        // An imported legacy (bcrypt) hash: replace it with argon2id now that the password is known.
        let hash = password::hash(req.password.clone()).await?;
        let changes = UserChanges { password_hash: Some(hash), ..Default::default() };
        state.store.update_user(&store_id, user.id, changes, None).await?;
    }
    let (token, expires_at) = state.tokens.issue(user.id, Some(store_id.as_str()), user.role, None, None)?;
    Ok(LoginResponse {
        token,
        expires_at,
        user: UserView {
            id: user.id,
            store_id: Some(store_id.to_string()),
            email: user.email,
            name: user.name,
            role: user.role,
        },
    })
}

async fn login_platform_admin(state: &AppState, req: &LoginRequest) -> ApiResult<LoginResponse> {
    let admin = match Email::parse(&req.email) {
        Ok(email) => state.store.find_platform_admin(&email).await?,
        Err(_) => None,
    };
    let ok = password::verify(req.password.clone(), admin.as_ref().map(|a| a.password_hash.clone())).await;
    let admin = admin.filter(|_| ok).ok_or(BAD_CREDENTIALS)?;
    let (token, expires_at) = state.tokens.issue(admin.id, None, Role::PlatformAdmin, None, None)?;
    Ok(LoginResponse {
        token,
        expires_at,
        user: UserView {
            id: admin.id,
            store_id: None,
            email: admin.email,
            name: admin.name,
            role: Role::PlatformAdmin,
        },
    })
}

/// The signed-in account
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    operation_id = "getMe",
    tag = "auth",
    responses(
        (status = 200, description = "The `user` object", body = UserView),
        StoreRead,
    )
)]
pub async fn me(State(state): State<AppState>, caller: AnyCaller) -> ApiResult<Json<UserView>> {
    match caller {
        AnyCaller::Store(c) => {
            if let Some(admin) = c.support_by {
                let a =
                    state.store.get_platform_admin(admin).await?.ok_or(ApiError::Unauthorized("no such account"))?;
                return Ok(Json(UserView {
                    id: a.id,
                    store_id: Some(c.store.to_string()),
                    email: a.email,
                    name: a.name,
                    role: Role::Admin,
                }));
            }
            let u =
                state.store.get_user(&c.store, c.user_id).await?.ok_or(ApiError::Unauthorized("no such account"))?;
            Ok(Json(UserView {
                id: u.id,
                store_id: Some(c.store.to_string()),
                email: u.email,
                name: u.name,
                role: u.role,
            }))
        }
        AnyCaller::Platform(p) => {
            let a =
                state.store.get_platform_admin(p.admin_id).await?.ok_or(ApiError::Unauthorized("no such account"))?;
            Ok(Json(UserView { id: a.id, store_id: None, email: a.email, name: a.name, role: Role::PlatformAdmin }))
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePassword {
    current_password: String,
    /// At least 10 characters.
    new_password: String,
}

/// Change one's own password
///
/// Any signed-in user, but not with a support token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password",
    operation_id = "changePassword",
    tag = "auth",
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed"),
        Authenticated,
        TooLarge,
        (status = 400, description = "`malformed_json`, `invalid_input`: `currentPassword` is wrong or `newPassword` too short", body = ErrorBody),
        (status = 403, description = "`forbidden`: a support token, or the store is suspended", body = ErrorBody),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    caller: AnyCaller,
    ApiJson(req): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    let new = NewPassword::parse(&req.new_password).map_err(|e| ApiError::invalid("newPassword", e))?;
    let wrong_current = || ApiError::invalid("currentPassword", "the current password is not right");
    match caller {
        AnyCaller::Store(c) if c.support_by.is_none() => {
            let user =
                state.store.get_user(&c.store, c.user_id).await?.ok_or(ApiError::Unauthorized("no such account"))?;
            if !password::verify(req.current_password, Some(user.password_hash)).await {
                return Err(wrong_current());
            }
            let hash = password::hash(new.expose().to_owned()).await?;
            let audit = NewAudit::new("user.password").by(Some(c.user_id), Some(&user.email)).target(c.user_id);
            state
                .store
                .update_user(
                    &c.store,
                    c.user_id,
                    UserChanges { password_hash: Some(hash), ..Default::default() },
                    Some(audit),
                )
                .await?;
        }
        AnyCaller::Store(_) => return Err(ApiError::Forbidden("a support token cannot change passwords")),
        AnyCaller::Platform(p) => {
            let admin =
                state.store.get_platform_admin(p.admin_id).await?.ok_or(ApiError::Unauthorized("no such account"))?;
            if !password::verify(req.current_password, Some(admin.password_hash)).await {
                return Err(wrong_current());
            }
            let hash = password::hash(new.expose().to_owned()).await?;
            state.store.set_platform_admin_password(p.admin_id, &hash).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
