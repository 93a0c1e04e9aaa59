//! Test harness: spawn an app on a fresh database (and a second instance over the same one), log
//! in, call the API, poll with a deadline, make tokens by hand, read metrics and error bodies.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tills_server::app::{self, AppConfig};
use tills_server::auth::token::Secret;
use tills_server::client_addr::TrustedProxies;
use tills_storage::{PoolConfig, Store};
use tills_testkit::{Backend, TestDb};

pub const SECRET: &str = "test-secret-0123456789-0123456789-abcdef";
pub const PASSWORD: &str = "correct horse battery";

/// Runs one async test body against SQLite and against PostgreSQL, as two tests, on an app from
/// `TestApp::spawn` or the named constructor (`both_backends!(name, spawn_behind_proxy)`).
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        $crate::both_backends!($name, spawn);
    };
    ($name:ident, $spawn:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::TestApp::$spawn(tills_testkit::Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::TestApp::$spawn(tills_testkit::Backend::Postgres).await).await
            }
        }
    };
}

/// `both_backends!`, and a third test on the Citus cluster (a coordinator and two workers, the
/// database distributed by `tills citus distribute`): the suites that must hold there.
#[macro_export]
macro_rules! all_backends {
    ($name:ident) => {
        $crate::all_backends!($name, spawn);
    };
    ($name:ident, $spawn:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::TestApp::$spawn(tills_testkit::Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::TestApp::$spawn(tills_testkit::Backend::Postgres).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn citus() {
                super::$name($crate::helpers::TestApp::$spawn(tills_testkit::Backend::Citus).await).await
            }
        }
    };
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub db: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A response: status and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Res {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.body);
    }
}

/// The test database's pool. A generous acquire timeout: bursts of hundreds of concurrent
/// requests on a 2-core machine running other suites must queue, not fail.
async fn connect(db: &TestDb) -> Arc<dyn Store> {
    let pool = PoolConfig { acquire_timeout: Duration::from_secs(30), ..PoolConfig::default() };
    tills_storage::connect(&db.url, &pool).await.expect("connect")
}

/// Every test app's configuration: the test secret, one-hour tokens, no trusted proxies.
fn app_config(cache: tills_server::cache::CacheConfig) -> AppConfig {
    AppConfig {
        jwt_secret: Secret(SECRET.into()),
        token_ttl: Duration::from_secs(3600),
        cache,
        trusted_proxies: TrustedProxies::default(),
        journal_key: Arc::new(journal_key()),
    }
}

/// The tests' journal key (a fixed seed, so a test can check signatures itself).
pub const JOURNAL_SEED: &str = "0707070707070707070707070707070707070707070707070707070707070707";

