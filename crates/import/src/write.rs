//! Writing a store's converted rows: phase by phase, in batches of one transaction each.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tills_domain::StoreId;
use tills_storage::{ImportBatch, ImportWritten, Store};

use crate::convert::Converted;
use crate::progress::Progress;
use crate::report::{StoreSummary, Timings};

/// Stops a run after K batches (testing), or pauses after each.
pub(crate) struct Brake {
    pub(crate) stop_after: Option<u64>,
    pub(crate) pause: Option<Duration>,
    pub(crate) batches: AtomicU64,
}

/// A store whose batches are being written.
pub(crate) struct Inflight {
    pub(crate) store: StoreId,
    pub(crate) summary: StoreSummary,
    pub(crate) max_seq: Option<i64>,
    /// Documents done once it is written.
    pub(crate) end: u64,
    pub(crate) task: tokio::task::JoinHandle<(Result<ImportWritten, WriteError>, f64)>,
}

/// Waits for a store's batches, then raises its invoice counter. Returns (its summary, whether
/// the run stopped) and the documents done.
pub(crate) async fn finish(
    f: Inflight,
    db: &Arc<dyn Store>,
    timings: &mut Timings,
    inserted: &mut ImportWritten,
    touched: &mut Vec<StoreId>,
) -> anyhow::Result<((StoreSummary, bool), u64)> {
    let Inflight { store, mut summary, max_seq, end, task } = f;
    let (result, seconds) = task.await.map_err(|e| anyhow::anyhow!("writing store {store}: {e}"))?;
    timings.write += seconds;
    match result {
        Ok(written) => {
            summary.inserted = written;
            inserted.add(&written);
            if let Some(n) = max_seq {
                summary.invoice_counter = Some(db.raise_invoice_counter(&store, n).await?);
            }
            touched.push(store);
            Ok(((summary, false), end))
        }
        Err(WriteError::Stopped(written)) => {
            summary.inserted = written;
            inserted.add(&written);
            Ok(((summary, true), end))
        }
        Err(WriteError::Failed(e)) => Err(e.context(format!("importing store {store}"))),
    }
}

pub(crate) enum WriteError {
    /// `--stop-after-batches` was reached (testing): what was written so far.
    Stopped(ImportWritten),
    Failed(anyhow::Error),
}

/// Writes a store's rows: phase by phase (a phase's rows only refer to earlier phases), the
/// batches of one phase `--jobs` at a time.
pub(crate) async fn write_store(
    db: &Arc<dyn Store>,
    store: &StoreId,
    c: Converted,
    (size, jobs): (usize, usize),
    (progress, cap): (&Progress, u64),
    brake: &Arc<Brake>,
) -> Result<ImportWritten, WriteError> {
    let size = size.max(1);
    fn split<T>(rows: Vec<T>, size: usize) -> Vec<Vec<T>> {
        let mut out = Vec::new();
        let mut it = rows.into_iter().peekable();
        while it.peek().is_some() {
            out.push(it.by_ref().take(size).collect());
        }
        out
    }
    // Categories refer to their parents (placed first): one batch at a time, in order.
    let phases: Vec<(Vec<ImportBatch>, usize)> = vec![
        (
            split(c.categories, size)
                .into_iter()
                .map(|categories| ImportBatch { categories, ..Default::default() })
                .collect(),
            1,
        ),
        (
            split(c.brands, size)
                .into_iter()
                .map(|brands| ImportBatch { brands, ..Default::default() })
                .chain(split(c.units, size).into_iter().map(|units| ImportBatch { units, ..Default::default() }))
                .collect(),
            jobs,
        ),
        (
            split(c.products, size)
                .into_iter()
                .map(|products| ImportBatch { products, ..Default::default() })
                .collect(),
            jobs,
        ),
        (
            split(c.customers, size)
                .into_iter()
                .map(|customers| ImportBatch { customers, ..Default::default() })
                .chain(split(c.users, size).into_iter().map(|users| ImportBatch { users, ..Default::default() }))
                .collect(),
            jobs,
        ),
        (split(c.sales, size).into_iter().map(|sales| ImportBatch { sales, ..Default::default() }).collect(), jobs),
        (
            split(c.payments, size)
                .into_iter()
                .map(|payments| ImportBatch { payments, ..Default::default() })
                .collect(),
            jobs,
        ),
    ];
    let mut written = ImportWritten::default();
    for (batches, jobs) in phases {
        let mut set = tokio::task::JoinSet::new();
        let mut queue = batches.into_iter();
        let mut failure: Option<WriteError> = None;
        loop {
            while failure.is_none() && set.len() < jobs.max(1) {
                let Some(batch) = queue.next() else { break };
                if brake.stop_after.is_some_and(|k| brake.batches.load(Ordering::SeqCst) >= k) {
                    failure = Some(WriteError::Stopped(written));
                    break;
                }
                brake.batches.fetch_add(1, Ordering::SeqCst);
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
                    written.add(&w);
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
    }
    Ok(written)
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
