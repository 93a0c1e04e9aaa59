//! Platform administration: stores, their status and support tokens (`platform_admin`).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tills_domain::{Currency, Email, Name, NewPassword, Role, StoreId, new_id};
use tills_storage::{NewAudit, NewStore, NewUser, StoreStatus};

use crate::auth::{PlatformCaller, password};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::http::pagination::{self, Page};
use crate::http::store::{StoreView, parse_invoice_prefix};
use crate::openapi::{BadBody, BadPage, ErrorBody, NotFound, PlatformOnly};
use crate::state::AppState;
use crate::time::parse_timezone;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateStore {
    /// A lowercase slug, `^[a-z0-9][a-z0-9_-]{0,63}$` (input is trimmed and lower-cased).
    #[schema(examples("downtown-01"))]
    id: String,
    name: String,
    /// ISO 4217 code.
    #[schema(examples("USD"))]
    currency: String,
    /// IANA timezone; default `UTC`.
    #[schema(examples("Europe/Berlin"))]
    timezone: Option<String>,
    /// Default false.
    prices_include_tax: Option<bool>,
    /// Default `INV-`.
    invoice_prefix: Option<String>,
    owner: Owner,
}

/// The store's first user; it becomes the store's `admin`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = StoreOwner)]
pub struct Owner {
    email: String,
    name: String,
    password: String,
}

/// Create a store (platform_admin)
///
/// The owner becomes the store's `admin`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/stores",
    operation_id = "createStore",
    tag = "platform",
    request_body = CreateStore,
    responses(
        (status = 201, description = "Created", body = StoreView),
        PlatformOnly,
        BadBody,
        (status = 409, description = "`conflict`: a store with this id exists", body = ErrorBody),
    )
)]
pub async fn create_store(
    State(state): State<AppState>,
    caller: PlatformCaller,
    ApiJson(req): ApiJson<CreateStore>,
) -> ApiResult<(StatusCode, Json<StoreView>)> {
    let id = StoreId::parse(&req.id).map_err(|e| ApiError::invalid("id", e))?;
    let name = Name::parse(&req.name).map_err(|e| ApiError::invalid("name", e))?;
    let currency = Currency::parse(&req.currency).map_err(|e| ApiError::invalid("currency", e))?;
    let timezone = req.timezone.as_deref().map(str::trim).unwrap_or("UTC");
    parse_timezone(timezone).map_err(|e| ApiError::invalid("timezone", e))?;
    let invoice_prefix = match &req.invoice_prefix {
        Some(p) => parse_invoice_prefix(p)?,
        None => "INV-".to_owned(),
    };
    let email = Email::parse(&req.owner.email).map_err(|e| ApiError::invalid("owner.email", e))?;
    let owner_name = Name::parse(&req.owner.name).map_err(|e| ApiError::invalid("owner.name", e))?;
    let pw = NewPassword::parse(&req.owner.password).map_err(|e| ApiError::invalid("owner.password", e))?;
    let hash = password::hash(pw.expose().to_owned()).await?;

    let new = NewStore {
        id: id.clone(),
        name: name.into_string(),
        currency: currency.code().to_owned(),
        currency_decimals: currency.decimals(),
        timezone: timezone.to_owned(),
        prices_include_tax: req.prices_include_tax.unwrap_or(false),
        invoice_prefix,
    };
    let owner = NewUser {
        id: new_id(),
        email: email.clone(),
        name: owner_name.into_string(),
        role: Role::Admin,
        password_hash: hash,
    };
    let audit = NewAudit::new("store.create")
        .by(Some(caller.admin_id), None)
        .target(&id)
        .detail(serde_json::json!({"owner": email.as_str()}));
    let created = state.store.create_store(new, owner, audit).await?;
    state.access.forget_store(&id).await;
    Ok((StatusCode::CREATED, Json(StoreView::from(&created))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// List stores (platform_admin)
#[utoipa::path(
    get,
    path = "/api/v1/admin/stores",
    operation_id = "listStores",
    tag = "platform",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of stores, by id", body = Page<StoreView>),
        PlatformOnly,
        BadPage,
    )
)]
pub async fn list_stores(
    State(state): State<AppState>,
    _caller: PlatformCaller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<StoreView>>> {
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&["stores"]);
    let after: Option<String> = pagination::decode(q.cursor.as_deref(), &filters)?;
    let after = after.map(|a| StoreId::parse(&a)).transpose().map_err(|_| ApiError::invalid("cursor", "bad cursor"))?;
    let rows = state.store.list_stores(after.as_ref(), limit + 1).await?;
    Ok(Json(pagination::page(rows, limit, &filters, |s| s.id.to_string(), |s| StoreView::from(&s))))
}

