//! Categories, brands and units: `GET|POST /api/v1/{categories|brands|units}`,
//! `GET|PATCH|DELETE /api/v1/{...}/{id}`. Read: every role. Write: manager and admin.
//!
//! The handlers are generic over the resource; [`categories`], [`brands`] and [`units`] route and
//! document each one's paths.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tills_domain::{Id, Name, new_id};
use tills_storage::{NamedInput, NamedKind, NamedRecord};

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::double_option;
use crate::extract::{ApiJson, ApiQuery, parse_id};
use crate::http::pagination::{self, Page};
use crate::state::AppState;

/// Which resource a route serves.
pub trait Kind: Send + Sync + 'static {
    const KIND: NamedKind;
}
pub struct Categories;
pub struct Brands;
pub struct Units;
impl Kind for Categories {
    const KIND: NamedKind = NamedKind::Category;
}
impl Kind for Brands {
    const KIND: NamedKind = NamedKind::Brand;
}
impl Kind for Units {
    const KIND: NamedKind = NamedKind::Unit;
}

/// A category, brand or unit.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamedView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    store_id: String,
    name: String,
    /// Categories only (null for a top-level category); absent for brands and units.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    parent_id: Option<Option<Id>>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn view(kind: NamedKind, store: &str, r: NamedRecord) -> NamedView {
    NamedView {
        id: r.id,
        store_id: store.to_owned(),
        name: r.name,
        parent_id: (kind == NamedKind::Category).then_some(r.parent_id),
        created_at: r.created_at,
        updated_at: r.updated_at,
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

pub async fn list<K: Kind>(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<NamedView>>> {
    let limit = pagination::limit(q.limit)?;
    let filters = pagination::fingerprint(&[K::KIND.as_str()]);
    let after: Option<(String, Id)> = pagination::decode(q.cursor.as_deref(), &filters)?;
    let rows = state
        .store
        .list_named(&caller.store, K::KIND, after.as_ref().map(|(k, i)| (k.as_str(), *i)), limit + 1)
        .await?;
    let store = caller.store.to_string();
    Ok(Json(pagination::page(
        rows,
        limit,
        &filters,
        |r| (tills_domain::name_key(&r.name), r.id),
        |r| view(K::KIND, &store, r),
    )))
}

pub async fn get<K: Kind>(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<NamedView>> {
    let record = state.store.get_named(&caller.store, K::KIND, parse_id(&id)?).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(view(K::KIND, caller.store.as_str(), record)))
}

/// `{"name"}`, and for a category `"parentId"?`. `name` is required on create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamedBody {
    /// Trimmed; unique in the store ignoring case.
    name: Option<String>,
    /// Categories only: the parent category (`null` clears it).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    parent_id: Option<Option<Id>>,
}

async fn input<K: Kind>(
    state: &AppState,
    caller: &StoreCaller,
    id: Option<Id>,
    body: NamedBody,
    current: Option<&NamedRecord>,
) -> ApiResult<NamedInput> {
    let name = match (body.name, current) {
        (Some(n), _) => Name::parse(&n).map_err(|e| ApiError::invalid("name", e))?,
        (None, Some(c)) => Name::parse(&c.name).map_err(|e| ApiError::invalid("name", e))?,
        (None, None) => return Err(ApiError::invalid("name", "name is required")),
    };
    let parent_id = match body.parent_id {
        Some(p) => p,
        None => current.and_then(|c| c.parent_id),
    };
    if K::KIND != NamedKind::Category && parent_id.is_some() {
        return Err(ApiError::invalid("parentId", "only categories have a parent"));
    }
    if let Some(parent) = parent_id {
        if Some(parent) == id {
            return Err(ApiError::invalid("parentId", "a category cannot be its own parent"));
        }
        // The parent must be this store's, and the category must not be above its parent.
        let mut cursor = Some(parent);
        let mut depth = 0;
        while let Some(p) = cursor {
            if Some(p) == id || depth > 64 {
                return Err(ApiError::invalid("parentId", "this would make a cycle of categories"));
            }
            match state.store.get_named(&caller.store, NamedKind::Category, p).await? {
                Some(found) => cursor = found.parent_id,
                None if depth == 0 => return Err(ApiError::invalid("parentId", "no such category in this store")),
                None => break,
            }
            depth += 1;
        }
    }
    Ok(NamedInput { key: name.key(), name: name.into_string(), parent_id })
}

pub async fn create<K: Kind>(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiJson(body): ApiJson<NamedBody>,
) -> ApiResult<(StatusCode, Json<NamedView>)> {
    caller.require_manager()?;
    let id = new_id();
    let input = input::<K>(&state, &caller, Some(id), body, None).await?;
    let record = state.store.create_named(&caller.store, K::KIND, id, &input).await?;
    Ok((StatusCode::CREATED, Json(view(K::KIND, caller.store.as_str(), record))))
}

pub async fn patch<K: Kind>(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NamedBody>,
) -> ApiResult<Json<NamedView>> {
    caller.require_manager()?;
    let id = parse_id(&id)?;
    let current = state.store.get_named(&caller.store, K::KIND, id).await?.ok_or(ApiError::NotFound)?;
    let input = input::<K>(&state, &caller, Some(id), body, Some(&current)).await?;
    let record = state.store.update_named(&caller.store, K::KIND, id, &input).await?;
    Ok(Json(view(K::KIND, caller.store.as_str(), record)))
}

pub async fn delete<K: Kind>(
    State(state): State<AppState>,
    caller: StoreCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_manager()?;
    state.store.delete_named(&caller.store, K::KIND, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Each resource's routes: the generic handlers, under their own paths and documentation.

macro_rules! named_routes {
    (
        $kind:ident, $marker:ty, $tag:tt, $collection:tt, $item:tt,
        $list_id:tt, $create_id:tt, $get_id:tt, $patch_id:tt, $delete_id:tt
    ) => {
        pub mod $kind {
            use axum::Json;
            use axum::extract::{Path, State};
            use axum::http::StatusCode;

            use super::{ListQuery, NamedBody, NamedView};
            use crate::auth::StoreCaller;
            use crate::error::ApiResult;
            use crate::extract::{ApiJson, ApiQuery};
            use crate::http::pagination::Page;
            use crate::openapi::{BadBody, BadPage, ErrorBody, ManagerOnly, NotFound, StoreRead};
            use crate::state::AppState;

            #[utoipa::path(
                get,
                path = $collection,
                operation_id = $list_id,
                summary = concat!("List ", $tag),
                description = "By name (Unicode lower case), then id.",
                tag = $tag,
                params(ListQuery),
                responses((status = 200, description = "A page, by name", body = Page<NamedView>), StoreRead, BadPage)
            )]
            pub async fn list(
                state: State<AppState>,
                caller: StoreCaller,
                query: ApiQuery<ListQuery>,
            ) -> ApiResult<Json<Page<NamedView>>> {
                super::list::<$marker>(state, caller, query).await
            }

            #[utoipa::path(
                post,
                path = $collection,
                operation_id = $create_id,
                summary = concat!("Create one of the ", $tag, " (manager, admin)"),
                description = "Names are trimmed and unique per store ignoring case (Unicode lower case). \
                    Only categories take `parentId`, which must be one of the store's categories.",
                tag = $tag,
                request_body = NamedBody,
                responses(
                    (status = 201, description = "Created", body = NamedView),
                    ManagerOnly,
                    BadBody,
                    (status = 409, description = "`name_taken`", body = ErrorBody),
                )
            )]
            pub async fn create(
                state: State<AppState>,
                caller: StoreCaller,
                body: ApiJson<NamedBody>,
            ) -> ApiResult<(StatusCode, Json<NamedView>)> {
                super::create::<$marker>(state, caller, body).await
            }

            #[utoipa::path(
                get,
                path = $item,
                operation_id = $get_id,
                summary = concat!("Get one of the ", $tag),
                tag = $tag,
                params(("id" = uuid::Uuid, Path, description = "Its id")),
                responses((status = 200, description = "Found", body = NamedView), StoreRead, NotFound)
            )]
            pub async fn get(state: State<AppState>, caller: StoreCaller, id: Path<String>) -> ApiResult<Json<NamedView>> {
                super::get::<$marker>(state, caller, id).await
            }

            #[utoipa::path(
                patch,
                path = $item,
                operation_id = $patch_id,
                summary = concat!("Change one of the ", $tag, " (manager, admin)"),
                description = "Absent fields keep their values; `\"parentId\": null` clears a category's parent.",
                tag = $tag,
                params(("id" = uuid::Uuid, Path, description = "Its id")),
                request_body = NamedBody,
                responses(
                    (status = 200, description = "Changed", body = NamedView),
                    ManagerOnly,
                    BadBody,
                    NotFound,
                    (status = 409, description = "`name_taken`", body = ErrorBody),
                )
            )]
            pub async fn patch(
                state: State<AppState>,
                caller: StoreCaller,
                id: Path<String>,
                body: ApiJson<NamedBody>,
            ) -> ApiResult<Json<NamedView>> {
                super::patch::<$marker>(state, caller, id, body).await
            }

            #[utoipa::path(
                delete,
                path = $item,
                operation_id = $delete_id,
                summary = concat!("Delete one of the ", $tag, " (manager, admin)"),
                tag = $tag,
                params(("id" = uuid::Uuid, Path, description = "Its id")),
                responses(
                    (status = 204, description = "Deleted"),
                    ManagerOnly,
                    NotFound,
                    (status = 409, description = "`in_use`: a product still uses it", body = ErrorBody),
                )
            )]
            pub async fn delete(state: State<AppState>, caller: StoreCaller, id: Path<String>) -> ApiResult<StatusCode> {
                super::delete::<$marker>(state, caller, id).await
            }
        }
    };
}

named_routes!(
    categories,
    super::Categories,
    "categories",
    "/api/v1/categories",
    "/api/v1/categories/{id}",
    "listCategories",
    "createCategory",
    "getCategory",
    "updateCategory",
    "deleteCategory"
);
named_routes!(
    brands,
    super::Brands,
    "brands",
    "/api/v1/brands",
    "/api/v1/brands/{id}",
    "listBrands",
    "createBrand",
    "getBrand",
    "updateBrand",
    "deleteBrand"
);
named_routes!(
    units,
    super::Units,
    "units",
    "/api/v1/units",
    "/api/v1/units/{id}",
    "listUnits",
    "createUnit",
    "getUnit",
    "updateUnit",
    "deleteUnit"
);
