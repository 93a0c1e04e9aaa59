//! Customers: every role reads and creates; manager and admin update and delete.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tills_domain::{Email, Id, Name, Phone, name_key, new_id};
use tills_storage::{CustomerFilter, CustomerInput, CustomerRecord};

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::double_option;
use crate::extract::{ApiJson, ApiQuery, parse_id};
use crate::http::pagination::{self, Page};
use crate::openapi::{BadBody, ErrorBody, ManagerOnly, NotFound, StoreRead};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    store_id: String,
    name: String,
    phone: String,
    email: Option<String>,
    note: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn view(store: &str, c: CustomerRecord) -> CustomerView {
    CustomerView {
        id: c.id,
        store_id: store.to_owned(),
        name: c.name,
        phone: c.phone,
        email: c.email,
        note: c.note,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// This phone number (normalized before comparing).
    phone: Option<String>,
    /// Search by name.
    q: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page (with the same filters).
    cursor: Option<String>,
}

/// List customers
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    operation_id = "listCustomers",
    tag = "customers",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of customers, by name", body = Page<CustomerView>),
        StoreRead,
        (status = 400, description = "`invalid_input` (with `field`)", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<CustomerView>>> {
    let limit = pagination::limit(q.limit)?;
    let phone = match q.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(Phone::parse(p).map_err(|e| ApiError::invalid("phone", e))?.as_str().to_owned()),
        None => None,
    };
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(name_key);
    let filters =
        pagination::fingerprint(&["customers", phone.as_deref().unwrap_or(""), search.as_deref().unwrap_or("")]);
    let after = pagination::decode(q.cursor.as_deref(), &filters)?;
    let filter = CustomerFilter { phone, q: search, after, limit: limit + 1 };
    let rows = state.store.list_customers(&caller.store, &filter).await?;
    let store = caller.store.to_string();
    Ok(Json(pagination::page(rows, limit, &filters, |c| (name_key(&c.name), c.id), |c| view(&store, c))))
}

/// `{"name", "phone", "email"?, "note"?}`; `name` and `phone` are required on create, and `null`
/// clears `email` or `note`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CustomerBody {
    name: Option<String>,
    /// Normalized (digits, optional leading `+`); unique in the store.
    phone: Option<String>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    /// At most 1000 characters.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    note: Option<Option<String>>,
}

fn input(body: CustomerBody, current: Option<&CustomerRecord>) -> ApiResult<CustomerInput> {
    let name = match (body.name, current) {
        (Some(n), _) => Name::parse(&n).map_err(|e| ApiError::invalid("name", e))?.into_string(),
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ApiError::invalid("name", "name is required")),
    };
    let phone = match (body.phone, current) {
        (Some(p), _) => Phone::parse(&p).map_err(|e| ApiError::invalid("phone", e))?.as_str().to_owned(),
        (None, Some(c)) => c.phone.clone(),
        (None, None) => return Err(ApiError::invalid("phone", "phone is required")),
    };
    let email = match body.email {
        Some(Some(e)) if !e.trim().is_empty() => {
            Some(Email::parse(&e).map_err(|e| ApiError::invalid("email", e))?.as_str().to_owned())
        }
        Some(_) => None,
        None => current.and_then(|c| c.email.clone()),
    };
    let note = match body.note {
        Some(n) => n.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
        None => current.and_then(|c| c.note.clone()),
    };
    if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::invalid("note", "at most 1000 characters"));
    }
    Ok(CustomerInput { name_key: name_key(&name), name, phone, email, note })
}

/// Create a customer
#[utoipa::path(
    post,
    path = "/api/v1/customers",
    operation_id = "createCustomer",
    tag = "customers",
    request_body = CustomerBody,
    responses(
        (status = 201, description = "Created", body = CustomerView),
        StoreRead,
        BadBody,
        (status = 409, description = "`phone_taken`", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiJson(body): ApiJson<CustomerBody>,
) -> ApiResult<(StatusCode, Json<CustomerView>)> {
    let input = input(body, None)?;
    let c = state.store.create_customer(&caller.store, new_id(), &input).await?;
    Ok((StatusCode::CREATED, Json(view(caller.store.as_str(), c))))
}

/// Get a customer
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    operation_id = "getCustomer",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer's id")),
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        StoreRead,
        NotFound,
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomerView>> {
    let c = state.store.get_customer(&caller.store, parse_id(&id)?).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(view(caller.store.as_str(), c)))
}

/// Change a customer (manager, admin)
#[utoipa::path(
    patch,
    path = "/api/v1/customers/{id}",
    operation_id = "updateCustomer",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer's id")),
    request_body = CustomerBody,
    responses(
        (status = 200, description = "The customer as it is now", body = CustomerView),
        ManagerOnly,
        BadBody,
        NotFound,
        (status = 409, description = "`phone_taken`", body = ErrorBody),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CustomerBody>,
) -> ApiResult<Json<CustomerView>> {
    caller.require_manager()?;
    let id = parse_id(&id)?;
    let current = state.store.get_customer(&caller.store, id).await?.ok_or(ApiError::NotFound)?;
    let input = input(body, Some(&current))?;
    let c = state.store.update_customer(&caller.store, id, &input).await?;
    Ok(Json(view(caller.store.as_str(), c)))
}

/// Delete a customer (manager, admin)
#[utoipa::path(
    delete,
    path = "/api/v1/customers/{id}",
    operation_id = "deleteCustomer",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer's id")),
    responses(
        (status = 204, description = "Deleted"),
        ManagerOnly,
        NotFound,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_manager()?;
    state.store.delete_customer(&caller.store, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
