//! The terminal: HTML, CSS and JavaScript embedded in the binary (crates/server/web/), served at
//! `/`. No Node.js is needed to build it.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "web/"]
struct Assets;

pub async fn index() -> Response {
    asset_response("index.html")
}

pub async fn asset(Path(file): Path<String>) -> Response {
    asset_response(&file)
}

fn asset_response(file: &str) -> Response {
    let Some(content) = Assets::get(file) else {
        return crate::error::ApiError::NotFound.into_response();
    };
    let kind = match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    let mut response = (StatusCode::OK, content.data.into_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // Always revalidate: a new binary brings new assets.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}
