//! The legacy importer (crate `tills-import`) end to end over HTTP, on both backends: legacy
//! users log in with their old passwords (also in a store whose only user is a cashier), prices
//! scan in minor units, invoice numbers continue, one store never sees another's data, the
//! `tills` process killed with SIGKILL resumes, `--verify`'s exit code, the product cache.
//! The importer's own suite (counts, resuming, formats, deltas) is `crates/import/tests`.

use std::os::unix::process::ExitStatusExt;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::doc;
use serde_json::json;
use tills_domain::StoreId;
use tills_import::ImportLegacyArgs;
use tills_import::generate::{
    self, Dump, EPOCH, Fmt, Ids, MEDIUM, PREFIXES, SMALL, Spec, barcode, date, mixed_format, store_id_of,
    write_collection,
};
use tills_import::report::Reason;
use tills_server::import;
use tills_storage::{PoolConfig, Store};
use tills_testkit::{Backend, TempDir, TestDb};

use crate::helpers::TestApp;

/// A generated dump in a directory removed with it.
struct TestDump {
    dump: Dump,
    _dir: TempDir,
}

impl std::ops::Deref for TestDump {
    type Target = Dump;
    fn deref(&self) -> &Dump {
        &self.dump
    }
}

fn dump(spec: &Spec) -> TestDump {
    let dir = TempDir::new();
    let dump = generate::generate(&dir.path, spec, mixed_format).expect("generate a dump");
    TestDump { dump, _dir: dir }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn args(dump: &Dump, report: &str) -> ImportLegacyArgs {
    ImportLegacyArgs {
        store_map: Some(dump.store_map()),
        create_stores: true,
        verify: true,
        report: Some(dump.dir.join(report)),
        batch_size: 50,
        ..ImportLegacyArgs::new(dump.source())
    }
}

fn sid(s: &str) -> StoreId {
    StoreId::parse(s).unwrap()
}

/// What the database holds of the imported stores: every legacy document accounted for.
async fn assert_journal_starts_complete(store: &Arc<dyn Store>, dump: &Dump) {
    let keys = [crate::helpers::journal_key().public_key()];
    for s in dump.stores.iter().take(3) {
        let id = sid(&s.store_id);
        let range = tills_storage::JournalRange::default();
        let report = tills_server::services::journal::verify(&**store, &id, &range, &keys).await.unwrap();
        assert!(report.intact, "{}: {:?}", s.store_id, report.first_problem);
        assert_eq!(report.entries, s.sales as i64, "{}: one entry per imported sale", s.store_id);
        let entries = store.journal_entries(&id, &range, 0, 100_000).await.unwrap();
        assert!(entries.iter().all(|e| e.kind == "imported_sale" && e.content.contains("\"imported\":true")));
    }
}

async fn assert_counts(store: &Arc<dyn Store>, dump: &Dump) {
    for s in &dump.stores {
        let t = store.imported_totals(&sid(&s.store_id)).await.unwrap();
        assert_eq!(t.products, s.products.len() as i64, "{}: products, deleted ones included", s.store_id);
        assert_eq!(t.customers, s.customers as i64, "{}: customers, duplicates kept", s.store_id);
        assert_eq!(t.users, s.user_docs as i64, "{}: users", s.store_id);
        assert_eq!(t.sales, s.sales as i64, "{}: sales", s.store_id);
        assert_eq!(t.payments, s.payments as i64, "{}: payments but the orphan", s.store_id);
        assert_eq!(t.brands, 3, "{}: brands", s.store_id);
        assert_eq!(t.units, 3, "{}: units with a legacy id", s.store_id);
    }
}

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// The tests.

fn scan(code: String) -> String {
    format!("/api/v1/products/barcode/{code}")
}

async fn imports_every_trap(app: TestApp) {
    let platform = app.platform_token().await;
    // One store already lives in Tills, with a product holding a legacy barcode.
    let alpha_admin = app.create_store(&platform, "alpha").await;
    app.post("/api/v1/products", &alpha_admin, json!({"name": "Tills-made", "barcode": barcode(0, 0), "price": 100}))
        .await
        .expect(201);

    let dump = dump(&Spec::twenty(SMALL));
    let out = import::run(app.store.clone(), &args(&dump, "first.json"), None, false).await.unwrap();
    let verify = out.report.verify.as_ref().unwrap();
    assert_eq!(out.verified, Some(true), "\n{}", tills_import::report::verify_table(verify));
    assert_eq!(verify.len(), 20 * 10, "ten figures for each of the twenty stores");
    assert!(out.report.documents_per_second > 0.0);
    assert_eq!(out.report.documents, dump.documents(), "every document of the dump counted");
    assert_counts(&app.store, &dump).await;
    assert_journal_starts_complete(&app.store, &dump).await;

    // Every trap is in the report, with its reason; the report file is the same JSON.
    let reasons: Vec<Reason> = out.report.entries.iter().map(|e| e.reason).collect();
    for r in [
        Reason::DuplicateBarcode,
        Reason::DuplicatePhone,
        Reason::DuplicateEmail,
        Reason::DuplicateName,
        Reason::DuplicateInvoice,
        Reason::OrphanReference,
        Reason::MissingField,
        Reason::InvalidField,
        Reason::RoundedValue,
        Reason::DeletedProduct,
        Reason::SharedCategory,
        Reason::UnusedSharedCategory,
        Reason::UnknownStore,
        Reason::UnknownCollection,
        Reason::NoPassword,
    ] {
        assert!(reasons.contains(&r), "the report lists {r:?}");
    }
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(dump.dir.join("first.json")).unwrap()).unwrap();
    assert_eq!(file["entries"].as_array().unwrap().len(), out.report.entries.len());
    assert!(
        file["entries"].as_array().unwrap().iter().any(|e| e["reason"] == "duplicate_barcode"
            && e["store"] == "bravo"
            && e["detail"].as_str().unwrap().contains(&barcode(1, 4))),
        "the taken barcode is in the report"
    );
    let stores: Vec<&str> = out.report.stores.iter().map(|s| s.store_id.as_str()).collect();
    assert_eq!(stores.len(), 20);
    assert!(out.report.stores_without_admin.is_empty(), "every generated store has a legacy admin");
    assert!(out.report.stores.iter().filter(|s| s.created).count() == 19, "alpha existed already");

    // Legacy users log in with their old password, which is then rehashed to argon2id.
    let bravo = dump.store("bravo");
    let cashier = app.login(Some("bravo"), &bravo.users[2].0, &bravo.password).await;
    let user = app
        .store
        .find_user_by_email(&sid("bravo"), &tills_domain::Email::parse(&bravo.users[2].0).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"), "rehashed on the first login");
    app.login(Some("bravo"), &bravo.users[2].0, &bravo.password).await;
    // Bravo's users carry `storeId: "BRAVO"`; the later ADMIN@bravo.legacy is kept deleted and
    // the first admin logs in.
    let admin = app.login(Some("bravo"), "ADMIN@bravo.legacy", &bravo.password).await;
    let users = app.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(users["items"].as_array().unwrap().len(), 3, "{users}");

    let charlie = dump.store("charlie-shop");
    let charlie_cashier = app.login(Some("charlie-shop"), &charlie.users[2].0, &charlie.password).await;

    // Prices in minor units, as the legacy money said (double, Decimal128, string, rounded).
    let p1 = app.get(&scan(barcode(1, 1)), &cashier).await.expect(200);
    assert_eq!(p1["product"]["price"], 310, "Decimal128 3.10");
    assert_eq!(p1["product"]["storeId"], "bravo");
    assert_eq!(app.get(&scan(barcode(1, 2)), &cashier).await.expect(200)["product"]["price"], 499, "string 4.99");
    assert_eq!(app.get(&scan(barcode(1, 0)), &cashier).await.expect(200)["product"]["price"], 1250, "double 12.5");
    assert_eq!(app.get(&scan(barcode(1, 4)), &cashier).await.expect(200)["product"]["price"], 700, "int 7");
    let rounded = app.get(&scan(barcode(1, 3)), &cashier).await.expect(200);
    assert_eq!(rounded["product"]["price"], 235, "2.345 rounds half up to 2.35");
    assert_eq!(rounded["product"]["price"], bravo.products[3].price);
    assert_eq!(rounded["product"]["taxRate"], 750, "7.5 % is 750 basis points");
    assert!(rounded["product"]["name"].as_str().unwrap().starts_with("Product "), "a missing name: a placeholder");
    // Every product, by its legacy barcode: its price in minor units (the later duplicate's
    // barcode names the first product; a deleted product's names none).
    for (store, token) in [("bravo", &cashier), ("charlie-shop", &charlie_cashier)] {
        for (p, exp) in dump.store(store).products.iter().enumerate() {
            let Some(code) = &exp.legacy_barcode else { continue };
            let res = app.get(&scan(code.clone()), token).await;
            if exp.deleted {
                res.expect_error(404, "not_found");
            } else if p != 5 {
                let body = res.expect(200);
                assert_eq!(body["product"]["price"], exp.price, "{store} product {p}");
            }
        }
    }
    // A pack scans as its pack, with its factor.
    let pack = app.get(&scan(format!("9{}", barcode(1, 4))), &cashier).await.expect(200);
    assert_eq!(pack["unit"]["factor"], 6);
    assert_eq!(pack["product"]["price"], 700);
    // The later duplicate barcode went to the first product; the second is inactive, without it.
    let dup = app.get(&scan(barcode(1, 4)), &cashier).await.expect(200);
    assert_eq!(dup["product"]["name"], "bravo item 4");
    // The deleted product is gone, and its barcode with it.
    app.get(&scan(barcode(1, 11)), &cashier).await.expect_error(404, "not_found");
    // The JPY store rounds to whole yen.
    let yen = app.get(&scan(barcode(2, 0)), &charlie_cashier).await.expect(200);
    assert_eq!(yen["product"]["price"], 13, "12.5 → 13 yen");
    assert_eq!(app.get("/api/v1/store", &charlie_cashier).await.expect(200)["currency"], "JPY");
    assert_eq!(app.get("/api/v1/store", &charlie_cashier).await.expect(200)["timezone"], "Asia/Tokyo");
    // Alpha's own product kept its barcode; the legacy one lost it and is inactive.
    let alpha = dump.store("alpha");
    let alpha_cashier = app.login(Some("alpha"), &alpha.users[2].0, &alpha.password).await;
    assert_eq!(app.get(&scan(barcode(0, 0)), &alpha_cashier).await.expect(200)["product"]["name"], "Tills-made");
    let listed = app.get("/api/v1/products?status=inactive&limit=200", &alpha_cashier).await.expect(200);
    assert!(listed["items"].as_array().unwrap().iter().any(|p| p["name"] == "Alpha item 0"), "{listed}");

    // Invoice numbers are kept, and new sales continue after the highest.
    let old =
        app.get(&format!("/api/v1/sales/invoice/{}000004", bravo.legacy_invoice_prefix), &cashier).await.expect(200);
    assert_eq!(old["status"], "voided");
    app.get(&format!("/api/v1/sales/invoice/{}000005-2", bravo.legacy_invoice_prefix), &cashier).await.expect(200);
    let product_id = p1["product"]["id"].clone();
    let sale = |pid: serde_json::Value| json!({"lines": [{"productId": pid, "quantity": 1}], "payments": [{"method": "cash", "amount": 100_000}]});
    let next = app.post("/api/v1/sales", &cashier, sale(product_id.clone())).await.expect(201);
    assert_eq!(
        next["invoiceNumber"],
        format!("{}{:06}", bravo.legacy_invoice_prefix, bravo.max_invoice + 1),
        "a created store takes its legacy prefix, and its counter continues"
    );
    let alpha_product = app.get(&scan(barcode(0, 1)), &alpha_cashier).await.expect(200)["product"]["id"].clone();
    let next = app.post("/api/v1/sales", &alpha_cashier, sale(alpha_product)).await.expect(201);
    assert_eq!(
        next["invoiceNumber"],
        format!("INV-{:06}", alpha.max_invoice + 1),
        "an existing store keeps its prefix"
    );
    let charlie_product = yen["product"]["id"].clone();
    let next = app.post("/api/v1/sales", &charlie_cashier, sale(charlie_product.clone())).await.expect(201);
    assert_eq!(next["invoiceNumber"], format!("C-{:06}", charlie.max_invoice + 1), "the store map's prefix");

    // Store A's token never sees store B's imported data.
    app.get(&format!("/api/v1/products/{}", charlie_product.as_str().unwrap()), &cashier)
        .await
        .expect_error(404, "not_found");
    app.get(&scan(barcode(2, 1)), &cashier).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/sales/invoice/{}000001", charlie.legacy_invoice_prefix), &cashier)
        .await
        .expect_error(404, "not_found");
    let mine = app.get("/api/v1/products?limit=200", &cashier).await.expect(200);
    let items = mine["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|p| p["storeId"] == "bravo"), "only bravo's products");
    let customers = app.get("/api/v1/customers?limit=200", &cashier).await.expect(200);
    let phones: Vec<&str> =
        customers["items"].as_array().unwrap().iter().map(|c| c["phone"].as_str().unwrap()).collect();
    assert_eq!(phones.len(), bravo.customers - 2, "the duplicate and the phoneless are kept deleted");
    assert!(phones.iter().all(|p| p.starts_with("+1555001")), "only bravo's customers: {phones:?}");

    // A second run changes nothing.
    let before = app.db.snapshot().await;
    let again = import::run(app.store.clone(), &args(&dump, "second.json"), None, false).await.unwrap();
    assert_eq!(again.report.rows_inserted, 0, "nothing twice");
    assert_eq!(again.verified, Some(true));
    assert_eq!(app.db.snapshot().await, before);
}
crate::all_backends!(imports_every_trap);

/// A run of the real `tills` process killed with SIGKILL once its progress shows, then started
/// again, ends where one uninterrupted run ends.
async fn interrupted_imports_resume(backend: Backend) {
    let dump = dump(&Spec::twenty(MEDIUM));
    let connect = |db: &TestDb| {
        let url = db.url.clone();
        async move { tills_storage::connect(&url, &PoolConfig::default()).await.unwrap() }
    };

    let whole = TestDb::new(backend).await;
    let store = connect(&whole).await;
    let started = Instant::now();
    let out = import::run(store.clone(), &args(&dump, "whole.json"), None, false).await.unwrap();
    assert_eq!(out.verified, Some(true));
    eprintln!(
        "{backend:?}: {} documents in {:?} ({:.0} documents/s, debug build)",
        out.report.documents,
        started.elapsed(),
        out.report.documents_per_second
    );
    assert_eq!(out.report.documents, dump.documents(), "the generator's count");
    assert_counts(&store, &dump).await;
    assert_journal_starts_complete(&store, &dump).await;
    let expected = whole.snapshot().await;

    // The real process, killed with SIGKILL once its progress shows.
    let killed = TestDb::new(backend).await;
    // Opened (and on SQLite migrated) before the process starts, so the two never race.
    let store = connect(&killed).await;
    let report = dump.dir.join("killed.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tills"))
        .args([
            "import-legacy",
            "--create-stores",
            "--batch-size",
            "100",
            "--jobs",
            "1",
            "--pause-after-batch-ms",
            "40",
        ])
        .arg("--source")
        .arg(dump.source())
        .arg("--store-map")
        .arg(dump.store_map())
        .arg("--report")
        .arg(&report)
        .current_dir(&dump.dir)
        .env("DATABASE_URL", &killed.url)
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tills import-legacy");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    let progress = loop {
        let line = tokio::time::timeout_at(deadline, rx.recv()).await.expect("progress shows in time");
        let Some(line) = line else { panic!("the process ended before it was killed: {seen:?}") };
        if line.starts_with("progress:") {
            break line;
        }
        seen.push(line);
    };
    // Some batches are in the database: kill it now.
    loop {
        let t = store.imported_totals(&sid("alpha")).await.unwrap();
        if t.products > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "batches reach the database");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL ({status:?}) after {progress:?}");
    let partial = killed.snapshot().await;
    assert!(partial["payments"].0 < expected["payments"].0, "killed midway: {partial:?}");
    let resumed = import::run(store.clone(), &args(&dump, "resumed.json"), None, false).await.unwrap();
    assert_eq!(resumed.verified, Some(true));
    assert!(resumed.report.rows_inserted > 0);
    assert_eq!(killed.snapshot().await, expected, "killed and resumed = uninterrupted");

    // `--verify` on its own (with --dry-run): exit 0 while the target matches the dump, non-zero
    // once a row the report does not explain is missing.
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tills"))
            .args(["import-legacy", "--dry-run", "--verify"])
            .arg("--source")
            .arg(dump.source())
            .arg("--store-map")
            .arg(dump.store_map())
            .arg("--report")
            .arg(dump.dir.join("verify.json"))
            .current_dir(&dump.dir)
            .env("DATABASE_URL", &killed.url)
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .stdin(Stdio::null())
            .output()
            .expect("run tills import-legacy --verify")
    };
    let ok = verify();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let delete = "DELETE FROM payments WHERE store_id = 'bravo' AND legacy_id = (SELECT MIN(legacy_id) FROM payments \
                  WHERE store_id = 'bravo')";
    killed.execute_as_owner(delete).await;
    let different = verify();
    assert!(!different.status.success(), "a missing payment fails --verify");
    let table = String::from_utf8_lossy(&different.stdout);
    assert!(
        table.lines().any(|l| l.starts_with("bravo") && l.contains("payments") && l.ends_with("DIFFERENT")),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_imports_resume_sqlite() {
    interrupted_imports_resume(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_imports_resume_postgres() {
    interrupted_imports_resume(Backend::Postgres).await;
}

/// An import invalidates the cached products of the stores whose catalog it changed, on every
/// instance: a barcode a terminal looked up before (and the cache remembered as unknown)
/// resolves right after it, and a price changed by a delta import shows at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_invalidates_cached_products() {
    let redis = std::env::var("TILLS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let db = TestDb::sqlite();
    let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.unwrap();
    let cache = tills_server::cache::CacheConfig {
        redis: Some(tills_server::cache::RedisConfig::new(&redis)),
        ..Default::default()
    };
    let app = TestApp::spawn_configured(db, store, cache).await;
    // Redis keeps its keys between runs, and other tests share it: store ids no one else uses.
    let suffix = tills_domain::new_id().simple().to_string()[20..].to_owned();
    let id = format!("bravo-{suffix}");
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, &id).await;
    let dump = dump(&Spec::twenty(SMALL));
    let map = dump.dir.join("cache-map.csv");
    let lines: String = PREFIXES.iter().flatten().map(|p| format!("{p},{}-{suffix}\n", store_id_of(p))).collect();
    std::fs::write(&map, format!("prefix,storeId\n{lines}")).unwrap();
    let code = barcode(1, 0);
    app.get(&scan(code.clone()), &admin).await.expect_error(404, "not_found");

    // Imported without Redis: the cache still remembers the barcode as unknown.
    let plain = ImportLegacyArgs { store_map: Some(map.clone()), ..args(&dump, "plain.json") };
    let out = import::run(app.store.clone(), &plain, None, false).await.unwrap();
    assert_eq!(out.verified, Some(true));
    assert!(out.report.stores.iter().all(|s| !s.cache_invalidated));
    app.get(&scan(code.clone()), &admin).await.expect_error(404, "not_found");

    let before = app.get(&scan(barcode(1, 1)), &admin).await.expect(200)["product"]["price"].as_i64().unwrap();

    // A newer dump, with Redis: the stores whose catalog changed have their cached products
    // dropped on every instance. The barcode resolves, the new price shows at once.
    let later = self::dump(&Spec::twenty(SMALL).later());
    let delta = ImportLegacyArgs { store_map: Some(map.clone()), ..args(&later, "delta.json") };
    let out = import::run(app.store.clone(), &delta, Some(&redis), false).await.unwrap();
    assert_eq!(out.verified, Some(true));
    assert!(out.report.stores.iter().find(|s| s.store_id == id).unwrap().cache_invalidated);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let res = app.get(&scan(code.clone()), &admin).await;
        let price = app.get(&scan(barcode(1, 1)), &admin).await.body["product"]["price"].as_i64();
        if res.status == 200 && price == Some(before + 100) {
            assert_eq!(res.body["product"]["name"], "bravo item 0");
            break;
        }
        assert!(Instant::now() < deadline, "the scans still answer {} and {price:?} after the import", res.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The same dump again writes nothing and drops no cache.
    let out = import::run(app.store.clone(), &delta, Some(&redis), false).await.unwrap();
    assert_eq!((out.report.rows_inserted, out.report.rows_updated), (0, 0));
    assert!(out.report.stores.iter().all(|s| !s.cache_invalidated));
}

/// A legacy store whose only user is a cashier (the legacy system kept its owners elsewhere):
/// the cashier logs in with the legacy password (bcrypt, accepted and rehashed to argon2id at
/// that login) and sells at once; the store has no admin, and the last-admin rule does not stand
/// in the way of a change that removes none.
async fn a_store_of_cashiers_sells(app: TestApp) {
    let dir = TempDir::new();
    let db_dir = dir.path.join("dump").join("pos1");
    let mut ids = Ids::new();
    let product = ids.next(EPOCH);
    write_collection(
        &db_dir,
        "Solo_products",
        &[doc! {"_id": product, "name": "Bread", "barcode": "4000000000017", "price": 2.5, "taxRate": 7,
        "stock": 10, "status": "active", "createdAt": date(EPOCH)}],
        Fmt::Bson,
    )
    .unwrap();
    let password = "legacy cashier secret";
    let hash = bcrypt::hash_with_salt(password, 4, [3; 16]).unwrap().format_for_version(bcrypt::Version::TwoA);
    write_collection(
        &db_dir,
        "users",
        &[doc! {"_id": ids.next(EPOCH), "storeId": "Solo", "email": "till@solo.legacy", "name": "Till",
        "role": "cashier", "password": hash, "active": true, "createdAt": date(EPOCH)}],
        Fmt::Relaxed,
    )
    .unwrap();
    let started = Instant::now();
    let args = ImportLegacyArgs {
        create_stores: true,
        verify: true,
        report: Some(dir.path.join("solo.json")),
        ..ImportLegacyArgs::new(dir.path.join("dump"))
    };
    let out = import::run(app.store.clone(), &args, None, false).await.unwrap();
    assert_eq!(out.verified, Some(true));
    assert_eq!(out.report.stores_without_admin, ["solo"], "the report lists the store without an admin");
    assert_eq!(out.report.stores[0].active_admins, Some(0));

    let cashier = app.login(Some("solo"), "till@solo.legacy", password).await;
    let user = app
        .store
        .find_user_by_email(&sid("solo"), &tills_domain::Email::parse("till@solo.legacy").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"), "rehashed at the first login");
    let bread = app.get(&scan("4000000000017".into()), &cashier).await.expect(200);
    assert_eq!(bread["product"]["price"], 250);
    let sale = json!({"lines": [{"productId": bread["product"]["id"], "quantity": 2}],
                      "payments": [{"method": "cash", "amount": 1000}]});
    let sold = app.post("/api/v1/sales", &cashier, sale).await.expect(201);
    assert_eq!(sold["total"], 535, "2 × 2.50 and 7 % tax on top (created stores price without tax)");
    assert!(started.elapsed() < Duration::from_secs(60), "sells within a minute of the import");
    // The rehashed password works again; so does changing it.
    let cashier = app.login(Some("solo"), "till@solo.legacy", password).await;
    app.post(
        "/api/v1/auth/password",
        &cashier,
        json!({"currentPassword": password, "newPassword": "a new cashier secret"}),
    )
    .await
    .expect(204);
    app.login(Some("solo"), "till@solo.legacy", "a new cashier secret").await;

    // The platform admin gives the store an admin: a new user, or an existing one promoted.
    let platform = app.platform_token().await;
    let url = "/api/v1/admin/stores/solo/admins";
    app.post(url, &platform, json!({"email": "owner@solo.example"})).await.expect_error(400, "invalid_input");
    let res = app.post(url, &platform, json!({"email": "not an email", "password": "owner secret 1"})).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "email");
    let res = app.post(url, &platform, json!({"email": "owner@solo.example", "password": "short"})).await;
    assert_eq!(res.field(), "password");
    app.post(url, &cashier, json!({"email": "owner@solo.example", "password": "owner secret 1"}))
        .await
        .expect_error(403, "forbidden");
    app.post(
        "/api/v1/admin/stores/nowhere/admins",
        &platform,
        json!({"email": "a@b.example", "password": "owner secret 1"}),
    )
    .await
    .expect_error(404, "not_found");
    let owner = app
        .post(url, &platform, json!({"email": "Owner@Solo.example", "name": "Olga", "password": "owner secret 1"}))
        .await
        .expect(201);
    assert_eq!(
        (owner["role"].as_str(), owner["name"].as_str(), owner["active"].as_bool()),
        (Some("admin"), Some("Olga"), Some(true))
    );
    let admin = app.login(Some("solo"), "owner@solo.example", "owner secret 1").await;
    let users = app.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(users["items"].as_array().unwrap().len(), 2, "{users}");
    let audit = app.get("/api/v1/audit?action=store.admin", &admin).await.expect(200);
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    // The legacy cashier promoted (keeping its password), with `tills admin create-store-admin`.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tills"))
        .args(["admin", "create-store-admin", "--store", "solo", "--email", "till@solo.legacy"])
        .env("DATABASE_URL", &app.db.url)
        .env("RUST_LOG", "warn")
        .env_remove("TILLS_ADMIN_PASSWORD")
        .output()
        .expect("run tills admin create-store-admin");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("now an active admin"), "{out:?}");
    let till = app.login(Some("solo"), "till@solo.legacy", "a new cashier secret").await;
    // Another process changed the role: the server may remember the old one for up to 4 s.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let me = app.get("/api/v1/auth/me", &till).await;
        if me.status == 200 {
            assert_eq!(me.body["role"], "admin");
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", me.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Unknown stores and new users without a password are refused with a clear message.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tills"))
        .args(["admin", "create-store-admin", "--store", "solo", "--email", "new@solo.example"])
        .env("DATABASE_URL", &app.db.url)
        .env_remove("TILLS_ADMIN_PASSWORD")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password"), "{out:?}");
}
crate::all_backends!(a_store_of_cashiers_sells);
