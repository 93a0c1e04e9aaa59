//! The run's JSON report: every legacy document that was not imported as it was, with why.

use std::collections::BTreeMap;

use serde::Serialize;
use tills_storage::{ImportKind, ImportWritten};

/// The legacy collections, by what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Categories,
    Brands,
    Units,
    Products,
    Customers,
    Users,
    Sales,
    Payments,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Categories,
        Kind::Brands,
        Kind::Units,
        Kind::Products,
        Kind::Customers,
        Kind::Users,
        Kind::Sales,
        Kind::Payments,
    ];

    /// The table its rows are in (`import_rows.kind`).
    pub fn table(self) -> ImportKind {
        match self {
            Kind::Categories => ImportKind::Categories,
            Kind::Brands => ImportKind::Brands,
            Kind::Units => ImportKind::Units,
            Kind::Products => ImportKind::Products,
            Kind::Customers => ImportKind::Customers,
            Kind::Users => ImportKind::Users,
            Kind::Sales => ImportKind::Sales,
            Kind::Payments => ImportKind::Payments,
        }
    }

    pub fn of_table(t: ImportKind) -> Kind {
        match t {
            ImportKind::Categories => Kind::Categories,
            ImportKind::Brands => Kind::Brands,
            ImportKind::Units => Kind::Units,
            ImportKind::Products => Kind::Products,
            ImportKind::Customers => Kind::Customers,
            ImportKind::Users => Kind::Users,
            ImportKind::Sales => Kind::Sales,
            ImportKind::Payments => Kind::Payments,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Categories => "categories",
            Kind::Brands => "brands",
            Kind::Units => "units",
            Kind::Products => "products",
            Kind::Customers => "customers",
            Kind::Users => "users",
            Kind::Sales => "sales",
            Kind::Payments => "payments",
        }
    }
}

/// What happened to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Not imported (the entry says why; its data is in `detail`).
    Skipped,
    /// Imported with a change (the entry says which).
    Altered,
    /// Imported once more: a shared category copied into a store that uses it.
    Copied,
    /// A record the legacy data implied but did not hold (a unit a pack names).
    Created,
    /// Imported by an earlier run and changed in the legacy system since: written over.
    Updated,
    /// Imported by an earlier run; this run leaves Tills' row as it is although the legacy
    /// document differs (the entry says why: a conflict with a change made in Tills, …).
    Kept,
}

/// Why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    DuplicateBarcode,
    DuplicatePhone,
    DuplicateEmail,
    DuplicateName,
    DuplicateInvoice,
    DuplicateDocument,
    OrphanReference,
    MissingField,
    InvalidField,
    RoundedValue,
    UnrepresentableValue,
    DeletedProduct,
    SharedCategory,
    UnusedSharedCategory,
    ParentCycle,
    UnreadableDocument,
    UnknownCollection,
    UnknownStore,
    StoreMissing,
    NoPassword,
    /// Updated: the legacy document changed since the run that imported it.
    ChangedInLegacy,
    /// Kept: the row was changed in Tills since it was imported (and the legacy document too):
    /// Tills' version stays.
    ChangedInTills,
    /// Kept: the row was deleted in Tills since it was imported.
    DeletedInTills,
    /// Kept: a sale's lines or amounts, or a payment, changed in the legacy system; Tills writes
    /// a sale once (only a status change comes across).
    NotRewritten,
    /// Kept: imported by an earlier run, the document is not in this dump any more (or no longer
    /// importable); the row stays.
    GoneFromSource,
    /// Kept: the change could not be written (a key another row holds, a record it refers to
    /// missing); the next run tries again.
    NotWritten,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    pub database: String,
    pub collection: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_id: Option<String>,
    pub action: Action,
    pub reason: Reason,
    pub detail: String,
    /// For an entry that stands for several documents (a whole collection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// What the entry changes in `--verify`'s money sums (sales totals, payment amounts), in
    /// minor units: the imported value minus the legacy one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_delta: Option<i64>,
}

impl Entry {
    /// How many documents the entry stands for.
    pub fn documents(&self) -> u64 {
        self.count.unwrap_or(1)
    }
}

