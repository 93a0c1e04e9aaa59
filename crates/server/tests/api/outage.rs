//! The database goes away and comes back: `503 unavailable` while it is gone, and the same
//! server answers again once it returns. The shared PostgreSQL keeps running: the server talks
//! to it through a small TCP proxy in this test, which the test cuts and restores.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tills_storage::PoolConfig;
use tills_testkit::TestDb;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{PASSWORD, TestApp};
use crate::helpers::{login_res, to_res, within};

/// How the proxy treats connections.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Forward every connection.
    Up,
    /// Nothing listens: new connections are refused, as when the database host is down.
    Refuse,
    /// Accept and close at once, as a TCP load balancer in front of a dead database does.
    Hangup,
}

/// A TCP proxy to one upstream on a fixed local port. Leaving `Up` closes every open
/// connection under the server's feet.
struct Proxy {
    addr: SocketAddr,
    upstream: String,
    mode: Arc<watch::Sender<Mode>>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Refuse);
        if let Some(task) = self.accept.take() {
            task.abort();
        }
    }
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(watch::Sender::new(Mode::Up));
        let mut proxy = Proxy { addr, upstream, mode, accept: None };
        proxy.accept = Some(proxy.serve(listener));
        proxy
    }

    fn serve(&self, listener: TcpListener) -> tokio::task::JoinHandle<()> {
        let mode = self.mode.clone();
        let upstream = self.upstream.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if *mode.borrow() != Mode::Up {
                    drop(inbound);
                    continue;
                }
                let mut changed = mode.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = changed.wait_for(|m| *m != Mode::Up) => {}
                    }
                    // Dropping both ends closes the connection.
                });
            }
        })
    }

    /// Cuts every connection; new ones are refused (`Refuse`) or hung up on (`Hangup`).
    async fn cut(&mut self, how: Mode) {
        self.mode.send_replace(how);
        if how == Mode::Refuse
            && let Some(task) = self.accept.take()
        {
            task.abort();
            let _ = task.await;
        }
    }

    async fn restore(&mut self) {
        if self.accept.is_none() {
            // The same port again (SO_REUSEADDR is set by tokio on Unix).
            let listener = TcpListener::bind(self.addr).await.expect("rebind the proxy's port");
            self.accept = Some(self.serve(listener));
        }
        self.mode.send_replace(Mode::Up);
    }
}

/// `url` with its host and port replaced by `addr`; also returns the original `host:port`.
fn through(url: &str, addr: SocketAddr) -> (String, String) {
    let scheme_end = url.find("://").expect("a URL") + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    let upstream = if hostport.contains(':') { hostport.to_owned() } else { format!("{hostport}:5432") };
    let proxied = format!("{}{}{}{}", &url[..scheme_end], userinfo, addr, &rest[authority_end..]);
    (proxied, upstream)
}

async fn status_of(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let res = app.call(method, path, token, None).await;
    (res.status.as_u16(), res.body)
}

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let res = to_res(app.client.get(format!("{}/readyz", app.base)).send().await.expect("readyz")).await;
    (res.status.as_u16(), res.body)
}

