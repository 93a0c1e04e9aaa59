//! The run's JSON report: every legacy document that was not imported as it was, with why.

use std::collections::BTreeMap;

use serde::Serialize;
use tills_storage::ImportWritten;

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
    /// Where the time went, in seconds.
    pub timings: Timings,
    pub skipped: u64,
    pub altered: u64,
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
        "{:<24} {:>8} {:>10} {:>9} {:>9} {:>10} {:>10}\n",
        "store", "created", "documents", "skipped", "altered", "inserted", "invoice#"
    );
    for s in stores {
        let docs: u64 = s.collections.values().map(|k| k.source).sum();
        let skipped: u64 = s.collections.values().map(|k| k.skipped).sum();
        let altered: u64 = s.collections.values().map(|k| k.altered).sum();
        out.push_str(&format!(
            "{:<24} {:>8} {:>10} {:>9} {:>9} {:>10} {:>10}\n",
            s.store_id,
            if s.created { "yes" } else { "no" },
            docs,
            skipped,
            altered,
            s.inserted.total(),
            s.invoice_counter.map(|n| n.to_string()).unwrap_or_default()
        ));
    }
    out
}
