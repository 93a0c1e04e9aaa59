//! A run over a store an earlier run imported (a delta import): which converted rows are new
//! (inserted), which changed in the legacy system since (written over), which did not (left
//! alone), and which Tills changed in the meantime (Tills' version stays, the conflict is
//! reported, per document).
//!
//! It compares fingerprints (`tills_storage::Fingerprint`): the one `import_rows` keeps of each
//! row as last written, the one of the row this run made of the legacy document, and — for the
//! rows Tills touched since — the one of what the row holds now ([`ImportState`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use tills_domain::{Id, StoreId};
use tills_storage::{BatchMode, Fingerprint, ImportBatch, ImportKind, ImportState, TillsChange, TrackedRow};

use crate::convert::Converted;
use crate::report::{Action, Entry, Kind, Reason};

/// Where each legacy document of the store came from (database, collection), by kind and id.
pub(crate) type Origins = HashMap<(Kind, String), (Arc<str>, Arc<str>)>;

/// What became of a store's rows an earlier run wrote, per kind.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub unchanged: u64,
    pub updated: u64,
    pub kept: u64,
}

/// The classification of a store's converted rows.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    /// Rows an earlier run wrote whose legacy document changed (and Tills' row did not).
    pub replace: ImportBatch,
    pub counts: BTreeMap<Kind, Counts>,
    /// One per document written over (`updated`) or left as Tills has it (`kept`).
    pub entries: Vec<Entry>,
    /// Documents settled without a write (unchanged, kept): done for the progress bar.
    pub settled: u64,
}

struct Classifier<'a> {
    store: &'a StoreId,
    tracked: HashMap<(ImportKind, Id), &'a TrackedRow>,
    changed: &'a HashMap<Id, TillsChange>,
    origins: &'a Origins,
    seen: HashSet<(ImportKind, Id)>,
    delta: Delta,
}

/// What a record is, for its classification.
struct Record<'r> {
    id: Id,
    legacy_id: Option<&'r str>,
    fingerprint: Fingerprint,
    /// A sale's total, a payment's amount.
    amount: Option<i64>,
}

enum Route {
    Insert,
    Replace,
    Drop,
}

impl Classifier<'_> {
    fn entry(
        &mut self,
        kind: Kind,
        legacy_id: &str,
        action: Action,
        reason: Reason,
        detail: String,
        delta: Option<i64>,
    ) {
        let (database, collection) = self
            .origins
            .get(&(kind, legacy_id.to_owned()))
            .map(|(d, c)| (d.to_string(), c.to_string()))
            .unwrap_or_else(|| (String::new(), kind.as_str().to_owned()));
        self.delta.entries.push(Entry {
            store: Some(self.store.to_string()),
            database,
            collection,
            kind: Some(kind),
            legacy_id: Some(legacy_id.to_owned()),
            action,
            reason,
            detail,
            count: None,
            amount_delta: delta,
        });
    }

    fn count(&mut self, kind: Kind) -> &mut Counts {
        self.delta.counts.entry(kind).or_default()
    }

    fn kept(&mut self, kind: Kind, legacy_id: &str, reason: Reason, detail: String, delta: Option<i64>) -> Route {
        self.count(kind).kept += 1;
        self.delta.settled += 1;
        self.entry(kind, legacy_id, Action::Kept, reason, detail, delta);
        Route::Drop
    }

    fn route(&mut self, kind: Kind, r: Record<'_>) -> Route {
        let Some(legacy_id) = r.legacy_id else { return Route::Insert };
        let table = kind.table();
        self.seen.insert((table, r.id));
        let Some(t) = self.tracked.get(&(table, r.id)).copied() else { return Route::Insert };
        let tills = self.changed.get(&r.id).copied();
        if tills == Some(TillsChange::Deleted) {
            if matches!(kind, Kind::Categories | Kind::Brands | Kind::Units) {
                // Deleted in Tills (as its API deletes these): it stays gone.
                return self.kept(
                    kind,
                    legacy_id,
                    Reason::DeletedInTills,
                    "deleted in Tills since it was imported; not imported again".into(),
                    None,
                );
            }
            // Tills never deletes the others (it marks them deleted): a row lost (a restore, a
            // hand-made DELETE) is imported again. `--verify --dry-run` shows it missing.
            return Route::Insert;
        }
        if r.fingerprint == t.fingerprint {
            self.count(kind).unchanged += 1;
            self.delta.settled += 1;
            return Route::Drop;
        }
        let amount_change = |what: &str| match (t.amount, r.amount) {
            (Some(old), Some(new)) if old != new => {
                format!("; Tills keeps {what} {old}, the legacy document says {new}")
            }
            _ => String::new(),
        };
        // A sale is written once: of a changed legacy sale only a new status comes across.
        if kind == Kind::Payments || (kind == Kind::Sales && r.fingerprint.source != t.fingerprint.source) {
            let what = if kind == Kind::Sales { "its total" } else { "the amount" };
            let detail = format!(
                "changed in the legacy system since it was imported; Tills does not rewrite {}{}",
                if kind == Kind::Sales { "a sale's lines or amounts" } else { "a payment" },
                amount_change(what)
            );
            let delta = match (t.amount, r.amount) {
                (Some(old), Some(new)) => Some(old - new),
                _ => None,
            };
            return self.kept(kind, legacy_id, Reason::NotRewritten, detail, delta);
        }
        if let Some(TillsChange::Changed { row }) = tills {
            if row == r.fingerprint.row && kind == Kind::Sales {
                // Voided in both: nothing to bring across.
                self.count(kind).unchanged += 1;
                self.delta.settled += 1;
                return Route::Drop;
            }
            if row != r.fingerprint.row {
                return self.kept(
                    kind,
                    legacy_id,
                    Reason::ChangedInTills,
                    "changed in Tills since it was imported, and in the legacy system too: Tills' version stays".into(),
                    None,
                );
            }
            // Both sides made the same change: the legacy row (its stock, its times) comes across.
        }
        self.count(kind).updated += 1;
        self.entry(
            kind,
            legacy_id,
            Action::Updated,
            Reason::ChangedInLegacy,
            "changed in the legacy system since it was imported: written over".into(),
            None,
        );
        Route::Replace
    }
}

