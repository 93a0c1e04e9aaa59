//! Crash safety (issue 6, point 9), on both backends: the real `tills serve` process takes a
//! burst of concurrent sales and is killed with `SIGKILL` in the middle of it. A second process
//! on the same database then shows that every sale answered `201` is whole (lines, payments,
//! stock movement), that no sale is half-written and the stock matches the committed sales
//! exactly, that retrying with the same `clientRef` gives each request exactly one sale, and
//! that the invoice numbers are still INV-000001…INV-N with no gap and no repeat. And a server
//! refuses to start on a PostgreSQL schema older than its build.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tills_testkit::{Backend, TempDir, TestDb};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::helpers::{PASSWORD, SECRET};

/// Sales sent in the burst, each with its own `clientRef`.
const BURST: usize = 300;
/// Requests in flight at once during the burst.
const IN_FLIGHT: usize = 32;
/// The server is killed when this many answers have arrived.
const KILL_AFTER: usize = 100;
const INITIAL_STOCK: i64 = 1_000_000;
const PRICE: i64 = 250;
/// Deadline for a process to start, a bootstrap command to finish, or a burst to drain.
const DEADLINE: Duration = Duration::from_secs(30);

/// A child process that is killed (SIGKILL) and reaped when dropped, so a failing test never
/// leaves a server behind. On a panic it prints the tail of the process's log.
struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &str, db: &TestDb, dir: &Path, args: &[&str]) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).expect("create the log file");
        let err = out.try_clone().expect("clone the log file");
        let child = Command::new(env!("CARGO_BIN_EXE_tills"))
            .args(args)
            // No `.env` of the developer's checkout, no cache, nothing but this database.
            .current_dir(dir)
            .env("DATABASE_URL", &db.url)
            .env("TILLS_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .env_remove("TILLS_LISTEN")
            .env_remove("TILLS_DB_MAX_CONNECTIONS")
            .env_remove("TILLS_TOKEN_TTL_HOURS")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start the tills binary");
        Proc { name: name.to_owned(), child: Some(child), log }
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        text[start..].to_owned()
    }

    /// The exit status, if the process has ended.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().expect("try_wait"))
    }

    /// Waits (polling, bounded) for the process to end by itself and returns whether it succeeded.
    async fn finish(mut self) -> bool {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.exited() {
                if !status.success() {
                    eprintln!("{} failed ({status}):\n{}", self.name, self.log_tail());
                }
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "{} did not finish within {DEADLINE:?}:\n{}",
                self.name,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- log of {} ({}) ---\n{}", self.name, self.log.display(), self.log_tail());
        }
    }
}

/// A `tills serve` process on a loopback port.
struct Server {
    proc: Proc,
    base: String,
}

impl Server {
    /// Starts `tills serve` on a free loopback port and polls `/healthz` until it answers.
    async fn start(name: &str, db: &TestDb, dir: &Path, client: &reqwest::Client) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let proc = Proc::spawn(name, db, dir, &["serve", "--listen", &listen, "--migrate"]);
        let mut server = Server { proc, base: format!("http://{listen}") };
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = server.proc.exited() {
                panic!("{name} exited before it was ready ({status}):\n{}", server.proc.log_tail());
            }
            let ready = client
                .get(format!("{}/healthz", server.base))
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return server;
            }
            assert!(Instant::now() < deadline, "{name} did not answer /healthz within {DEADLINE:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A port nothing listens on right now (the OS picks it; the server binds it a moment later).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().unwrap().port()
}

fn client() -> reqwest::Client {
    tills_bench::install_crypto_provider();
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(20)).build().expect("http client")
}