/// Get a store (platform_admin)
#[utoipa::path(
    get,
    path = "/api/v1/admin/stores/{storeId}",
    operation_id = "getStore",
    tag = "platform",
    params(("storeId" = String, Path, description = "The store's id")),
    responses(
        (status = 200, description = "The store", body = StoreView),
        PlatformOnly,
        NotFound,
    )
)]
pub async fn get_store(
    State(state): State<AppState>,
    _caller: PlatformCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<StoreView>> {
    let id = StoreId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let store = state.store.get_store(&id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(StoreView::from(&store)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchStore {
    name: Option<String>,
    #[schema(value_type = Option<crate::openapi::StoreStatus>)]
    status: Option<String>,
}

/// Rename, suspend or reactivate a store (platform_admin)
///
/// A suspended store's tokens get `403`.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/stores/{storeId}",
    operation_id = "updateStore",
    tag = "platform",
    params(("storeId" = String, Path, description = "The store's id")),
    request_body = PatchStore,
    responses(
        (status = 200, description = "The store as it is now", body = StoreView),
        PlatformOnly,
        BadBody,
        NotFound,
    )
)]
pub async fn patch_store(
    State(state): State<AppState>,
    caller: PlatformCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PatchStore>,
) -> ApiResult<Json<StoreView>> {
    let id = StoreId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let mut store = state.store.get_store(&id).await?.ok_or(ApiError::NotFound)?;
    let before = store.status;
    if let Some(name) = req.name {
        store.name = Name::parse(&name).map_err(|e| ApiError::invalid("name", e))?.into_string();
    }
    if let Some(status) = req.status {
        store.status = StoreStatus::parse(status.trim())
            .ok_or_else(|| ApiError::invalid("status", "status is active or suspended"))?;
    }
    let action = match (before, store.status) {
        (StoreStatus::Active, StoreStatus::Suspended) => "store.suspend",
        (StoreStatus::Suspended, StoreStatus::Active) => "store.reactivate",
        _ => "store.update",
    };
    let audit = NewAudit::new(action).by(Some(caller.admin_id), None).target(&id);
    let saved = state.store.save_store(&store, audit).await?;
    // This instance refuses the store's tokens from now on; the others within ACCESS_TTL.
    state.access.forget_store(&id).await;
    Ok(Json(StoreView::from(&saved)))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupportToken {
    token: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// Mint a support token (platform_admin)
///
/// A token with role `admin` in the store, for at most one hour, written to its audit log.
#[utoipa::path(
    post,
    path = "/api/v1/admin/stores/{storeId}/token",
    operation_id = "createSupportToken",
    tag = "platform",
    params(("storeId" = String, Path, description = "The store's id")),
    responses(
        (status = 200, description = "A support token: role `admin` in the store, at most 1 hour", body = SupportToken),
        PlatformOnly,
        NotFound,
    )
)]
pub async fn support_token(
    State(state): State<AppState>,
    caller: PlatformCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<SupportToken>> {
    let id = StoreId::parse(&id).map_err(|_| ApiError::NotFound)?;
    state.store.get_store(&id).await?.ok_or(ApiError::NotFound)?;
    let ttl = Duration::from_secs(3600).min(state.tokens.ttl);
    let (token, expires_at) =
        state.tokens.issue(caller.admin_id, Some(id.as_str()), Role::Admin, Some(ttl), Some(caller.admin_id))?;
    let audit = NewAudit::new("support.token")
        .by(Some(caller.admin_id), None)
        .target(&id)
        .detail(serde_json::json!({"expiresAt": expires_at}));
    state.store.append_audit(&id, audit).await?;
    Ok(Json(SupportToken { token, expires_at }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreAdmin {
    /// The user that becomes the store's admin: an existing user of the store with this email,
    /// or a new one.
    #[schema(examples("owner@downtown.example"))]
    email: String,
    /// A new user's name (default: the email's local part); an existing user keeps its own.
    name: Option<String>,
    /// Required for a new user (at least 10 characters); replaces an existing user's when given.
    password: Option<String>,
}

/// Give a store an admin (platform_admin)
///
/// For a store without an active admin, such as an imported one whose legacy users are all
/// cashiers: the store's user with this email becomes an active `admin` (`200`), or a new admin
/// is created (`201`). Written to the store's audit log.
#[utoipa::path(
    post,
    path = "/api/v1/admin/stores/{storeId}/admins",
    operation_id = "createStoreAdmin",
    tag = "platform",
    params(("storeId" = String, Path, description = "The store's id")),
    request_body = StoreAdmin,
    responses(
        (status = 200, description = "An existing user made an active admin", body = crate::http::users::UserView),
        (status = 201, description = "A new admin created", body = crate::http::users::UserView),
        (status = 400, description = "`malformed_json`, `invalid_input` (with `field`: `email`, `name`, `password`; a new user needs a password)", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a platform admin", body = ErrorBody),
        (status = 404, description = "`not_found`: no such store", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn create_store_admin(
    State(state): State<AppState>,
    caller: PlatformCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StoreAdmin>,
) -> ApiResult<(StatusCode, Json<crate::http::users::UserView>)> {
    let id = StoreId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let email = Email::parse(&req.email).map_err(|e| ApiError::invalid("email", e))?;
    let name = req.name.as_deref().map(Name::parse).transpose().map_err(|e| ApiError::invalid("name", e))?;
    let pw =
        req.password.as_deref().map(NewPassword::parse).transpose().map_err(|e| ApiError::invalid("password", e))?;
    state.store.get_store(&id).await?.ok_or(ApiError::NotFound)?;
    let password_hash = match pw {
        Some(pw) => Some(password::hash(pw.expose().to_owned()).await?),
        None => None,
    };
    let admin = tills_storage::NewStoreAdmin { email: email.clone(), name: name.map(Name::into_string), password_hash };
    let audit = NewAudit::new("store.admin")
        .by(Some(caller.admin_id), None)
        .detail(serde_json::json!({"email": email.as_str()}));
    let (user, created) = state.store.make_store_admin(&id, admin, audit).await?;
    // Its old tokens carry its old role: this instance drops what it remembers of the user now.
    state.access.forget_user(&id, user.id).await;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(user.into())))
}