pub fn journal_key() -> tills_server::services::journal::JournalKey {
    tills_server::services::journal::JournalKey::from_seed_text(JOURNAL_SEED).expect("the test seed")
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let db = TestDb::new(backend).await;
        Self::spawn_on(db).await
    }

    pub async fn spawn_on(db: TestDb) -> TestApp {
        let store = connect(&db).await;
        Self::spawn_with_store(db, store).await
    }

    pub async fn spawn_with_store(db: TestDb, store: Arc<dyn Store>) -> TestApp {
        Self::spawn_configured(db, store, tills_server::cache::CacheConfig::default()).await
    }

    /// A server with its own cache settings (Redis, TTLs).
    pub async fn spawn_configured(
        db: TestDb,
        store: Arc<dyn Store>,
        cache: tills_server::cache::CacheConfig,
    ) -> TestApp {
        Self::spawn_with_config(db, store, app_config(cache)).await
    }

    /// A server on a fresh database that trusts `X-Forwarded-For` from 127.0.0.1, as behind a
    /// proxy on the same machine.
    pub async fn spawn_behind_proxy(backend: Backend) -> TestApp {
        let db = TestDb::new(backend).await;
        let store = connect(&db).await;
        let config = AppConfig {
            trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
            ..app_config(tills_server::cache::CacheConfig::default())
        };
        Self::spawn_with_config(db, store, config).await
    }

    pub async fn spawn_with_config(db: TestDb, store: Arc<dyn Store>, config: AppConfig) -> TestApp {
        // Server errors show in a failing test's output.
        let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
        let state = app::state(store.clone(), &config).expect("app state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app::serve(listener, app::router(state), async move {
            let _ = rx.await;
        }));
        TestApp { addr, base: format!("http://{addr}"), client: http_client(), store, db, shutdown: Some(tx) }
    }

    /// `n` servers on one fresh database, as instances behind a load balancer: each with its own
    /// pool, in-process caches and login throttle, all sharing `cache`'s Redis (if any). The
    /// first owns the database, which goes when it goes.
    pub async fn spawn_instances(backend: Backend, n: usize, cache: tills_server::cache::CacheConfig) -> Vec<TestApp> {
        let first = Self::spawn_configured_on(TestDb::new(backend).await, cache.clone()).await;
        let mut apps = Vec::with_capacity(n);
        for _ in 1..n {
            apps.push(first.another(cache.clone()).await);
        }
        apps.insert(0, first);
        apps
    }

    /// Another server on this one's database (its own pool and caches), with `cache`.
    pub async fn another(&self, cache: tills_server::cache::CacheConfig) -> TestApp {
        Self::spawn_configured_on(self.db.alias(), cache).await
    }

    async fn spawn_configured_on(db: TestDb, cache: tills_server::cache::CacheConfig) -> TestApp {
        let store = connect(&db).await;
        Self::spawn_configured(db, store, cache).await
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Res {
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Res { status, body, headers }
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Res {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Res {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> Res {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Sends raw bytes as a JSON body.
    pub async fn raw(&self, method: Method, path: &str, token: Option<&str>, body: Vec<u8>) -> Res {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or(Value::Null);
        Res { status, body, headers }
    }

    /// Logs in and returns the token (panics unless 200).
    pub async fn login(&self, store: Option<&str>, email: &str, password: &str) -> String {
        let mut body = json!({"email": email, "password": password});
        if let Some(s) = store {
            body["store"] = json!(s);
        }
        let res = self.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await;
        let body = res.expect(200);
        body["token"].as_str().unwrap().to_owned()
    }

    /// A platform admin `root@tills.test` and its token.
    pub async fn platform_token(&self) -> String {
        let hash = tills_server::auth::password::hash(PASSWORD.into()).await.unwrap();
        self.store
            .upsert_platform_admin(&tills_domain::Email::parse("root@tills.test").unwrap(), "Root", &hash)
            .await
            .unwrap();
        self.login(None, "root@tills.test", PASSWORD).await
    }

    /// Creates store `id` through the API (owner `admin@<id>.test`) and returns the owner's token.
    pub async fn create_store(&self, platform: &str, id: &str) -> String {
        self.post(
            "/api/v1/admin/stores",
            platform,
            json!({"id": id, "name": format!("Store {id}"), "currency": "USD",
                   "owner": {"email": format!("admin@{id}.test"), "name": "Owner", "password": PASSWORD}}),
        )
        .await
        .expect(201);
        self.login(Some(id), &format!("admin@{id}.test"), PASSWORD).await
    }

    /// Creates a user with `role` in the admin's store and returns (id, token).
    pub async fn user(&self, admin: &str, store: &str, email: &str, role: &str) -> (String, String) {
        let body = self
            .post("/api/v1/users", admin, json!({"email": email, "name": email, "role": role, "password": PASSWORD}))
            .await
            .expect(201);
        let token = self.login(Some(store), email, PASSWORD).await;
        (body["id"].as_str().unwrap().to_owned(), token)
    }
}

/// An HTTP client for the tests (with the TLS provider installed, as reqwest needs).
pub fn http_client() -> reqwest::Client {
    tills_bench::install_crypto_provider();
    reqwest::Client::new()
}

// ---------------------------------------------------------------------------------------------
// A second instance, deadlines, hand-made tokens, metrics and error bodies.

/// How long another instance may serve a user's or store's old access state (API.md: "within
/// five seconds"), plus a margin for a loaded test machine.
pub const PROPAGATION_DEADLINE: Duration = Duration::from_secs(6);

/// Sends a request and returns status, JSON body and headers, with extra headers.
pub async fn call_with_headers(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Res {
    let mut req = client.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    to_res(resp).await
}

pub async fn to_res(resp: reqwest::Response) -> Res {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Res { status, body, headers }
}

/// Sends a request with a raw `Authorization` header value (or none).
pub async fn with_authorization(app: &TestApp, path: &str, authorization: Option<&str>) -> Res {
    let mut req = app.client.get(format!("{}{}", app.base, path));
    if let Some(v) = authorization {
        req = req.header("authorization", v);
    }
    to_res(req.send().await.expect("request")).await
}

/// A login attempt's full response.
pub async fn login_res(app: &TestApp, store: Option<&str>, email: &str, password: &str) -> Res {
    let mut body = json!({"email": email, "password": password});
    if let Some(s) = store {
        body["store"] = json!(s);
    }
    app.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await
}

/// Logs in and returns the whole `200` body (token, expiresAt, user).
pub async fn login_body(app: &TestApp, store: Option<&str>, email: &str) -> Value {
    login_res(app, store, email, PASSWORD).await.expect(200)
}

/// Another instance of the server over the same database, as behind a load balancer: its own
/// access cache and login throttle, configured like every test app.
pub async fn another_instance(app: &TestApp) -> TestApp {
    app.another(tills_server::cache::CacheConfig::default()).await
}

/// Calls `probe` until it returns true or `deadline` passes; returns how long it took, or
/// `None` when the deadline passed first.
pub async fn within<F, Fut>(deadline: Duration, mut probe: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if probe().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signs `claims` with `alg` and `secret`.
pub fn sign(claims: &Value, alg: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign")
}

/// Claims as the server issues them (camelCase): `sub`, `storeId`, `role`, `iat`, `exp`.
pub fn claims(sub: &str, store: Option<&str>, role: &str, exp_in_secs: i64) -> Value {
    let now = now();
    json!({"sub": sub, "storeId": store, "role": role, "iat": now, "exp": now + exp_in_secs})
}

/// The decoded payload of a JWT (no verification).
pub fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url payload")).expect("JSON payload")
}

/// `token` with its payload replaced by `claims`, the header and signature kept.
pub fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2])
}

pub fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

/// The sum of a Prometheus counter's samples whose labels contain every `label="value"` given.
pub fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|lab| l.contains(lab)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub async fn metrics_text(app: &TestApp) -> String {
    let resp = app.client.get(format!("{}/metrics", app.base)).send().await.expect("metrics");
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.unwrap()
}

/// Every key anywhere in `v` (nested objects and arrays included).
pub fn all_keys(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    walk(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

/// Asserts that no password or hash of one appears in a response body.
#[track_caller]
pub fn assert_no_password(v: &Value) {
    for k in all_keys(v) {
        let k = k.to_lowercase();
        assert!(!k.contains("password") && !k.contains("hash"), "a password field came back: {k} in {v}");
    }
    let text = v.to_string();
    assert!(!text.contains("$argon2"), "a password hash came back: {text}");
    assert!(!text.contains(PASSWORD), "a password came back: {text}");
}

/// Follows `nextCursor` from `path` (which has no query string of its own unless `sep` is `&`)
/// and returns every item, checking each page holds at most `limit` items.
pub async fn collect_pages(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let page = app.get(&url, token).await.expect(200);
        let got = page["items"].as_array().expect("items").clone();
        assert!(got.len() <= limit, "a page holds more than limit={limit}: {page}");
        items.extend(got);
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert!(page["nextCursor"].is_null(), "nextCursor is a string or null: {page}");
                return items;
            }
        }
    }
    panic!("pagination of {path} did not end");
}

/// The ids of a list's items.
pub fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Sends `len` bytes of a valid JSON document (a long string) as the body, over a plain TCP
/// connection that reads the answer while it writes: a server that answers `413` before reading
/// the whole body then closes the connection, which an HTTP client still writing may report as
/// a broken request instead of the answer.
pub async fn send_big_body(app: &TestApp, method: Method, path: &str, token: Option<&str>, len: usize) -> Res {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(b"{\"name\": \"");
    body.resize(len - 2, b'x');
    body.extend_from_slice(b"\"}");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\nconnection: close\r\n",
        app.addr
    );
    if let Some(t) = token {
        head.push_str(&format!("authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");

    let stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let write = tokio::spawn(async move {
        // The server may stop reading and close: a failed write is expected then.
        if writer.write_all(head.as_bytes()).await.is_ok() {
            let _ = writer.write_all(&body).await;
        }
        writer
    });
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    drop(write.await);
    parse_response(&raw)
}

/// Parses an HTTP/1.1 response with a `content-length` body.
fn parse_response(raw: &[u8]) -> Res {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete HTTP response came back: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code: u16 = status_line.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("a status code");
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':')
            && let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
                v.trim().parse::<reqwest::header::HeaderValue>(),
            )
        {
            headers.append(k, v);
        }
    }
    let mut body = &raw[split + 4..];
    if let Some(n) = headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<usize>().ok()) {
        body = &body[..n.min(body.len())];
    }
    Res {
        status: reqwest::StatusCode::from_u16(code).expect("a valid status"),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
        headers,
    }
}