/// Status and JSON body of one call.
async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = client.request(method, &url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// One client of the restarted server.
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    #[track_caller]
    fn ok(&self, what: &str, (status, body): (u16, Value), expected: u16) -> Value {
        assert_eq!(status, expected, "{what}: {body}");
        body
    }
    async fn get(&self, path: &str) -> (u16, Value) {
        call(&self.client, reqwest::Method::GET, format!("{}{path}", self.base), Some(&self.token), None).await
    }
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        call(&self.client, reqwest::Method::POST, format!("{}{path}", self.base), Some(&self.token), Some(body)).await
    }
    /// Every item of a paginated list, following `nextCursor` (bounded).
    async fn all(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=200&cursor={c}"),
                None => format!("{path}{sep}limit=200"),
            };
            let (status, page) = self.get(&url).await;
            assert_eq!(status, 200, "GET {url}: {page}");
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
        panic!("GET {path}: more than 1000 pages");
    }
}

/// A quantity as integer thousandths (quantities have at most 3 decimals).
fn milli(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) * 1000.0).round() as i64
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// The body of sale `i`: 1–3 items, paid by card (100) and cash (the rest plus 50 of change).
fn sale_body(client_ref: &str, product: &str, i: usize) -> (Value, i64) {
    let quantity = 1 + (i % 3) as i64;
    let total = PRICE * quantity;
    let body = json!({
        "clientRef": client_ref,
        "lines": [{"productId": product, "quantity": quantity}],
        "payments": [{"method": "card", "amount": 100}, {"method": "cash", "amount": total - 100 + 50}],
    });
    (body, quantity)
}

/// What a burst request got.
#[derive(Debug)]
enum Outcome {
    /// `201` with the sale.
    Created(Value),
    /// Another status (the server answered, but not with a sale).
    Refused(u16, Value),
    /// No answer: the connection was refused (`connect`), or it broke with the request sent.
    NoAnswer { connect: bool },
}

struct Attempt {
    client_ref: String,
    body: Value,
    quantity: i64,
    outcome: Outcome,
}

/// Reads the whole state of the store after a restart and checks that it is consistent:
/// every listed sale is whole (≥ 1 line, payments summing to `paid`, totals adding up), each
/// has its `clientRef` (one of `sent`, none twice) and its stock movement, no sale movement
/// points to a missing sale, the invoice numbers are exactly 1…N, and the stock equals the
/// initial stock minus everything the existing sales sold. Returns the sales by `clientRef`.
async fn audit(api: &Api, product: &str, sent: &BTreeSet<String>) -> BTreeMap<String, Value> {
    let summaries = api.all("/api/v1/sales").await;
    let mut by_ref = BTreeMap::new();
    let mut by_id = BTreeMap::new();
    let mut invoices = BTreeSet::new();
    let mut sold_milli = 0;
    for summary in &summaries {
        let id = summary["id"].as_str().expect("sale id");
        let sale = api.ok(&format!("GET sale {id}"), api.get(&format!("/api/v1/sales/{id}")).await, 200);
        assert_eq!(sale["invoiceNumber"], summary["invoiceNumber"], "{sale}");
        assert_eq!(sale["status"], "completed", "{sale}");
        let lines = sale["lines"].as_array().expect("lines");
        assert!(!lines.is_empty(), "half-written sale without lines: {sale}");
        for line in lines {
            assert_eq!(line["productId"], product, "{sale}");
        }
        let lines_total: i64 = lines.iter().map(|l| int(&l["total"])).sum();
        assert_eq!(lines_total, int(&sale["total"]), "lines add up to the total: {sale}");
        let payments = sale["payments"].as_array().expect("payments");
        assert!(!payments.is_empty(), "half-written sale without payments: {sale}");
        let paid: i64 = payments.iter().map(|p| int(&p["amount"])).sum();
        assert_eq!(paid, int(&sale["paid"]), "payments sum to paid: {sale}");
        assert_eq!(int(&sale["paid"]) - int(&sale["change"]), int(&sale["total"]), "paid − change = total: {sale}");
        assert_eq!(sale["paid"], summary["paid"], "{sale}");
        assert_eq!(sale["total"], summary["total"], "{sale}");
        let client_ref =
            sale["clientRef"].as_str().unwrap_or_else(|| panic!("sale without clientRef: {sale}")).to_owned();
        assert!(sent.contains(&client_ref), "a sale with a clientRef nobody sent: {sale}");
        assert!(
            invoices.insert(sale["invoiceNumber"].as_str().expect("invoiceNumber").to_owned()),
            "repeated invoice number: {sale}"
        );
        sold_milli += lines.iter().map(|l| milli(&l["quantity"]) * int(&l["factor"])).sum::<i64>();
        by_id.insert(id.to_owned(), sale.clone());
        assert!(by_ref.insert(client_ref.clone(), sale).is_none(), "two sales for clientRef {client_ref}");
    }
    let expected: BTreeSet<String> = (1..=summaries.len()).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(invoices, expected, "invoice numbers are exactly INV-000001..INV-{:06}", summaries.len());

    // Stock movements: each sale has its own, each sale movement belongs to an existing sale.
    let movements = api.all(&format!("/api/v1/products/{product}/stock-movements")).await;
    let mut moved: BTreeMap<String, i64> = BTreeMap::new();
    for m in movements.iter().filter(|m| m["reason"] == "sale") {
        let sale_id = m["saleId"].as_str().unwrap_or_else(|| panic!("sale movement without saleId: {m}"));
        assert!(by_id.contains_key(sale_id), "stock movement of a sale that does not exist (half-written): {m}");
        *moved.entry(sale_id.to_owned()).or_default() += milli(&m["delta"]);
    }
    for (id, sale) in &by_id {
        let sold: i64 =
            sale["lines"].as_array().unwrap().iter().map(|l| milli(&l["quantity"]) * int(&l["factor"])).sum();
        assert_eq!(moved.get(id).copied(), Some(-sold), "sale {id} has its stock movement: {sale}");
    }

    let product = api.ok("GET product", api.get(&format!("/api/v1/products/{product}")).await, 200);
    assert_eq!(
        milli(&product["stock"]),
        INITIAL_STOCK * 1000 - sold_milli,
        "stock = initial − Σ sold quantities of the {} existing sales",
        summaries.len()
    );
    by_ref
}