/// Works → the database goes away (`how`) → 503 → it returns → works, twice.
pub async fn outage(how: Mode) {
    let db = TestDb::postgres().await;
    // The proxy must exist before the URL that names it.
    let (_, upstream) = through(&db.url, "127.0.0.1:1".parse().unwrap());
    let mut proxy = Proxy::start(upstream).await;
    let (url, _) = through(&db.url, proxy.addr);
    let store =
        tills_storage::connect(&url, &PoolConfig { max_connections: 4, acquire_timeout: Duration::from_secs(1) })
            .await
            .expect("connect through the proxy");
    let app = TestApp::spawn_with_store(db, store).await;

    // Working.
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    app.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(readyz(&app).await.0, 200);

    proxy.cut(how).await;

    // While the database is gone: API calls answer 503 unavailable, readiness says so, health
    // does not (the process runs).
    let res = app.get("/api/v1/users", &admin).await;
    res.expect_error(503, "unavailable");
    assert!(res.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    app.post(
        "/api/v1/users",
        &admin,
        json!({"email": "during@shop-a.test", "name": "D", "role": "cashier", "password": PASSWORD}),
    )
    .await
    .expect_error(503, "unavailable");
    app.get("/api/v1/store", &admin).await.expect_error(503, "unavailable");
    app.get("/api/v1/audit", &admin).await.expect_error(503, "unavailable");
    // A login cannot be checked: 503, not a misleading 401.
    login_res(&app, Some("shop-a"), "admin@shop-a.test", PASSWORD).await.expect_error(503, "unavailable");
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"]["up"], false, "{body}");
    let (status, _) = status_of(&app, Method::GET, "/healthz", None).await;
    assert_eq!(status, 200);
    // Still 503 a while later (the failure is not cached as something else).
    let res = app.get("/api/v1/users", &admin).await;
    res.expect_error(503, "unavailable");

    proxy.restore().await;

    // The same server answers again by itself.
    let back =
        within(Duration::from_secs(10), || async { app.get("/api/v1/users", &admin).await.status.as_u16() == 200 })
            .await;
    assert!(back.is_some(), "the server did not recover within 10 s of the database returning");
    assert_eq!(readyz(&app).await.0, 200);
    app.get("/api/v1/store", &admin).await.expect(200);
    login_res(&app, Some("shop-a"), "admin@shop-a.test", PASSWORD).await.expect(200);
    // Nothing tried during the outage was half-written; writes work again.
    login_res(&app, Some("shop-a"), "during@shop-a.test", PASSWORD).await.expect_error(401, "unauthorized");
    app.post(
        "/api/v1/users",
        &admin,
        json!({"email": "after@shop-a.test", "name": "A", "role": "cashier", "password": PASSWORD}),
    )
    .await
    .expect(201);
    let users = app.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(users["items"].as_array().unwrap().len(), 2, "{users}");

    // A second outage behaves the same: recovery is not a one-off.
    proxy.cut(how).await;
    app.get("/api/v1/users", &admin).await.expect_error(503, "unavailable");
    assert_eq!(readyz(&app).await.0, 503);
    proxy.restore().await;
    let back =
        within(Duration::from_secs(10), || async { app.get("/api/v1/users", &admin).await.status.as_u16() == 200 })
            .await;
    assert!(back.is_some(), "no recovery after the second outage");
    drop(app);
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_gives_503_and_the_server_recovers() {
    outage(Mode::Refuse).await;
}

/// The database's address accepts connections but hangs up at once (a load balancer in front
/// of a dead PostgreSQL): not ready while it lasts, ready again when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_up_database_is_not_ready() {
    let db = TestDb::postgres().await;
    let (_, upstream) = through(&db.url, "127.0.0.1:1".parse().unwrap());
    let mut proxy = Proxy::start(upstream).await;
    let (url, _) = through(&db.url, proxy.addr);
    let store =
        tills_storage::connect(&url, &PoolConfig { max_connections: 4, acquire_timeout: Duration::from_secs(1) })
            .await
            .expect("connect through the proxy");
    let app = TestApp::spawn_with_store(db, store).await;
    let platform = app.platform_token().await;
    assert_eq!(readyz(&app).await.0, 200);

    proxy.cut(Mode::Hangup).await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"]["up"], false, "{body}");
    assert_eq!(status_of(&app, Method::GET, "/healthz", None).await.0, 200);

    proxy.restore().await;
    let back = within(Duration::from_secs(10), || async { readyz(&app).await.0 == 200 }).await;
    assert!(back.is_some(), "not ready again within 10 s of the database returning");
    app.get("/api/v1/admin/stores", &platform).await.expect(200);
}

#[test]
fn proxy_urls_keep_user_and_database() {
    let addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let (url, upstream) = through("postgres://postgres@127.0.0.1:5432/tills_t_1?sslmode=disable", addr);
    assert_eq!(url, "postgres://postgres@127.0.0.1:40000/tills_t_1?sslmode=disable");
    assert_eq!(upstream, "127.0.0.1:5432");
    let (url, upstream) = through("postgres://u:p@db/x", addr);
    assert_eq!(url, "postgres://u:p@127.0.0.1:40000/x");
    assert_eq!(upstream, "db:5432");
}
