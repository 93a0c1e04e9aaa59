//! Test harness: spawn an app on a fresh database, log in, call the API.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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
    }
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
    tills_server::install_crypto_provider();
    reqwest::Client::new()
}
