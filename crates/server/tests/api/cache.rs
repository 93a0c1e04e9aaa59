//! The product cache against a real Redis: key format and TTL, invalidation for each kind of
//! write, whole-store invalidation, two instances on one Redis, a Redis that dies and comes
//! back, and stores with equal barcodes.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde_json::{Value, json};
use tills_server::cache::{CacheConfig, RedisConfig};
use tills_storage::PoolConfig;
use tills_testkit::{Backend, TestDb};

use crate::helpers::TestApp;

pub(crate) fn redis_url() -> String {
    std::env::var("TILLS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).unwrap();
    match tokio::time::timeout(Duration::from_secs(5), client.get_multiplexed_async_connection()).await {
        Ok(Ok(c)) => c,
        _ => panic!(
            "Redis is needed for this test and is not reachable at {url}. Start it with: \
             redis-server --daemonize yes --port 6379 --save '' (or apt-get install -y redis-server), or set TILLS_TEST_REDIS_URL"
        ),
    }
}

/// A store id no earlier run used (Redis keeps keys between runs).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &tills_domain::new_id().simple().to_string()[20..])
}

pub fn config(url: &str) -> CacheConfig {
    CacheConfig { redis: Some(RedisConfig::new(url)), ..CacheConfig::default() }
}

/// Two servers on one database and one Redis.
async fn pair(backend: Backend, url: &str) -> (TestApp, TestApp) {
    let mut apps = TestApp::spawn_instances(backend, 2, config(url)).await;
    let second = apps.pop().unwrap();
    (apps.pop().unwrap(), second)
}

