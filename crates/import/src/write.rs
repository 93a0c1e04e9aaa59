//! Writing a store's rows: phase by phase (a phase's rows only refer to earlier phases), each
//! phase's replacements first, then its inserts, in batches of one transaction each.
//!
//! A batch of replacements that the database refuses (a key another row still holds, a record
//! it refers to not there yet) is written again record by record; a record still refused is
//! tried once more after the phase's inserts, and otherwise reported (`not_written`): nothing
//! of it was written, so the next run tries again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tills_domain::{Id, StoreId};
use tills_storage::{BatchMode, ImportBatch, ImportWritten, StorageError, Store};

use crate::convert::Converted;
use crate::progress::Progress;
use crate::report::Kind;

/// Stops a run after K batches (testing), or pauses after each.
pub(crate) struct Brake {
    pub(crate) stop_after: Option<u64>,
    pub(crate) pause: Option<Duration>,
    pub(crate) batches: AtomicU64,
}

/// What writing a store did.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub rows: ImportWritten,
    /// Replacements the database refused: (kind, legacy id, why).
    pub refused: Vec<(Kind, String, String)>,
    /// Whether a category, brand, unit or product (its barcodes, its packs) was written: the
    /// store's cached products are then out of date.
    pub catalog: bool,
}

pub(crate) enum WriteError {
    /// `--stop-after-batches` was reached (testing): what was written so far.
    Stopped(Written),
    Failed(anyhow::Error),
}

fn chunks<T>(rows: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut it = rows.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(size.max(1)).collect());
    }
    out
}

/// One batch per `size` records of each table, in the batch's mode.
fn batches(b: ImportBatch, size: usize) -> Vec<ImportBatch> {
    let mode = b.mode;
    let mut out: Vec<ImportBatch> = Vec::new();
    macro_rules! each {
        ($($field:ident),*) => {$(
            out.extend(chunks(b.$field, size).into_iter().map(|$field| ImportBatch { mode, $field, ..Default::default() }));
        )*};
    }
    each!(categories, brands, units, products, customers, users, sales, payments);
    out
}

/// The record a one-record batch holds: its kind, row id and legacy id.
fn record_of(b: &ImportBatch) -> Option<(Kind, Id, String)> {
    let named = |kind: Kind, v: &[tills_storage::ImportNamed]| {
        v.first().map(|r| (kind, r.id, r.legacy_id.clone().unwrap_or_default()))
    };
    named(Kind::Categories, &b.categories)
        .or_else(|| named(Kind::Brands, &b.brands))
        .or_else(|| named(Kind::Units, &b.units))
        .or_else(|| b.products.first().map(|r| (Kind::Products, r.id, r.legacy_id.clone().unwrap_or_default())))
        .or_else(|| b.customers.first().map(|r| (Kind::Customers, r.id, r.legacy_id.clone().unwrap_or_default())))
        .or_else(|| b.users.first().map(|r| (Kind::Users, r.id, r.legacy_id.clone().unwrap_or_default())))
        .or_else(|| b.sales.first().map(|r| (Kind::Sales, r.id, r.legacy_id.clone().unwrap_or_default())))
}

/// What the database refuses of a record (rather than failing): a unique key or a reference.
fn refused(e: &StorageError) -> bool {
    matches!(e, StorageError::Unique(_) | StorageError::InvalidReference | StorageError::Conflict(_))
}

/// A phase: replacements, then inserts (`jobs` batches at a time).
struct Phase {
    replace: ImportBatch,
    insert: Vec<ImportBatch>,
    jobs: usize,
    catalog: bool,
}

