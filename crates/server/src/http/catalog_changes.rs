//! `GET /api/v1/catalog/changes?since=`: the store's sellable catalog for a terminal's offline
//! copy. Without `since`, a first copy in pages by product id; then, from the token the copy
//! ended with, only what changed after it (changed products whole, deleted ones by id). A catalog
//! that did not change answers an empty page: one small request. Every role (a catalog read);
//! the store is the token's, like every read.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tills_domain::Id;

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::http::products::ProductView;
use crate::openapi::ErrorBody;
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 500;
const MAX_LIMIT: i64 = 1000;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next` of the previous answer: an opaque value the server issued (any other value is
    /// `400 invalid_input`); none for a first copy.
    since: Option<String>,
    /// Products per page: default 500, at most 1000.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// A page of the catalog's changes.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogChanges {
    /// Products added or changed (whole, as `GET /products/{id}` shows them).
    products: Vec<ProductView>,
    /// Ids of products deleted since: drop them from the copy.
    #[schema(value_type = Vec<uuid::Uuid>)]
    deleted: Vec<Id>,
    /// The token to send as `since` next: the copy's version once `more` is false.
    next: String,
    /// True when another page follows at once.
    more: bool,
}

/// Where a terminal's copy stands: a first copy under way, or up to date to a version.
enum Since {
    /// A first copy: the newest change when it began, and the last product id copied.
    Copy { start: i64, after: Option<Id> },
    /// Up to date to a version; within it, up to a product id when a page ended inside it.
    Version(i64, Id),
}

/// After every product of a version.
const ALL: Id = Id::from_bytes([0xff; 16]);

fn parse_since(token: Option<&str>) -> Result<Since, ApiError> {
    let bad = || ApiError::invalid("since", "since is the `next` of an earlier answer");
    let Some(token) = token else { return Ok(Since::Copy { start: -1, after: None }) };
    if let Some(rest) = token.strip_prefix("copy:") {
        let (start, after) = rest.split_once(':').ok_or_else(bad)?;
        let start: i64 = start.parse().map_err(|_| bad())?;
        let after = Id::parse_str(after).map_err(|_| bad())?;
        return if start >= 0 { Ok(Since::Copy { start, after: Some(after) }) } else { Err(bad()) };
    }
    let (version, after) = match token.split_once(':') {
        Some((v, id)) => (v, Id::parse_str(id).map_err(|_| bad())?),
        None => (token, ALL),
    };
    match version.parse::<i64>() {
        Ok(v) if v >= 0 => Ok(Since::Version(v, after)),
        _ => Err(bad()),
    }
}

/// The store's catalog for a terminal's offline copy (every role)
///
/// Without `since`: the first page of a full copy. With the `next` of an earlier answer: the
/// next page of that copy, or, once a copy is complete, the products changed and deleted after
/// it. Pages follow while `more` is true; then `next` is the version the copy holds.
#[utoipa::path(
    get,
    path = "/api/v1/catalog/changes",
    operation_id = "catalogChanges",
    tag = "products",
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of changes", body = CatalogChanges),
        (status = 400, description = "`invalid_input`: `since` or `limit`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the store is suspended", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
pub async fn changes(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<CatalogChanges>> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("limit is 1 to {MAX_LIMIT}")));
    }
    let store = &caller.store;
    match parse_since(q.since.as_deref())? {
        Since::Copy { start, after } => {
            let (newest, products) = state.store.catalog_page(store, after, limit).await?;
            // The first page fixes where the copy's updates begin: changes during the copy are
            // sent again afterwards, which the copy takes as they come.
            let start = if start < 0 { newest } else { start };
            let more = products.len() as i64 == limit;
            let next = match (more, products.last()) {
                (true, Some(last)) => format!("copy:{start}:{}", last.id),
                _ => start.to_string(),
            };
            Ok(Json(CatalogChanges {
                products: products.iter().map(ProductView::from).collect(),
                deleted: vec![],
                next,
                more,
            }))
        }
        Since::Version(since, after) => {
            let changed = state.store.catalog_changes_since(store, (since, after), limit).await?;
            let ids: Vec<Id> = changed.iter().map(|c| c.0).collect();
            let (_, live) =
                if ids.is_empty() { (0, vec![]) } else { state.store.products_for_search(store, &ids).await? };
            let deleted = ids.iter().filter(|id| !live.iter().any(|p| p.id == **id)).copied().collect();
            let more = changed.len() as i64 == limit;
            let next = match changed.last() {
                Some((id, version)) if more => format!("{version}:{id}"),
                Some((_, version)) => version.to_string(),
                // Nothing after (since, after): nothing after all of `since` either.
                None => since.to_string(),
            };
            Ok(Json(CatalogChanges { products: live.iter().map(ProductView::from).collect(), deleted, next, more }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_tokens() {
        assert!(matches!(parse_since(None), Ok(Since::Copy { start: -1, after: None })));
        assert!(matches!(parse_since(Some("42")), Ok(Since::Version(42, ALL))));
        let id = tills_domain::new_id();
        assert!(
            matches!(parse_since(Some(&format!("copy:7:{id}"))), Ok(Since::Copy { start: 7, after: Some(a) }) if a == id)
        );
        assert!(matches!(parse_since(Some(&format!("42:{id}"))), Ok(Since::Version(42, a)) if a == id));
        for bad in
            ["", "-1", "x", "1:nope", "copy:", "copy:7", "copy:-1:00000000-0000-0000-0000-000000000000", "copy:7:nope"]
        {
            assert!(parse_since(Some(bad)).is_err(), "{bad}");
        }
    }
}
