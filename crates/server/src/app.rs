//! Building the app: state, routes and the middleware every request passes through.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

use crate::auth::TokenKeys;
use crate::auth::throttle::LoginThrottle;
use crate::auth::token::Secret;
use crate::cache::{CacheConfig, ProductCache};
use crate::client_addr::TrustedProxies;
use crate::error::ApiError;
use crate::services::journal::JournalKey;
use crate::services::search::SearchIndexes;
use crate::state::AppState;
use tills_storage::Store;

/// Bodies over this answer `413 payload_too_large`.
pub const BODY_LIMIT: usize = 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the app needs beyond its storage.
pub struct AppConfig {
    pub jwt_secret: Secret,
    pub token_ttl: Duration,
    pub cache: CacheConfig,
    /// Proxies in front of this instance (`TILLS_TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// Signs the journal's closures (`TILLS_JOURNAL_KEY`).
    pub journal_key: Arc<JournalKey>,
}

/// Fails only on a configuration that cannot work (a malformed Redis URL).
pub fn state(store: Arc<dyn Store>, config: &AppConfig) -> Result<AppState, String> {
    // First: the cache makes its metric handles from the recorder this installs.
    let metrics = crate::telemetry::metrics_handle();
    Ok(AppState::new(crate::state::Shared {
        cache: ProductCache::new(store.clone(), &config.cache)?,
        search: Arc::new(SearchIndexes::new(config.cache.search_memory_bytes)),
        store,
        tokens: Arc::new(TokenKeys::new(&config.jwt_secret, config.token_ttl)),
        throttle: Arc::new(match &config.cache.redis {
            Some(redis) => LoginThrottle::with_redis(&redis.url)?,
            None => LoginThrottle::default(),
        }),
        access: Arc::default(),
        metrics,
        proxies: Arc::new(config.trusted_proxies.clone()),
        journal: config.journal_key.clone(),
    }))
}

/// The whole app: routes plus middleware (request id, one log line and one metric per request,
/// panics caught, a timeout, the body limit, storeId sanitizing).
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let (routes, _document) = crate::http::routes().split_for_parts();
    routes
        // The terminal (embedded assets), outside the API and its document.
        .route("/", axum::routing::get(crate::web::index))
        .route("/{file}", axum::routing::get(crate::web::asset))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), SequentialRequestIds::default()))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(middleware::from_fn(observe))
                .layer(CatchPanicLayer::custom(|_| ApiError::Internal("a handler panicked".into()).into_response()))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT)),
        )
}

/// Request ids for requests that come without one: this process's random prefix and a counter
/// (`3f9c1a2b-42`). Unique across instances and restarts, and free: no random number and no
/// system call per request, unlike a UUID per request.
#[derive(Clone)]
pub struct SequentialRequestIds {
    prefix: Arc<str>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for SequentialRequestIds {
    fn default() -> Self {
        let id = tills_domain::new_id().simple().to_string();
        SequentialRequestIds { prefix: id[id.len() - 12..].into(), next: Arc::default() }
    }
}

impl MakeRequestId for SequentialRequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        axum::http::HeaderValue::from_str(&format!("{}-{n}", self.prefix)).ok().map(RequestId::new)
    }
}

/// The `tills_http_request_duration_seconds` histogram for every request, a span carrying the
/// request id, a note of a `storeId` in the query, and a log line: at debug level for answered requests (a scan must not pay for a
/// log line), at warn for server errors.
async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    // Here rather than in a layer of its own: each `from_fn` layer costs a request a clone of the
    // service it wraps and a boxed future.
    crate::isolation::note_store_id_in_query(&req);
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let route_str = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let request_id = req.extensions().get::<RequestId>().cloned();
    let id = request_id.as_ref().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route_str);
    let response = next.run(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status();
    request_histogram(route_str, &method, status).record(elapsed.as_secs_f64());
    span.in_scope(|| {
        if status.is_server_error() {
            // The id is repeated here: with RUST_LOG=warn the span is off, and this line must still
            // lead to the request.
            tracing::warn!(request_id = %id, status = status.as_u16(), ms = elapsed.as_secs_f64() * 1000.0, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), ms = elapsed.as_secs_f64() * 1000.0, "request");
        }
    });
    response
}

/// The request histograms by route, then method and status. Asking the recorder for a handle
/// hashes the name and labels and copies the route on every request (3 % of a hot scan's CPU
/// in `perf`); a handle, once made, records straight into its histogram. Routes are the
/// router's own paths, so the map stays as small as the metric's label set.
type RouteHistograms = HashMap<Box<str>, HashMap<(&'static str, StatusCode), metrics::Histogram>>;
static REQUEST_HISTOGRAMS: LazyLock<RwLock<RouteHistograms>> = LazyLock::new(Default::default);

fn request_histogram(route: &str, method: &axum::http::Method, status: StatusCode) -> metrics::Histogram {
    let method = method_label(method);
    let known = REQUEST_HISTOGRAMS.read().unwrap_or_else(|e| e.into_inner());
    if let Some(h) = known.get(route).and_then(|by| by.get(&(method, status))) {
        return h.clone();
    }
    drop(known);
    let h = metrics::histogram!(
        "tills_http_request_duration_seconds",
        "route" => route.to_owned(), "method" => method, "status" => status_label(status)
    );
    let mut known = REQUEST_HISTOGRAMS.write().unwrap_or_else(|e| e.into_inner());
    known.entry(route.into()).or_default().insert((method, status), h.clone());
    h
}

/// The method's label: methods Tills does not route count as `OTHER`, so a client cannot add
/// label values (series) at will.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn status_label(s: StatusCode) -> std::borrow::Cow<'static, str> {
    match s.as_u16() {
        200 => "200".into(),
        201 => "201".into(),
        204 => "204".into(),
        400 => "400".into(),
        401 => "401".into(),
        403 => "403".into(),
        404 => "404".into(),
        409 => "409".into(),
        413 => "413".into(),
        429 => "429".into(),
        503 => "503".into(),
        other => other.to_string().into(),
    }
}

/// Serves until `shutdown` resolves; requests in flight then finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
