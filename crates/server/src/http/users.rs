//! A store's users (admin): `GET|POST /users`, `GET|PATCH|DELETE /users/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tills_domain::{Email, Id, Name, NewPassword, Role, new_id};
use tills_storage::{NewAudit, NewUser, UserChanges, UserRecord};

use crate::auth::{StoreCaller, password};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, parse_id};
use crate::http::pagination::{self, Page};
use crate::openapi::{AdminOnly, BadBody, BadPage, ErrorBody, NotFound};
use crate::state::AppState;

/// A user as the API shows it; the password hash never leaves the server.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub struct UserView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    store_id: String,
    email: String,
    name: String,
    #[schema(value_type = crate::openapi::Role)]
    role: Role,
    active: bool,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<UserRecord> for UserView {
    fn from(u: UserRecord) -> Self {
        UserView {
            id: u.id,
            store_id: u.store_id.to_string(),
            email: u.email,
            name: u.name,
            role: u.role,
            active: u.active,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
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

/// List the store's users (admin)
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "listUsers",
    tag = "users",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of users, by email", body = Page<UserView>),
        AdminOnly,
        BadPage,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<UserView>>> {
    caller.require_admin()?;
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&["users", "email"]);
    let after: Option<(String, Id)> = pagination::decode(q.cursor.as_deref(), &filters)?;
    let rows = state.store.list_users(&caller.store, after.as_ref().map(|(e, i)| (e.as_str(), *i)), limit + 1).await?;
    Ok(Json(pagination::page(rows, limit, &filters, |u| (u.email.clone(), u.id), UserView::from)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    /// Trimmed and lower-cased; unique in the store.
    email: String,
    name: String,
    #[schema(value_type = crate::openapi::StoreRole)]
    role: String,
    /// At least 10 characters.
    password: String,
}

/// Create a user (admin)
#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "createUser",
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserView),
        AdminOnly,
        BadBody,
        (status = 409, description = "`email_taken`", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiJson(req): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    caller.require_admin()?;
    let email = Email::parse(&req.email).map_err(|e| ApiError::invalid("email", e))?;
    let name = Name::parse(&req.name).map_err(|e| ApiError::invalid("name", e))?;
    let role = Role::parse_store_role(&req.role).map_err(|e| ApiError::invalid("role", e))?;
    let pw = NewPassword::parse(&req.password).map_err(|e| ApiError::invalid("password", e))?;
    let hash = password::hash(pw.expose().to_owned()).await?;
    let user = NewUser { id: new_id(), email: email.clone(), name: name.into_string(), role, password_hash: hash };
    let audit = NewAudit::new("user.create")
        .by(caller.actor(), None)
        .target(user.id)
        .detail(serde_json::json!({"email": email.as_str(), "role": role}));
    let created = state.store.create_user(&caller.store, user, audit).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Get a user (admin)
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    operation_id = "getUser",
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserView),
        AdminOnly,
        NotFound,
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    caller.require_admin()?;
    let user = state.store.get_user(&caller.store, parse_id(&id)?).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(user.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PatchUser {
    name: Option<String>,
    #[schema(value_type = Option<crate::openapi::StoreRole>)]
    role: Option<String>,
    /// At least 10 characters.
    password: Option<String>,
    active: Option<bool>,
}

/// Change a user (admin)
///
/// An admin cannot deactivate or demote itself when it is the store's last active admin.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    operation_id = "updateUser",
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body = PatchUser,
    responses(
        (status = 200, description = "The user as it is now", body = UserView),
        AdminOnly,
        BadBody,
        NotFound,
        (status = 409, description = "`conflict`: the store's last active admin", body = ErrorBody),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PatchUser>,
) -> ApiResult<Json<UserView>> {
    caller.require_admin()?;
    let id = parse_id(&id)?;
    let mut changes = UserChanges::default();
    let mut detail = serde_json::Map::new();
    if let Some(name) = req.name {
        changes.name = Some(Name::parse(&name).map_err(|e| ApiError::invalid("name", e))?.into_string());
        detail.insert("name".into(), changes.name.clone().into());
    }
    if let Some(role) = req.role {
        let role = Role::parse_store_role(&role).map_err(|e| ApiError::invalid("role", e))?;
        changes.role = Some(role);
        detail.insert("role".into(), role.as_str().into());
    }
    if let Some(pw) = req.password {
        let pw = NewPassword::parse(&pw).map_err(|e| ApiError::invalid("password", e))?;
        changes.password_hash = Some(password::hash(pw.expose().to_owned()).await?);
        detail.insert("password".into(), "changed".into());
    }
    if let Some(active) = req.active {
        changes.active = Some(active);
        detail.insert("active".into(), active.into());
    }
    let action = if changes.role.is_some() { "user.role" } else { "user.update" };
    let audit = NewAudit::new(action).by(caller.actor(), None).target(id).detail(detail.into());
    let updated = state.store.update_user(&caller.store, id, changes, Some(audit)).await?;
    state.access.forget_user(&caller.store, id).await;
    Ok(Json(updated.into()))
}

/// Delete a user (admin)
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    operation_id = "deleteUser",
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        AdminOnly,
        NotFound,
        (status = 409, description = "`conflict`: the store's last active admin", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let id = parse_id(&id)?;
    let audit = NewAudit::new("user.delete").by(caller.actor(), None).target(id);
    state.store.delete_user(&caller.store, id, audit).await?;
    state.access.forget_user(&caller.store, id).await;
    Ok(StatusCode::NO_CONTENT)
}
