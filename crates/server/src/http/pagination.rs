//! Cursor pagination per API.md: `?limit=` (default 50, max 200) and an opaque `?cursor=` that
//! encodes the last row's sort key and id, and the filters it was made for (a cursor used with
//! other filters or another sort is `400 invalid_input`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// `{"items": [...], "nextCursor": "…" | null}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

pub fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid("limit", "limit is 1-200")),
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<K> {
    k: K,
    f: String,
}

/// A fingerprint of the filters and sort a list was asked with.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

pub fn encode<K: Serialize>(key: &K, filters: &str) -> String {
    let json = serde_json::to_vec(&Envelope { k: key, f: filters.to_owned() }).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

pub fn decode<K: DeserializeOwned>(cursor: Option<&str>, filters: &str) -> Result<Option<K>, ApiError> {
    let Some(cursor) = cursor else { return Ok(None) };
    let bad = || ApiError::invalid("cursor", "the cursor is not valid for this list");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let env: Envelope<K> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if env.f != filters {
        return Err(ApiError::invalid("cursor", "this cursor was made for other filters or another sort"));
    }
    Ok(Some(env.k))
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says there is more.
pub fn page<R, T, K: Serialize>(
    mut rows: Vec<R>,
    limit: i64,
    filters: &str,
    key: impl Fn(&R) -> K,
    map: impl Fn(R) -> T,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode(&key(r), filters)) } else { None };
    Page { items: rows.into_iter().map(map).collect(), next_cursor }
}
