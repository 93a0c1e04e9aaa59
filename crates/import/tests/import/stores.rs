//! A cutover, store by store: `--store` limits a run to some stores and leaves every other
//! store's data, cached products and invoice counter as they were; `--verify` says when Tills
//! does not hold what the dump does; bad input is a clear error.

use std::sync::Mutex;

use tills_domain::StoreId;
use tills_import::generate::{SMALL, Spec, mixed_format};
use tills_import::report::Reason;
use tills_import::{ImportLegacyArgs, ProductCacheHook, run};
use tills_testkit::TempDir;

use crate::{Ctx, args, both_backends, dump};

#[derive(Default)]
struct Invalidated(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl ProductCacheHook for Invalidated {
    async fn invalidate_store(&self, store: &StoreId) {
        self.0.lock().unwrap().push(store.to_string());
    }
}

async fn one_store_at_a_time(ctx: Ctx) {
    let v0 = dump(&Spec::twenty(SMALL), mixed_format);
    let v1 = dump(&Spec::twenty(SMALL).later(), mixed_format);
    // The whole fleet imported days before; then, at closing time, two stores move: one named by
    // its Tills id, one by its legacy prefix in another case.
    run(ctx.store.clone(), &args(&v0, "bulk.json"), false, None).await.unwrap();
    let ids: Vec<String> = v0.stores.iter().map(|s| s.store_id.clone()).collect();
    let mut before = Vec::new();
    for id in &ids {
        before.push(ctx.db.store_snapshot(id).await);
    }
    let cache = Invalidated::default();
    let moving = ImportLegacyArgs { stores: vec!["bravo".into(), "GOLF_7".into()], ..args(&v1, "cutover.json") };
    let out = run(ctx.store.clone(), &moving, false, Some(&cache)).await.unwrap();
    assert_eq!(out.verified, Some(true));
    assert_eq!(out.report.selected_stores, ["bravo", "golf_7"]);
    let stores: Vec<&str> = out.report.stores.iter().map(|s| s.store_id.as_str()).collect();
    assert_eq!(stores, ["bravo", "golf_7"], "the report is about those two");
    assert!(out.report.verify.as_ref().unwrap().iter().all(|r| r.store == "bravo" || r.store == "golf_7"));
    assert!(out.report.entries.iter().all(|e| matches!(e.store.as_deref(), Some("bravo" | "golf_7"))));
    assert_eq!(out.report.documents, (v1.store("bravo").documents_of() + v1.store("golf_7").documents_of()));
    assert_eq!(*cache.0.lock().unwrap(), ["bravo", "golf_7"], "only their cached products are dropped");
    for (id, then) in ids.iter().zip(&before) {
        let now = ctx.db.store_snapshot(id).await;
        if id == "bravo" || id == "golf_7" {
            assert_ne!(&now, then, "{id} moved");
        } else {
            assert_eq!(&now, then, "{id}: data and invoice counter untouched");
        }
    }
    // A store moved alone ends as it would in a run of every store.
    let all = Ctx::new(ctx.db.backend).await;
    run(all.store.clone(), &args(&v0, "bulk.json"), false, None).await.unwrap();
    run(all.store.clone(), &args(&v1, "all.json"), false, None).await.unwrap();
    for id in ["bravo", "golf_7"] {
        assert_eq!(ctx.db.store_snapshot(id).await, all.db.store_snapshot(id).await, "{id}");
    }

    // A --store that names no store of the dump: a clear error, nothing written.
    let whole = ctx.db.snapshot().await;
    let wrong = ImportLegacyArgs { stores: vec!["bravo".into(), "nowhere".into()], ..args(&v1, "wrong.json") };
    let err = run(ctx.store.clone(), &wrong, false, None).await.unwrap_err().to_string();
    assert!(err.contains("--store \"nowhere\"") && err.contains("alpha"), "{err}");
    assert_eq!(ctx.db.snapshot().await, whole);
}
both_backends!(one_store_at_a_time);

/// `--verify` (here with `--dry-run`, as after a cutover) compares, per store and collection,
/// counts and money with the dump, and fails on a difference the report does not explain.
async fn verify_finds_what_is_not_explained(ctx: Ctx) {
    let v0 = dump(&Spec::twenty(SMALL), mixed_format);
    run(ctx.store.clone(), &args(&v0, "bulk.json"), false, None).await.unwrap();
    let check = ImportLegacyArgs { dry_run: true, ..args(&v0, "check.json") };
    let out = run(ctx.store.clone(), &check, false, None).await.unwrap();
    assert_eq!(out.verified, Some(true));
    let rows = out.report.verify.as_ref().unwrap();
    for what in ["products", "customers", "sales", "sales total", "payments", "payments amount"] {
        assert!(rows.iter().any(|r| r.store == "kilo" && r.what == what), "{what}");
    }
    // Explained differences: skipped payments (orphans), their amounts, copied categories.
    let kilo = |what: &str| rows.iter().find(|r| r.store == "kilo" && r.what == what).unwrap().clone();
    assert_eq!(kilo("payments").explained, -1);
    assert_eq!(kilo("payments amount").explained, -500);
    assert!(
        out.report.entries.iter().any(|e| e.reason == Reason::OrphanReference && e.store.as_deref() == Some("kilo"))
    );

    // A sale's total changed behind Tills' back: that row differs, nothing explains it.
    ctx.db
        .execute_as_owner(
            "UPDATE sales SET total = total + 1 WHERE store_id = 'kilo' AND invoice_number = 'KIL-000002'",
        )
        .await;
    let out = run(ctx.store.clone(), &check, false, None).await.unwrap();
    assert_eq!(out.verified, Some(false));
    let different: Vec<String> = out
        .report
        .verify
        .as_ref()
        .unwrap()
        .iter()
        .filter(|r| !r.ok)
        .map(|r| format!("{} {}", r.store, r.what))
        .collect();
    assert_eq!(different, ["kilo sales total"]);
}
both_backends!(verify_finds_what_is_not_explained);

/// Bad input is a clear error (or, for a broken document, a reported one), never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_error() {
    let ctx = Ctx::new(tills_testkit::Backend::Sqlite).await;
    let dir = TempDir::new();
    let go = |a: ImportLegacyArgs| {
        let store = ctx.store.clone();
        async move { run(store, &a, false, None).await }
    };
    let missing = dir.path.join("no-such-dump");
    let err = go(ImportLegacyArgs::new(&missing)).await.unwrap_err().to_string();
    assert!(err.contains("not a folder"), "{err}");
    let empty = dir.path.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = go(ImportLegacyArgs::new(&empty)).await.unwrap_err().to_string();
    assert!(err.contains("no database folders"), "{err}");

    // A dump whose files are broken: garbage BSON, a cut JSON line, an unknown file.
    let db = dir.path.join("broken").join("pos1");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("Shop_products.bson"), b"\x10\x00\x00\x00garbage that is no bson at all").unwrap();
    std::fs::write(db.join("Shop_customers.json"), "{\"_id\": {\"$oid\": \"65f0a1b2c3d4e5f601234567\"}, \"name\": \"A\", \"phone\": \"+1 555 0100\"}\n{\"_id\": \n").unwrap();
    std::fs::write(db.join("notes.txt"), "hello").unwrap();
    let broken = ImportLegacyArgs {
        create_stores: true,
        report: Some(dir.path.join("broken.json")),
        ..ImportLegacyArgs::new(dir.path.join("broken"))
    };
    let out = go(broken.clone()).await.unwrap();
    let unreadable = out.report.entries.iter().filter(|e| e.reason == Reason::UnreadableDocument).count();
    assert!(unreadable >= 2, "{:?}", out.report.entries);
    assert_eq!(out.report.stores.len(), 1, "the readable customer is imported");

    // A store map that maps to no valid store id, and a bad currency.
    let map = dir.path.join("bad-map.csv");
    std::fs::write(&map, "prefix,storeId\nShop,Not A Valid Id!\n").unwrap();
    let err = go(ImportLegacyArgs { store_map: Some(map), ..broken.clone() }).await.unwrap_err().to_string();
    assert!(err.contains("bad-map.csv:2") && err.contains("storeId"), "{err}");
    let err = go(ImportLegacyArgs { currency: "EURO".into(), ..broken.clone() }).await.unwrap_err().to_string();
    assert!(err.contains("--currency"), "{err}");
    // --store of a store the dump does not hold.
    let err = go(ImportLegacyArgs { stores: vec!["nope".into()], ..broken }).await.unwrap_err().to_string();
    assert!(err.contains("--store \"nope\"") && err.contains("shop"), "{err}");
}