/// Writes a store's rows (`replace`: those an earlier run wrote that changed since).
pub(crate) async fn write_store(
    db: &Arc<dyn Store>,
    store: &StoreId,
    c: Converted,
    replace: ImportBatch,
    (size, jobs): (usize, usize),
    (progress, cap): (&Progress, u64),
    brake: &Arc<Brake>,
) -> Result<Written, WriteError> {
    let insert = |b: ImportBatch| batches(b, size);
    let r = replace;
    // Categories refer to their parents (placed first): one batch at a time, in order.
    let phases = vec![
        Phase {
            replace: ImportBatch { mode: BatchMode::Replace, categories: r.categories, ..Default::default() },
            insert: insert(ImportBatch { categories: c.categories, ..Default::default() }),
            jobs: 1,
            catalog: true,
        },
        Phase {
            replace: ImportBatch { mode: BatchMode::Replace, brands: r.brands, units: r.units, ..Default::default() },
            insert: insert(ImportBatch { brands: c.brands, units: c.units, ..Default::default() }),
            jobs,
            catalog: true,
        },
        Phase {
            replace: ImportBatch { mode: BatchMode::Replace, products: r.products, ..Default::default() },
            insert: insert(ImportBatch { products: c.products, ..Default::default() }),
            jobs,
            catalog: true,
        },
        Phase {
            replace: ImportBatch {
                mode: BatchMode::Replace,
                customers: r.customers,
                users: r.users,
                ..Default::default()
            },
            insert: insert(ImportBatch { customers: c.customers, users: c.users, ..Default::default() }),
            jobs,
            catalog: false,
        },
        Phase {
            replace: ImportBatch { mode: BatchMode::Replace, sales: r.sales, ..Default::default() },
            insert: insert(ImportBatch { sales: c.sales, ..Default::default() }),
            jobs,
            catalog: false,
        },
        Phase {
            replace: ImportBatch::default(),
            insert: insert(ImportBatch { payments: c.payments, ..Default::default() }),
            jobs,
            catalog: false,
        },
    ];
    let mut written = Written::default();
    for phase in phases {
        let catalog = phase.catalog;
        let wrote = |w: &ImportWritten, written: &mut Written| {
            written.rows.add(w);
            written.catalog |= catalog && (w.total() > 0 || w.updated > 0);
        };
        // Replacements: all at once, or record by record when the database refuses the batch.
        let mut deferred = Vec::new();
        for b in batches(phase.replace, size) {
            if stop(brake) {
                return Err(WriteError::Stopped(written));
            }
            let docs = b.len() as u64;
            match db.import_batch(store, &b).await {
                Ok(w) => wrote(&w, &mut written),
                Err(e) if refused(&e) => {
                    for one in batches(b, 1) {
                        match db.import_batch(store, &one).await {
                            Ok(w) => wrote(&w, &mut written),
                            Err(e) if refused(&e) => deferred.push(one),
                            Err(e) => return Err(WriteError::Failed(anyhow::Error::new(e).context("writing a batch"))),
                        }
                    }
                }
                Err(e) => return Err(WriteError::Failed(anyhow::Error::new(e).context("writing a batch"))),
            }
            progress.inc(docs, cap);
        }
        // Inserts, `jobs` batches at a time.
        let mut set = tokio::task::JoinSet::new();
        let mut queue = phase.insert.into_iter();
        let mut failure: Option<WriteError> = None;
        loop {
            while failure.is_none() && set.len() < phase.jobs.max(1) {
                let Some(batch) = queue.next() else { break };
                if stop(brake) {
                    failure = Some(WriteError::Stopped(Written::default()));
                    break;
                }
                let db = db.clone();
                let store = store.clone();
                let brake = brake.clone();
                set.spawn(async move {
                    let docs = legacy_documents(&batch);
                    let r = db.import_batch(&store, &batch).await;
                    if let Some(p) = brake.pause {
                        tokio::time::sleep(p).await;
                    }
                    r.map(|w| (w, docs))
                });
            }
            let Some(joined) = set.join_next().await else { break };
            match joined {
                Ok(Ok((w, docs))) => {
                    wrote(&w, &mut written);
                    progress.inc(docs, cap);
                }
                Ok(Err(e)) => {
                    failure.get_or_insert(WriteError::Failed(anyhow::Error::new(e).context("writing a batch")));
                }
                Err(e) => {
                    failure.get_or_insert(WriteError::Failed(anyhow::anyhow!("a batch task failed: {e}")));
                }
            }
        }
        if let Some(f) = failure {
            return Err(match f {
                WriteError::Stopped(_) => WriteError::Stopped(written),
                other => other,
            });
        }
        // Replacements refused before the inserts: once more (a parent category inserted since,
        // a key an inserted row's predecessor released).
        for one in deferred {
            match db.import_batch(store, &one).await {
                Ok(w) => wrote(&w, &mut written),
                Err(e) if refused(&e) => {
                    if let Some((kind, _, legacy_id)) = record_of(&one) {
                        written.refused.push((kind, legacy_id, e.to_string()));
                    }
                }
                Err(e) => return Err(WriteError::Failed(anyhow::Error::new(e).context("writing a batch"))),
            }
        }
    }
    Ok(written)
}

/// Counts a batch against `--stop-after-batches`; true when the run is to stop.
fn stop(brake: &Brake) -> bool {
    if brake.stop_after.is_some_and(|k| brake.batches.load(Ordering::SeqCst) >= k) {
        return true;
    }
    brake.batches.fetch_add(1, Ordering::SeqCst);
    false
}

/// The legacy documents a batch carries (rows the importer created, such as a pack's unit, do
/// not count).
fn legacy_documents(b: &ImportBatch) -> u64 {
    let named = |v: &[tills_storage::ImportNamed]| v.iter().filter(|r| r.legacy_id.is_some()).count();
    (named(&b.categories)
        + named(&b.brands)
        + named(&b.units)
        + b.products.len()
        + b.customers.len()
        + b.users.len()
        + b.sales.len()
        + b.payments.len()) as u64
}