/// Per store and collection: what the source held and what became of it.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindStats {
    pub source: u64,
    pub imported: u64,
    pub skipped: u64,
    /// Imported with at least one change (see the entries).
    pub altered: u64,
    pub copied: u64,
    pub created: u64,
    /// Imported by an earlier run and unchanged in the legacy system since: not written again.
    pub unchanged: u64,
    /// Imported by an earlier run, changed in the legacy system since, written over.
    pub updated: u64,
    /// Imported by an earlier run and left as Tills has it (conflicts; see the entries).
    pub kept: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreSummary {
    pub store_id: String,
    /// `database/prefix` of each legacy store folded into it.
    pub sources: Vec<String>,
    pub currency: String,
    pub created: bool,
    pub invoice_counter: Option<i64>,
    pub invoice_prefix: Option<String>,
    pub collections: BTreeMap<Kind, KindStats>,
    /// Rows this run inserted (0 everywhere on a second run).
    pub inserted: ImportWritten,
    pub cache_invalidated: bool,
    /// Its active admins after the run (not read by a dry run). A store with none works (its
    /// cashiers log in and sell) but needs an admin given: `tills admin create-store-admin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_admins: Option<i64>,
}

/// Seconds spent reading the dump, converting, writing to the database, verifying.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    pub read: f64,
    pub convert: f64,
    pub write: f64,
    pub verify: f64,
}

/// One row of `--verify`'s table.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRow {
    pub store: String,
    pub what: String,
    pub source: i64,
    /// What the report explains (skipped, copied, amounts changed): source + explained = expected.
    pub explained: i64,
    pub expected: i64,
    pub target: i64,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub source: String,
    pub backend: String,
    pub dry_run: bool,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
    pub documents: u64,
    pub documents_per_second: f64,
    pub rows_inserted: u64,
    /// Rows written over (the documents `updated`).
    pub rows_updated: u64,
    /// Where the time went, in seconds.
    pub timings: Timings,
    pub skipped: u64,
    pub altered: u64,
    /// Documents an earlier run imported that had not changed: not written again.
    pub unchanged: u64,
    /// Documents an earlier run imported that changed in the legacy system: written over.
    pub updated: u64,
    /// Documents an earlier run imported that this run left as Tills has them (see the entries).
    pub kept: u64,
    /// The stores of `--store` (empty: every store of the dump).
    pub selected_stores: Vec<String>,
    pub stores: Vec<StoreSummary>,
    /// Imported stores that have no active admin (see `activeAdmins`).
    pub stores_without_admin: Vec<String>,
    pub entries: Vec<Entry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<Vec<VerifyRow>>,
}

/// Prints `--verify`'s table.
pub fn verify_table(rows: &[VerifyRow]) -> String {
    let mut out = format!(
        "{:<24} {:<16} {:>14} {:>12} {:>14} {:>14}  {}\n",
        "store", "what", "source", "explained", "expected", "target", "status"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<24} {:<16} {:>14} {:>12} {:>14} {:>14}  {}\n",
            r.store,
            r.what,
            r.source,
            r.explained,
            r.expected,
            r.target,
            if r.ok { "ok" } else { "DIFFERENT" }
        ));
    }
    out
}

/// Prints one line per store: its documents and what became of them.
pub fn store_table(stores: &[StoreSummary]) -> String {
    let mut out = format!(
        "{:<24} {:>8} {:>10} {:>9} {:>9} {:>10} {:>10} {:>9} {:>7} {:>10}\n",
        "store", "created", "documents", "skipped", "altered", "inserted", "unchanged", "updated", "kept", "invoice#"
    );
    for s in stores {
        let sum = |f: fn(&KindStats) -> u64| -> u64 { s.collections.values().map(f).sum() };
        out.push_str(&format!(
            "{:<24} {:>8} {:>10} {:>9} {:>9} {:>10} {:>10} {:>9} {:>7} {:>10}\n",
            s.store_id,
            if s.created { "yes" } else { "no" },
            sum(|k| k.source),
            sum(|k| k.skipped),
            sum(|k| k.altered),
            s.inserted.total(),
            sum(|k| k.unchanged),
            sum(|k| k.updated),
            sum(|k| k.kept),
            s.invoice_counter.map(|n| n.to_string()).unwrap_or_default()
        ));
    }
    out
}
