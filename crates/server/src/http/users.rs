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
use crate::state::AppState;

/// A user as the API shows it; the password hash never leaves the server.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    id: Id,
    store_id: String,
    email: String,
    name: String,
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

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

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

#[derive(Deserialize)]
pub struct CreateUser {
    email: String,
    name: String,
    role: String,
    password: String,
}

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

pub async fn get(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    caller.require_admin()?;
    let user = state.store.get_user(&caller.store, parse_id(&id)?).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(user.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    name: Option<String>,
    role: Option<String>,
    password: Option<String>,
    active: Option<bool>,
}

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