async fn crash_mid_burst(backend: Backend) {
    let started = Instant::now();
    let db = TestDb::new(backend).await;
    let dir = TempDir::new();
    let http = client();

    // 1. The real binary on a fresh database; a platform admin, a store, a product.
    let mut first = Server::start("tills-serve-1", &db, &dir.path, &http).await;
    let admin_email = "root@crash.test";
    let create_admin = Proc::spawn(
        "create-platform-admin",
        &db,
        &dir.path,
        &["admin", "create-platform-admin", "--email", admin_email, "--password", PASSWORD],
    );
    assert!(create_admin.finish().await, "tills admin create-platform-admin failed");
    let login = |base: String, body: Value| {
        let http = http.clone();
        async move {
            let (status, res) =
                call(&http, reqwest::Method::POST, format!("{base}/api/v1/auth/login"), None, Some(&body)).await;
            assert_eq!(status, 200, "login: {res}");
            res["token"].as_str().expect("token").to_owned()
        }
    };
    let platform = login(first.base.clone(), json!({"email": admin_email, "password": PASSWORD})).await;
    let (status, res) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/admin/stores", first.base),
        Some(&platform),
        Some(&json!({"id": "crash", "name": "Crash store", "currency": "USD",
                     "owner": {"email": "admin@crash.test", "name": "Owner", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(status, 201, "create store: {res}");
    let token =
        login(first.base.clone(), json!({"store": "crash", "email": "admin@crash.test", "password": PASSWORD})).await;
    let (status, res) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/products", first.base),
        Some(&token),
        Some(&json!({"name": "Crash cola", "barcode": "4006381333931", "price": PRICE, "taxRate": 0, "stock": INITIAL_STOCK})),
    )
    .await;
    assert_eq!(status, 201, "create product: {res}");
    let product = res["id"].as_str().expect("product id").to_owned();
    let bootstrapped = started.elapsed();

    // 2. The burst, and SIGKILL once KILL_AFTER answers have arrived.
    let mut attempts: Vec<Attempt> = (0..BURST)
        .map(|i| {
            let client_ref = uuid::Uuid::new_v4().to_string();
            let (body, quantity) = sale_body(&client_ref, &product, i);
            Attempt { client_ref, body, quantity, outcome: Outcome::NoAnswer { connect: true } }
        })
        .collect();
    let burst_client = client();
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let answered = Arc::new(AtomicUsize::new(0));
    let threshold = Arc::new(Notify::new());
    let mut tasks = JoinSet::new();
    let burst_started = Instant::now();
    for (i, attempt) in attempts.iter().enumerate() {
        let (client, url, token, body) =
            (burst_client.clone(), format!("{}/api/v1/sales", first.base), token.clone(), attempt.body.clone());
        let (gate, answered, threshold) = (gate.clone(), answered.clone(), threshold.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore");
            let outcome = match client.post(url).bearer_auth(token).json(&body).send().await {
                Err(e) => Outcome::NoAnswer { connect: e.is_connect() },
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match resp.text().await {
                        Err(_) => Outcome::NoAnswer { connect: false },
                        Ok(text) => {
                            if answered.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                                threshold.notify_one();
                            }
                            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                            if status == 201 { Outcome::Created(body) } else { Outcome::Refused(status, body) }
                        }
                    }
                }
            };
            (i, outcome)
        });
    }
    tokio::time::timeout(DEADLINE, threshold.notified())
        .await
        .unwrap_or_else(|_| panic!("{KILL_AFTER} answers did not arrive within {DEADLINE:?}"));
    first.proc.kill();
    let killed_after = burst_started.elapsed();
    let answered_at_kill = answered.load(Ordering::SeqCst);
    let drain = async {
        while let Some(done) = tasks.join_next().await {
            let (i, outcome) = done.expect("burst task");
            attempts[i].outcome = outcome;
        }
    };
    tokio::time::timeout(DEADLINE, drain).await.expect("the burst's requests end once the server is dead");
    let created = attempts.iter().filter(|a| matches!(a.outcome, Outcome::Created(_))).count();
    let refused: Vec<String> = attempts
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Refused(status, body) => Some(format!("{status} {body}")),
            _ => None,
        })
        .collect();
    let lost_in_flight = attempts.iter().filter(|a| matches!(a.outcome, Outcome::NoAnswer { connect: false })).count();
    let refused_connection =
        attempts.iter().filter(|a| matches!(a.outcome, Outcome::NoAnswer { connect: true })).count();
    let no_answer = lost_in_flight + refused_connection;
    assert!(created >= KILL_AFTER / 2, "most answers before the kill were sales: {refused:?}");
    assert!(no_answer > 0, "the kill interrupted the burst");

    // 3. The same database, a new process.
    let second = Server::start("tills-serve-2", &db, &dir.path, &http).await;
    let restarted_after = burst_started.elapsed();
    let api = Api { client: client(), base: second.base.clone(), token: token.clone() };
    let sent: BTreeSet<String> = attempts.iter().map(|a| a.client_ref.clone()).collect();
    assert_eq!(sent.len(), BURST);

    let before = audit(&api, &product, &sent).await;
    let committed_unanswered = attempts
        .iter()
        .filter(|a| !matches!(a.outcome, Outcome::Created(_)) && before.contains_key(&a.client_ref))
        .count();

    // Every 201 is there, whole, as it was answered.
    for a in &attempts {
        let Outcome::Created(answer) = &a.outcome else { continue };
        let id = answer["id"].as_str().expect("sale id");
        let sale = api.ok(&format!("GET answered sale {id}"), api.get(&format!("/api/v1/sales/{id}")).await, 200);
        for field in ["id", "invoiceNumber", "clientRef", "status", "lines", "payments", "total", "paid", "change"] {
            assert_eq!(sale[field], answer[field], "{field} of a sale answered 201 before the crash");
        }
        assert_eq!(sale["lines"].as_array().unwrap().len(), 1, "{sale}");
        assert_eq!(milli(&sale["lines"][0]["quantity"]), a.quantity * 1000, "{sale}");
        assert_eq!(sale["payments"].as_array().unwrap().len(), 2, "{sale}");
        assert_eq!(before.get(&a.client_ref).map(|s| &s["id"]), Some(&answer["id"]), "listed under its clientRef");
    }

    // Retries with the same clientRef and body: one sale each.
    let mut retried_created = 0;
    let mut retried_existing = 0;
    for a in &attempts {
        let (status, sale) = api.post("/api/v1/sales", &a.body).await;
        match (&a.outcome, before.get(&a.client_ref)) {
            (Outcome::Created(answer), _) => {
                assert_eq!(status, 200, "retry of an answered sale: {sale}");
                assert_eq!(sale["id"], answer["id"], "retry of an answered sale gives the same sale");
            }
            (_, Some(existing)) => {
                assert_eq!(status, 200, "retry of a sale committed before the crash but never answered: {sale}");
                assert_eq!(sale["id"], existing["id"], "the committed sale, not a second one");
                retried_existing += 1;
            }
            (_, None) => {
                assert_eq!(status, 201, "retry of a sale the crash lost: {sale}");
                retried_created += 1;
            }
        }
        assert_eq!(sale["clientRef"], a.client_ref.as_str(), "{sale}");
        // And the retry of the retry is the same sale.
        if status == 201 {
            let (again, same) = api.post("/api/v1/sales", &a.body).await;
            assert_eq!((again, &same["id"]), (200, &sale["id"]), "a second retry: {same}");
        }
    }

    let after = audit(&api, &product, &sent).await;
    assert_eq!(after.len(), sent.len(), "one sale per clientRef sent");
    assert_eq!(after.keys().cloned().collect::<BTreeSet<_>>(), sent);
    for (client_ref, sale) in &before {
        assert_eq!(after[client_ref]["id"], sale["id"], "a sale that existed after the crash is still the same");
    }
    let sold: i64 = attempts.iter().map(|a| a.quantity).sum();
    let stock = api.ok("GET product", api.get(&format!("/api/v1/products/{product}")).await, 200);
    assert_eq!(milli(&stock["stock"]), (INITIAL_STOCK - sold) * 1000, "every clientRef sold exactly once");

    eprintln!(
        "{backend:?}: bootstrap {bootstrapped:?}; killed {killed_after:?} into the burst with {answered_at_kill} \
         answers ({created} × 201, {} other statuses, {lost_in_flight} broken connections (in flight or pooled), {refused_connection} \
         connections refused); {} sales on disk after the \
         crash ({committed_unanswered} of them never answered); restart ready {:?} after the kill; retries: \
         {retried_created} × 201, {retried_existing} × 200 for committed-unanswered, {created} × 200 for \
         answered; {} sales INV-000001..INV-{:06}; total {:?}",
        refused.len(),
        before.len(),
        restarted_after - killed_after,
        after.len(),
        after.len(),
        started.elapsed(),
    );
    drop(second);
    drop(first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_burst_sqlite() {
    crash_mid_burst(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_burst_postgres() {
    crash_mid_burst(Backend::Postgres).await;
}

/// A server started on a PostgreSQL schema older than its build refuses to start and says what
/// to run, instead of answering 500 to every request that needs the missing part.
#[tokio::test]
async fn serve_refuses_a_schema_older_than_its_build() {
    use sqlx::Connection;
    let db = TestDb::postgres().await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let newest: i64 = sqlx::query_scalar(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations) RETURNING version",
    )
    .fetch_one(&mut conn)
    .await
    .expect("forget the newest migration");
    conn.close().await.ok();
    let dir = TempDir::new();
    let listen = format!("127.0.0.1:{}", free_port());
    let proc = Proc::spawn("old-schema", &db, &dir.path, &["serve", "--listen", &listen]);
    let log = proc.log.clone();
    assert!(!proc.finish().await, "the server must refuse to start");
    let text = std::fs::read_to_string(log).expect("read the log");
    assert!(text.contains(&newest.to_string()) && text.contains("tills migrate"), "{text}");
}