/// The value at `key` once `fits` holds: a scan's refill is written to Redis in the background,
/// shortly after the scan answered.
pub async fn redis_value<C>(conn: &mut C, key: &str, fits: impl Fn(&str) -> bool) -> String
where
    C: redis::aio::ConnectionLike + Send + Sync,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let value: Option<String> = conn.get(key).await.unwrap();
        match value {
            Some(v) if fits(&v) => return v,
            other => assert!(Instant::now() < deadline, "{key} not filled as expected within 5 s: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls `check` until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn scan(app: &TestApp, token: &str, code: &str) -> (u16, Value) {
    let r = app.get(&format!("/api/v1/products/barcode/{code}"), token).await;
    (r.status.as_u16(), r.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_ttl_and_whole_store_invalidation() {
    let url = redis_url();
    let mut r = redis_conn(&url).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.unwrap();
    let app = TestApp::spawn_configured(db, store, config(&url)).await;
    let platform = app.platform_token().await;
    let (a_id, b_id) = (unique("keys-a"), unique("keys-b"));
    let a = app.create_store(&platform, &a_id).await;
    let b = app.create_store(&platform, &b_id).await;
    app.post("/api/v1/products", &a, json!({"name": "Cola", "barcode": "5449000000996", "price": 150}))
        .await
        .expect(201);
    app.post("/api/v1/products", &b, json!({"name": "B Cola", "barcode": "5449000000996", "price": 99}))
        .await
        .expect(201);
    assert_eq!(scan(&app, &a, "5449000000996").await.0, 200);
    assert_eq!(scan(&app, &b, "5449000000996").await.0, 200);
    assert_eq!(scan(&app, &a, "0000000000000").await.0, 404);

    let key = format!("product:{{{a_id}}}:5449000000996");
    let value = redis_value(&mut r, &key, |_| true).await;
    assert!(value.contains("\"name\":\"Cola\""), "{value}");
    let ttl: i64 = r.ttl(&key).await.unwrap();
    assert!((3500..=3600).contains(&ttl), "one hour: {ttl}");
    let negative_key = format!("product:{{{a_id}}}:0000000000000");
    assert_eq!(redis_value(&mut r, &negative_key, |_| true).await, "0|-", "unknown, under generation 0");
    let negative: i64 = r.ttl(&negative_key).await.unwrap();
    assert!((1..=60).contains(&negative), "unknown barcodes briefly: {negative}");

    // Whole-store invalidation bumps A's generation only; B's entry still answers.
    let b_key = format!("product:{{{b_id}}}:5449000000996");
    let b_before = redis_value(&mut r, &b_key, |_| true).await;
    app.post("/api/v1/cache/products/invalidate", &b, json!({})).await.expect(204); // B's admin, B's store
    app.post("/api/v1/cache/products/invalidate", &a, json!({})).await.expect(204);
    let gen_a: i64 = r.get(format!("productgen:{{{a_id}}}")).await.unwrap();
    assert_eq!(gen_a, 1);
    let gen_b: i64 = r.get(format!("productgen:{{{b_id}}}")).await.unwrap();
    assert_eq!(gen_b, 1);
    let b_after: String = r.get(&b_key).await.unwrap();
    assert_eq!(b_before, b_after, "A's invalidation never touches B's keys");
    // A cashier may not invalidate.
    let (_, cashier) = app.user(&a, &a_id, "c@a.test", "cashier").await;
    app.post("/api/v1/cache/products/invalidate", &cashier, json!({})).await.expect_error(403, "forbidden");
    // Equal barcodes in two stores never cross.
    assert_eq!(scan(&app, &a, "5449000000996").await.1["product"]["name"], "Cola");
    assert_eq!(scan(&app, &b, "5449000000996").await.1["product"]["name"], "B Cola");
}

/// Every kind of product write on one instance reaches another within a second, through the
/// Redis (or Redis Cluster) at `url`.
pub async fn two_instances_see_every_write_within_a_second(backend: Backend, url: &str) {
    let (one, two) = pair(backend, url).await;
    let platform = one.platform_token().await;
    let sid = unique("pair");
    let admin = one.create_store(&platform, &sid).await;
    let case = one.post("/api/v1/units", &admin, json!({"name": "Case"})).await.expect(201)["id"].clone();
    // Unknown on instance two first: the negative entry must not survive the create.
    assert_eq!(scan(&two, &admin, "111").await.0, 404);
    let p = one
        .post(
            "/api/v1/products",
            &admin,
            json!({"name": "Tea", "barcode": "111", "price": 100, "stock": 5,
                                                   "units": [{"unitId": case, "barcode": "112", "factor": 6}]}),
        )
        .await
        .expect(201);
    let path = format!("/api/v1/products/{}", p["id"].as_str().unwrap());
    let second = Duration::from_secs(1);
    eventually(second, "create visible on instance two", || async { scan(&two, &admin, "111").await.0 == 200 }).await;
    // Warm both tiers on two, then change the price on one.
    assert_eq!(scan(&two, &admin, "112").await.1["unit"]["price"], 600);
    one.patch(&path, &admin, json!({"price": 120})).await.expect(200);
    eventually(second, "new price", || async { scan(&two, &admin, "111").await.1["product"]["price"] == 120 }).await;
    eventually(second, "pack price follows", || async { scan(&two, &admin, "112").await.1["unit"]["price"] == 720 })
        .await;
    // A stock change through the product API.
    one.post(&format!("{path}/stock"), &admin, json!({"delta": 10, "reason": "received"})).await.expect(200);
    eventually(second, "new stock", || async { scan(&two, &admin, "111").await.1["product"]["stock"] == 15 }).await;
    // A barcode change: the old one stops resolving, the new one resolves.
    one.patch(&path, &admin, json!({"barcode": "113"})).await.expect(200);
    eventually(second, "old barcode gone", || async { scan(&two, &admin, "111").await.0 == 404 }).await;
    assert_eq!(scan(&two, &admin, "113").await.0, 200);
    // A pack removed.
    one.patch(&path, &admin, json!({"units": []})).await.expect(200);
    eventually(second, "pack barcode gone", || async { scan(&two, &admin, "112").await.0 == 404 }).await;
    // Delete.
    one.delete(&path, &admin).await.expect(204);
    eventually(second, "deleted", || async { scan(&two, &admin, "113").await.0 == 404 }).await;
    // Whole-store invalidation on one reaches two.
    let q = one.post("/api/v1/products", &admin, json!({"name": "Q", "barcode": "200", "price": 1})).await.expect(201);
    assert_eq!(scan(&two, &admin, "200").await.0, 200);
    let qid = q["id"].as_str().unwrap();
    // Change the row behind the cache's back, then invalidate the whole store.
    one.store.delete_product(&tills_domain::StoreId::parse(&sid).unwrap(), qid.parse().unwrap()).await.unwrap();
    one.post("/api/v1/cache/products/invalidate", &admin, json!({})).await.expect(204);
    eventually(second, "whole store invalidated", || async { scan(&two, &admin, "200").await.0 == 404 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sqlite() {
    two_instances_see_every_write_within_a_second(Backend::Sqlite, &redis_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_postgres() {
    two_instances_see_every_write_within_a_second(Backend::Postgres, &redis_url()).await;
}

/// Scans through Redis on the Citus cluster: each scan that misses both tiers is a `tills_scan`
/// delegated to the worker holding the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_citus() {
    two_instances_see_every_write_within_a_second(Backend::Citus, &redis_url()).await;
}

/// Three instances on one database and the Redis (or Redis Cluster) at `url`, as behind a load
/// balancer: a price change on the first is scanned on the other two within a second, and a store
/// suspended on the first is refused (`403 forbidden`) by the other two within five seconds
/// (API.md; their access caches keep a store's status for at most `ACCESS_TTL`, 4 s).
pub async fn three_instances_agree(url: &str) {
    let apps = TestApp::spawn_instances(Backend::Postgres, 3, config(url)).await;
    let (one, others) = (&apps[0], &apps[1..]);
    let platform = one.platform_token().await;
    let sid = unique("trio");
    let admin = one.create_store(&platform, &sid).await;
    let p = one
        .post("/api/v1/products", &admin, json!({"name": "Bread", "barcode": "4001", "price": 250}))
        .await
        .expect(201);
    for app in others {
        // Both tiers of every other instance hold the old price before the write.
        assert_eq!(scan(app, &admin, "4001").await.1["product"]["price"], 250);
        assert_eq!(app.get("/api/v1/store", &admin).await.status.as_u16(), 200);
    }
    one.patch(&format!("/api/v1/products/{}", p["id"].as_str().unwrap()), &admin, json!({"price": 275}))
        .await
        .expect(200);
    // One deadline for both, from the write.
    eventually(Duration::from_secs(1), "new price on instances two and three", || async {
        let mut all = true;
        for app in others {
            all &= scan(app, &admin, "4001").await.1["product"]["price"] == 275;
        }
        all
    })
    .await;
    one.patch(&format!("/api/v1/admin/stores/{sid}"), &platform, json!({"status": "suspended"})).await.expect(200);
    one.get("/api/v1/store", &admin).await.expect_error(403, "forbidden");
    eventually(Duration::from_secs(5), "suspension refused on instances two and three", || async {
        let mut all = true;
        for app in others {
            let res = app.get("/api/v1/products/barcode/4001", &admin).await;
            all &= res.status.as_u16() == 403 && res.code() == "forbidden";
        }
        all
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_one_redis() {
    three_instances_agree(&redis_url()).await;
}

/// A redis-server of the test's own, on a free port, killed with the test.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
    dir: tills_testkit::TempDir,
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut r = OwnRedis { port, child: None, dir: tills_testkit::TempDir::new() };
        r.up();
        r
    }

    fn up(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir.path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for this test (apt-get install -y redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.down();
    }
}

fn counter(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(name) && labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_survive_redis_dying_and_use_it_again_when_it_returns() {
    let mut own = OwnRedis::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.unwrap();
    // A short in-process TTL, so scans reach for Redis during the test.
    let cache = CacheConfig { memory_ttl: Duration::from_millis(300), ..config(&own.url()) };
    let app = TestApp::spawn_configured(db, store, cache).await;
    let platform = app.platform_token().await;
    let sid = unique("outage");
    let admin = app.create_store(&platform, &sid).await;
    app.post("/api/v1/products", &admin, json!({"name": "Milk", "barcode": "900", "price": 119})).await.expect(201);
    assert_eq!(scan(&app, &admin, "900").await.0, 200);
    let ready = app.call(reqwest::Method::GET, "/readyz", None, None).await.expect(200);
    assert_eq!(ready["cache"], json!({"kind": "redis", "up": true}));

    own.down();
    let metrics = |app: &TestApp| {
        let c = app.client.clone();
        let url = format!("{}/metrics", app.base);
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let errors_before =
        counter(&metrics(&app).await, "tills_product_cache_requests_total", &["result=\"error\"", "tier=\"redis\""]);
    for i in 0..20 {
        let (status, body) = scan(&app, &admin, "900").await;
        assert_eq!(status, 200, "scan {i} while Redis is down: {body}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // A write while Redis is down still shows at once on this instance.
    let p = app.get("/api/v1/products?q=milk", &admin).await.expect(200)["items"][0]["id"].as_str().unwrap().to_owned();
    app.patch(&format!("/api/v1/products/{p}"), &admin, json!({"price": 129})).await.expect(200);
    assert_eq!(scan(&app, &admin, "900").await.1["product"]["price"], 129);
    let ready = app.call(reqwest::Method::GET, "/readyz", None, None).await.expect(200);
    assert_eq!(ready["cache"]["up"], false, "readyz reports the cache down and stays 200");
    let errors_after =
        counter(&metrics(&app).await, "tills_product_cache_requests_total", &["result=\"error\"", "tier=\"redis\""]);
    assert!(errors_after > errors_before, "redis errors are counted ({errors_before} → {errors_after})");

    own.up();
    let hits_before =
        counter(&metrics(&app).await, "tills_product_cache_requests_total", &["result=\"hit\"", "tier=\"redis\""]);
    eventually(Duration::from_secs(10), "Redis used again", || async {
        tokio::time::sleep(Duration::from_millis(350)).await; // let the in-process entry expire
        let (status, body) = scan(&app, &admin, "900").await;
        assert_eq!(status, 200);
        assert_eq!(body["product"]["price"], 129, "never the old price");
        counter(&metrics(&app).await, "tills_product_cache_requests_total", &["result=\"hit\"", "tier=\"redis\""])
            > hits_before
    })
    .await;
}

/// With Redis, login failures are counted across instances: three on one and two on the other
/// lock the account on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_throttling_is_shared_through_redis() {
    login_failures_count_on_every_instance(&redis_url()).await;
}

/// Three failures on one instance and two on another lock the account on both, through the
/// Redis (or Redis Cluster) at `url`.
pub async fn login_failures_count_on_every_instance(url: &str) {
    let (one, two) = pair(Backend::Sqlite, url).await;
    let platform = one.platform_token().await;
    let sid = unique("throttle");
    one.create_store(&platform, &sid).await;
    let email = format!("admin@{sid}.test");
    let attempt = |app: &TestApp, password: &str| {
        let body = json!({"store": sid, "email": email, "password": password});
        let (client, url) = (app.client.clone(), format!("{}/api/v1/auth/login", app.base));
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    for app in [&one, &one, &one, &two, &two] {
        assert_eq!(attempt(app, "wrong password!").await.status().as_u16(), 401);
    }
    for app in [&one, &two] {
        let r = attempt(app, crate::helpers::PASSWORD).await;
        assert_eq!(r.status().as_u16(), 429, "locked on every instance");
        let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
    }
}
