//! The legacy redesign's `sanitizeStoreId()`: a store id in a request's query or top-level body
//! never selects data (the store comes from the verified token only). Such requests are served
//! as if the field were absent, counted in `tills_store_id_in_request_total` and logged.

use axum::extract::Request;

const NAMES: [&str; 2] = ["storeId", "store_id"];

/// Notes a `storeId` / `store_id` query parameter (called by `app::observe` for every request).
/// Handlers never read it.
pub fn note_store_id_in_query(req: &Request) {
    if let Some(query) = req.uri().query()
        && form_urlencoded::parse(query.as_bytes()).any(|(k, _)| NAMES.contains(&k.as_ref()))
    {
        record("query", req.uri().path());
    }
}

/// Notes a top-level `storeId` / `store_id` in a JSON body. Request types never declare the
/// field, so serde ignores it.
pub fn note_store_id_in_body(bytes: &[u8]) {
    // Cheap pre-check; only bodies that mention the name are parsed again.
    let mentions = NAMES.iter().any(|n| bytes.windows(n.len()).any(|w| w == n.as_bytes()));
    if !mentions {
        return;
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(bytes)
        && NAMES.iter().any(|n| map.contains_key(*n))
    {
        record("body", "");
    }
}

fn record(place: &'static str, path: &str) {
    metrics::counter!("tills_store_id_in_request_total", "place" => place).increment(1);
    tracing::warn!(place, path, "request carried a storeId; ignored (the store comes from the token)");
}
