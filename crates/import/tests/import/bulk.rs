//! The first (bulk) import: counts, a second run that changes nothing, resuming after a stop,
//! the dry run, every export format.

use std::time::Instant;

use tills_import::generate::{Fmt, MEDIUM, SMALL, Spec, mixed_format};
use tills_import::report::Reason;
use tills_import::{ImportLegacyArgs, run};
use tills_testkit::TestDb;

use crate::{Ctx, args, assert_counts, both_backends, dump};

/// The twenty stores import, every document accounted for and verified; a second run of the
/// same dump inserts nothing, rewrites nothing, and says so.
async fn imports_and_a_second_run_changes_nothing(ctx: Ctx) {
    let dump = dump(&Spec::twenty(SMALL), mixed_format);
    let out = run(ctx.store.clone(), &args(&dump, "first.json"), false, None).await.unwrap();
    assert_eq!(
        out.verified,
        Some(true),
        "\n{}",
        tills_import::report::verify_table(out.report.verify.as_ref().unwrap())
    );
    assert_eq!(out.report.documents, dump.documents(), "every document of the dump counted");
    assert_eq!(out.report.stores.len(), 20);
    assert_counts(&ctx.store, &dump).await;
    assert!(out.report.rows_inserted > 0);

    let before = ctx.db.snapshot().await;
    let again = run(ctx.store.clone(), &args(&dump, "second.json"), false, None).await.unwrap();
    assert_eq!(again.report.rows_inserted, 0, "nothing twice");
    assert_eq!(again.verified, Some(true));
    assert_eq!(ctx.db.snapshot().await, before, "a second run changes nothing");
}
both_backends!(imports_and_a_second_run_changes_nothing);

/// A run stopped after a few batches (as if killed), then started again, ends where one
/// uninterrupted run ends. (The server's suite kills the real `tills` process with SIGKILL.)
async fn a_stopped_import_resumes(ctx: Ctx) {
    let dump = dump(&Spec::twenty(MEDIUM), mixed_format);
    let whole = Ctx::new(ctx.db.backend).await;
    let started = Instant::now();
    let out = run(whole.store.clone(), &args(&dump, "whole.json"), false, None).await.unwrap();
    assert_eq!(out.verified, Some(true));
    eprintln!(
        "{:?}: {} documents in {:?} ({:.0} documents/s, debug build)",
        ctx.db.backend,
        out.report.documents,
        started.elapsed(),
        out.report.documents_per_second
    );
    assert_counts(&whole.store, &dump).await;
    let expected = whole.db.snapshot().await;

    let first =
        run(ctx.store.clone(), &ImportLegacyArgs { stop_after_batches: Some(7), ..args(&dump, "a.json") }, false, None)
            .await;
    assert!(first.is_err(), "the first run stops");
    let partial = ctx.db.snapshot().await;
    assert!(partial["products"].0 > 0 && partial["sales"].0 < expected["sales"].0, "stopped midway: {partial:?}");
    let second = run(ctx.store.clone(), &args(&dump, "b.json"), false, None).await.unwrap();
    assert_eq!(second.verified, Some(true));
    assert!(second.report.rows_inserted > 0);
    assert_eq!(ctx.db.snapshot().await, expected, "resumed = uninterrupted");
}
both_backends!(a_stopped_import_resumes);

/// `--dry-run` converts and reports, and writes nothing.
async fn a_dry_run_writes_nothing(ctx: Ctx) {
    let dump = dump(&Spec::twenty(SMALL), mixed_format);
    let before = ctx.db.snapshot().await;
    let out = run(ctx.store.clone(), &ImportLegacyArgs { dry_run: true, ..args(&dump, "dry.json") }, false, None)
        .await
        .unwrap();
    assert_eq!(ctx.db.snapshot().await, before, "nothing written");
    assert!(out.report.dry_run);
    assert_eq!(out.report.rows_inserted, 0);
    assert_eq!(out.report.stores.len(), 20, "what would be imported, store by store");
    let bravo = out.report.stores.iter().find(|s| s.store_id == "bravo").unwrap();
    assert_eq!(bravo.invoice_counter, Some(SMALL.sales as i64));
    assert_eq!(bravo.invoice_prefix.as_deref(), Some("BRA-"));
    assert!(out.report.entries.iter().any(|e| e.reason == Reason::DuplicateBarcode));
    assert!(dump.dir.join("dry.json").exists());
    // Verify against an empty target: every count differs, and the run says so.
    assert_eq!(out.verified, Some(false));

    // Without --create-stores the missing stores are reported, not created.
    let out = run(
        ctx.store.clone(),
        &ImportLegacyArgs { create_stores: false, verify: false, ..args(&dump, "missing.json") },
        false,
        None,
    )
    .await
    .unwrap();
    assert!(out.report.entries.iter().any(|e| e.reason == Reason::StoreMissing && e.count.is_some()));
    assert!(out.report.stores.is_empty());
    assert_eq!(ctx.db.snapshot().await, before);
}
both_backends!(a_dry_run_writes_nothing);

/// The same legacy data exported by mongodump (BSON, gzipped) and by mongoexport (relaxed and
/// canonical Extended JSON) imports to the same rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_format_gives_the_same_rows() {
    let mut snapshots = Vec::new();
    for fmt in [Fmt::Bson, Fmt::BsonGz, Fmt::Relaxed, Fmt::Canonical] {
        let dump = dump(&Spec::twenty(SMALL), |_, _| fmt);
        let db = TestDb::sqlite();
        let store = tills_storage::connect(&db.url, &tills_storage::PoolConfig::default()).await.unwrap();
        let out = run(store, &args(&dump, "r.json"), false, None).await.unwrap();
        assert_eq!(out.verified, Some(true), "{fmt:?}");
        snapshots.push((fmt, db.snapshot().await));
    }
    for (fmt, s) in &snapshots[1..] {
        assert_eq!(s, &snapshots[0].1, "{fmt:?} and BSON differ");
    }
}
