//! The terminal: HTML, CSS and JavaScript embedded in the binary (crates/server/web/), served at
//! `/`. No Node.js is needed to build it. `sw.js`, the service worker that keeps the app shell for
//! offline use, is stamped with a hash of every other file: a release that changes any of them is
//! a new worker with a cache of its own, which replaces the old one whole.

use std::path::PathBuf;
use std::sync::OnceLock;

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

/// `TILLS_WEB_DIR`: serve the terminal from this folder instead of the copy in the binary, read
/// at each request — for working on the terminal without rebuilding, and for the browser test
/// that ships a new release of the app shell to a running till.
fn web_dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| std::env::var_os("TILLS_WEB_DIR").filter(|d| !d.is_empty()).map(PathBuf::from)).as_ref()
}

/// One file of the shell: a single name, no folders.
fn load(file: &str) -> Option<Vec<u8>> {
    if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
        return None;
    }
    match web_dir() {
        Some(dir) => std::fs::read(dir.join(file)).ok(),
        None => Assets::get(file).map(|f| f.data.into_owned()),
    }
}

/// A hash of the shell's files (names and contents) but the worker's own, 16 hex digits.
fn shell_version() -> String {
    use sha2::{Digest, Sha256};
    let digest = |mut names: Vec<String>| {
        names.sort();
        let mut hash = Sha256::new();
        for name in names.iter().filter(|n| *n != "sw.js") {
            hash.update(name.as_bytes());
            hash.update(Sha256::digest(load(name).unwrap_or_default()));
        }
        hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()
    };
    match web_dir() {
        Some(dir) => digest(
            std::fs::read_dir(dir)
                .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
                .unwrap_or_default(),
        ),
        None => {
            static VERSION: OnceLock<String> = OnceLock::new();
            VERSION.get_or_init(|| digest(Assets::iter().map(|f| f.into_owned()).collect())).clone()
        }
    }
}

fn asset_response(file: &str) -> Response {
    let Some(content) = load(file) else {
        return crate::error::ApiError::NotFound.into_response();
    };
    let body = if file == "sw.js" {
        String::from_utf8_lossy(&content).replace("__TILLS_SHELL_VERSION__", &shell_version()).into_bytes()
    } else {
        content
    };
    let kind = match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        _ => "application/octet-stream",
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // Always revalidate: a new binary brings new assets.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}