/// Splits `rows` into those to insert (left in `rows`) and those to write over (returned).
fn split<T>(c: &mut Classifier<'_>, kind: Kind, rows: &mut Vec<T>, record: impl Fn(&T) -> Record<'_>) -> Vec<T> {
    let mut insert = Vec::with_capacity(rows.len());
    let mut replace = Vec::new();
    for row in rows.drain(..) {
        match c.route(kind, record(&row)) {
            Route::Insert => insert.push(row),
            Route::Replace => replace.push(row),
            Route::Drop => {}
        }
    }
    *rows = insert;
    replace
}

/// Classifies the converted rows of a store against what earlier runs wrote (`state`): leaves
/// in `converted` the rows to insert, and returns the rest.
pub(crate) fn classify(store: &StoreId, converted: &mut Converted, state: &ImportState, origins: &Origins) -> Delta {
    let mut c = Classifier {
        store,
        tracked: state.rows.iter().map(|t| ((t.kind, t.row_id), t)).collect(),
        changed: &state.changed_in_tills,
        origins,
        seen: HashSet::new(),
        delta: Delta::default(),
    };
    fn named(n: &tills_storage::ImportNamed) -> Record<'_> {
        Record { id: n.id, legacy_id: n.legacy_id.as_deref(), fingerprint: n.fingerprint(), amount: None }
    }
    let categories = split(&mut c, Kind::Categories, &mut converted.categories, named);
    let brands = split(&mut c, Kind::Brands, &mut converted.brands, named);
    let units = split(&mut c, Kind::Units, &mut converted.units, named);
    let products = split(&mut c, Kind::Products, &mut converted.products, |p| Record {
        id: p.id,
        legacy_id: p.legacy_id.as_deref(),
        fingerprint: p.fingerprint(),
        amount: None,
    });
    let customers = split(&mut c, Kind::Customers, &mut converted.customers, |x| Record {
        id: x.id,
        legacy_id: x.legacy_id.as_deref(),
        fingerprint: x.fingerprint(),
        amount: None,
    });
    let users = split(&mut c, Kind::Users, &mut converted.users, |u| Record {
        id: u.id,
        legacy_id: u.legacy_id.as_deref(),
        fingerprint: u.fingerprint(),
        amount: None,
    });
    let sales = split(&mut c, Kind::Sales, &mut converted.sales, |s| Record {
        id: s.id,
        legacy_id: s.legacy_id.as_deref(),
        fingerprint: s.fingerprint(),
        amount: Some(s.total),
    });
    // Payments are never written over (`route` keeps them), so nothing comes back.
    let _ = split(&mut c, Kind::Payments, &mut converted.payments, |p| Record {
        id: p.id,
        legacy_id: p.legacy_id.as_deref(),
        fingerprint: p.fingerprint(),
        amount: Some(p.amount),
    });

    // Rows an earlier run wrote whose document this run did not import: they stay.
    let mut gone: Vec<&TrackedRow> = state.rows.iter().filter(|t| !c.seen.contains(&(t.kind, t.row_id))).collect();
    gone.sort_by(|a, b| (a.kind, &a.legacy_id).cmp(&(b.kind, &b.legacy_id)));
    for t in gone {
        let kind = Kind::of_table(t.kind);
        let delta = t.amount.filter(|_| matches!(kind, Kind::Sales | Kind::Payments));
        c.count(kind).kept += 1;
        c.entry(
            kind,
            &t.legacy_id,
            Action::Kept,
            Reason::GoneFromSource,
            "imported by an earlier run, not imported by this one (gone from the dump, or skipped: see its other \
             entries); the row stays"
                .into(),
            delta,
        );
    }
    c.delta.replace = ImportBatch {
        mode: BatchMode::Replace,
        categories,
        brands,
        units,
        products,
        customers,
        users,
        sales,
        payments: vec![],
    };
    c.delta
}
