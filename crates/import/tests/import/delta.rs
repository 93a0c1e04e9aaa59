//! Delta imports: a newer dump of the same stores brings across what changed in the legacy
//! system (and nothing else), keeps what changed in Tills (reporting the conflict), and a second
//! run over the same dump changes nothing.

use std::sync::{Arc, Mutex};

use tills_domain::{Email, StoreId};
use tills_import::generate::{SMALL, Spec, barcode, mixed_format};
use tills_import::report::{Action, Kind, Reason, Report};
use tills_import::{ImportLegacyArgs, ProductCacheHook, run};
use tills_storage::{CustomerFilter, CustomerInput, NewAudit, ProductRecord, Store, UserChanges};

use crate::{Ctx, args, both_backends, dump, sid};

async fn product(store: &Arc<dyn Store>, s: &str, code: &str) -> Option<ProductRecord> {
    store.find_by_barcode(&sid(s), code).await.unwrap().map(|m| m.product)
}

async fn customer_named(store: &Arc<dyn Store>, s: &str, phone: &str) -> Option<String> {
    let filter = CustomerFilter { phone: Some(phone.to_owned()), limit: 5, ..Default::default() };
    store.list_customers(&sid(s), &filter).await.unwrap().into_iter().next().map(|c| c.name)
}

fn entries<'r>(r: &'r Report, store: &str, kind: Kind, reason: Reason) -> Vec<&'r tills_import::report::Entry> {
    r.entries
        .iter()
        .filter(|e| e.store.as_deref() == Some(store) && e.kind == Some(kind) && e.reason == reason)
        .collect()
}

/// The stores whose cached products a run invalidated.
#[derive(Default)]
struct Invalidated(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl ProductCacheHook for Invalidated {
    async fn invalidate_store(&self, store: &StoreId) {
        self.0.lock().unwrap().push(store.to_string());
    }
}

async fn a_newer_dump_brings_the_changes_across(ctx: Ctx) {
    let s = &ctx.store;
    let v0 = dump(&Spec::twenty(SMALL), mixed_format);
    let v1 = dump(&Spec::twenty(SMALL).later(), mixed_format);
    let first = run(s.clone(), &args(&v0, "v0.json"), false, None).await.unwrap();
    assert_eq!(first.verified, Some(true));

    // Meanwhile in Tills, in store bravo: product 2 deleted, customer 1 renamed, the admin's
    // password changed. The legacy system changes all three too.
    let bravo = sid("bravo");
    let p2 = product(s, "bravo", &barcode(1, 2)).await.unwrap();
    s.delete_product(&bravo, p2.id).await.unwrap();
    let c1 = s
        .list_customers(&bravo, &CustomerFilter { phone: Some("+15550010001".into()), limit: 1, ..Default::default() })
        .await
        .unwrap()
        .remove(0);
    let renamed = CustomerInput {
        name: "Renamed in Tills".into(),
        name_key: "renamed in tills".into(),
        phone: c1.phone.clone(),
        email: c1.email.clone(),
        note: c1.note.clone(),
    };
    s.update_customer(&bravo, c1.id, &renamed).await.unwrap();
    let admin = s.find_user_by_email(&bravo, &Email::parse("admin@bravo.legacy").unwrap()).await.unwrap().unwrap();
    let tills_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".to_owned();
    s.update_user(
        &bravo,
        admin.id,
        UserChanges { password_hash: Some(tills_hash.clone()), ..Default::default() },
        Some(NewAudit::new("user.password")),
    )
    .await
    .unwrap();

    let cache = Invalidated::default();
    let out = run(s.clone(), &args(&v1, "v1.json"), false, Some(&cache)).await.unwrap();
    let report = &out.report;
    assert_eq!(out.verified, Some(true), "\n{}", tills_import::report::verify_table(report.verify.as_ref().unwrap()));
    assert!(
        report.updated > 0 && report.unchanged > 0 && report.kept > 0,
        "{} {} {}",
        report.updated,
        report.unchanged,
        report.kept
    );
    assert!(report.rows_inserted > 0, "the new sales and payments");
    assert_eq!(cache.0.lock().unwrap().len(), 20, "every store's catalog changed: its cached products are dropped");

    // What changed in the legacy system came across (store delta_4, the fourth store).
    let d = "delta_4";
    let exp = v1.store(d);
    assert_eq!(product(s, d, &barcode(3, 1)).await.unwrap().price, exp.products[1].price, "a new price");
    assert_eq!(exp.products[1].price, v0.store(d).products[1].price + 100);
    assert_eq!(product(s, d, &barcode(3, 2)).await.unwrap().name, "delta_4 item 2 (renamed)");
    let p4 = product(s, d, &format!("5{}", barcode(3, 4))).await.expect("product 4's new barcode");
    assert_eq!(p4.name, "delta_4 item 4");
    let pack = s.find_by_barcode(&sid(d), &format!("9{}", barcode(3, 4))).await.unwrap().unwrap();
    assert_eq!(pack.pack.unwrap().factor, 12, "its pack changed too");
    let p5 = product(s, d, &barcode(3, 4)).await.expect("the barcode product 4 gave up");
    assert_eq!((p5.name.as_str(), p5.active), ("delta_4 item 5", true), "product 5 takes it, and sells again");
    assert!(product(s, d, &barcode(3, 7)).await.is_none(), "deleted in the legacy system");
    assert_eq!(customer_named(s, d, "+15550030001").await.as_deref(), Some("Customer 1 (renamed)"));
    assert_eq!(customer_named(s, d, "+15550039002").await.as_deref(), Some("Customer 2"), "a new phone");
    assert!(customer_named(s, d, "+15550030002").await.is_none(), "the old phone is free");
    let keys = s.import_existing_keys(&sid(d)).await.unwrap();
    for (names, name) in
        [(&keys.brand_names, "acme corp"), (&keys.unit_names, "kilogram"), (&keys.category_names, "food & more")]
    {
        assert!(names.iter().any(|(k, _)| k == name), "{name}: {names:?}");
    }
    let user = |email: &str| {
        let email = Email::parse(email).unwrap();
        let s = s.clone();
        async move { s.find_user_by_email(&sid(d), &email).await.unwrap().unwrap() }
    };
    assert!(!user("admin@delta_4.legacy").await.active, "deactivated");
    assert_eq!(user("manager@delta_4.legacy").await.role.as_str(), "admin", "promoted");
    let cashier = user("cashier@delta_4.legacy").await;
    assert!(bcrypt::verify(&exp.cashier_password, &cashier.password_hash).unwrap(), "the new password");
    let sale0 = s.get_sale_by_invoice(&sid(d), "DEL-000001").await.unwrap().unwrap();
    assert_eq!(sale0.header.status, tills_domain::SaleStatus::Voided, "voided in the legacy system since");
    assert!(s.get_sale_by_invoice(&sid(d), "DEL-000014").await.unwrap().is_some(), "a new sale");
    assert_eq!(s.imported_totals(&sid(d)).await.unwrap().sales, exp.sales as i64);
    let summary = report.stores.iter().find(|x| x.store_id == d).unwrap();
    assert_eq!(summary.invoice_counter, Some(exp.max_invoice), "the counter follows the new sales");
    let products = summary.collections[&Kind::Products];
    assert_eq!(products.updated, 5, "products 1, 2, 4, 5 and 7: {products:?}");
    assert_eq!(products.unchanged, SMALL.products as u64 - 5);
    assert_eq!(entries(report, d, Kind::Products, Reason::ChangedInLegacy).len(), 5);

    // What changed in Tills stayed, each conflict reported with the document it concerns.
    assert!(product(s, "bravo", &barcode(1, 2)).await.is_none(), "still deleted");
    assert_eq!(customer_named(s, "bravo", "+15550010001").await.as_deref(), Some("Renamed in Tills"));
    let admin = s.find_user_by_email(&bravo, &Email::parse("admin@bravo.legacy").unwrap()).await.unwrap().unwrap();
    assert_eq!((admin.password_hash.as_str(), admin.active), (tills_hash.as_str(), true));
    for kind in [Kind::Products, Kind::Customers, Kind::Users] {
        let kept = entries(report, "bravo", kind, Reason::ChangedInTills);
        assert_eq!(kept.len(), 1, "{kind:?}: {kept:?}");
        assert_eq!(kept[0].action, Action::Kept);
        assert!(kept[0].legacy_id.is_some() && kept[0].collection.contains("bravo") || kind == Kind::Users);
    }
    // …while the rest of bravo came across.
    assert_eq!(product(s, "bravo", &barcode(1, 1)).await.unwrap().price, v1.store("bravo").products[1].price);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(v1.dir.join("v1.json")).unwrap()).unwrap();
    assert!(
        file["entries"].as_array().unwrap().iter().any(|e| e["reason"] == "changed_in_tills" && e["store"] == "bravo")
    );

    // The same dump again: nothing to write; the conflicts are reported again.
    let before = ctx.db.snapshot().await;
    let cache = Invalidated::default();
    let again = run(s.clone(), &args(&v1, "again.json"), false, Some(&cache)).await.unwrap();
    assert_eq!(again.verified, Some(true));
    assert_eq!((again.report.rows_inserted, again.report.rows_updated, again.report.updated), (0, 0, 0));
    assert_eq!(again.report.kept, report.kept);
    assert_eq!(ctx.db.snapshot().await, before, "a second run over the same dump changes nothing");
    assert!(cache.0.lock().unwrap().is_empty(), "nothing changed, no cache is dropped");
}
both_backends!(a_newer_dump_brings_the_changes_across);

/// A delta run stopped midway (as if killed), then run again, ends where one uninterrupted
/// delta run ends.
async fn a_stopped_delta_resumes(ctx: Ctx) {
    let v0 = dump(&Spec::twenty(SMALL), mixed_format);
    let v1 = dump(&Spec::twenty(SMALL).later(), mixed_format);
    let whole = Ctx::new(ctx.db.backend).await;
    for c in [&whole, &ctx] {
        run(c.store.clone(), &args(&v0, "v0.json"), false, None).await.unwrap();
    }
    run(whole.store.clone(), &args(&v1, "whole.json"), false, None).await.unwrap();
    let stopped = run(
        ctx.store.clone(),
        &ImportLegacyArgs { stop_after_batches: Some(40), ..args(&v1, "stopped.json") },
        false,
        None,
    )
    .await;
    assert!(stopped.is_err(), "the first run stops");
    assert_ne!(ctx.db.snapshot().await, whole.db.snapshot().await, "stopped midway");
    let resumed = run(ctx.store.clone(), &args(&v1, "resumed.json"), false, None).await.unwrap();
    assert_eq!(resumed.verified, Some(true));
    assert!(resumed.report.updated > 0, "what the stopped run did not write");
    assert_eq!(ctx.db.snapshot().await, whole.db.snapshot().await, "resumed = uninterrupted");
}
both_backends!(a_stopped_delta_resumes);
