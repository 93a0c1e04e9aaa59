//! One store's legacy documents → Tills rows, with the conflict rules. Pure: no IO.
//!
//! Ids are deterministic: `uuid v5(namespace, "<store>/<table>/<legacy id>")`, so a reference
//! resolves within the store, the same document gets the same row in every run (a second run
//! inserts nothing), and a shared category copied into two stores becomes two rows.
//!
//! Documents of a collection are taken in the order the legacy system created them
//! (`createdAt`, then the id): "later" in the rules below means later in that order. The rules
//! keep the data (docs/migration.md lists them for operators):
//!
//! - **duplicate barcode** (a product's own, or a pack's, equal to one an earlier product — or a
//!   product already in Tills — holds): the later product is imported without that barcode and
//!   inactive, so it cannot be sold by mistake and shows up in the inactive list for review;
//! - **duplicate phone**: the later customer is imported soft-deleted (hidden from the API, its
//!   sales still point at it, its note names the customer it duplicates); a customer with no
//!   valid phone the same (the legacy text in its note);
//! - **duplicate email** in a store, or no valid email: the later user is imported soft-deleted;
//! - **names equal ignoring case** (categories, brands, units): the later one is renamed
//!   `Name (2)`, `Name (3)`…;
//! - **duplicate invoice number**: the later sale keeps its number with `-2`, `-3`… appended;
//! - **orphan reference** (a category, brand, unit, customer, cashier or product that does not
//!   exist in the store): the reference is left empty, the rest imported; a pack whose unit is
//!   gone uses the store's unit of the pack's name, created when missing; a payment whose sale
//!   does not exist cannot be stored and is skipped;
//! - **money** with more decimals than the currency: rounded half up; a value that is not a
//!   number or cannot be stored is reported, and the field takes its default (a product without
//!   a usable price is imported at 0 and inactive).
//!
//! Every such case is an entry of the report.

mod brands;
mod categories;
mod customers;
mod payments;
mod products;
mod sales;
#[cfg(test)]
mod tests;
mod units;
mod users;

pub use self::sales::split_invoice;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use bson::{Bson, Document};
use chrono::{DateTime, TimeZone, Utc};
use tills_domain::{Id, Money, StoreId, name_key};
use tills_storage::{ExistingKeys, ImportCustomer, ImportNamed, ImportPayment, ImportProduct, ImportSale, ImportUser};

use crate::decimal::{self, NumberError};
use crate::report::{Action, Entry, Kind, Reason};

pub type Timestamp = DateTime<Utc>;

/// The namespace of every id the importer derives.
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6c1e_9d0a_53f4_4b7e_9a2d_7f3c_1b5e_8a40);

/// The row id of a legacy document of `table` in `store`.
pub fn uid(store: &StoreId, table: &str, key: &str) -> Id {
    uuid::Uuid::new_v5(&NAMESPACE, format!("{store}/{table}/{key}").as_bytes())
}

/// A legacy document and where it came from.
#[derive(Debug, Clone)]
pub struct LegacyDoc {
    pub database: Arc<str>,
    pub collection: Arc<str>,
    pub doc: Document,
}

impl LegacyDoc {
    /// The legacy id as text: an ObjectId's 24 hex digits, or the `_id` as written.
    pub fn key(&self) -> String {
        match self.doc.get("_id") {
            Some(Bson::ObjectId(o)) => o.to_hex(),
            Some(Bson::String(s)) => s.clone(),
            Some(Bson::Int32(i)) => i.to_string(),
            Some(Bson::Int64(i)) => i.to_string(),
            Some(other) => decimal::describe(other),
            None => String::new(),
        }
    }

    /// `createdAt`, or the time in the ObjectId.
    pub fn created_at(&self) -> Option<Timestamp> {
        date(self.doc.get("createdAt")).or_else(|| match self.doc.get("_id") {
            Some(Bson::ObjectId(o)) => millis(o.timestamp().timestamp_millis()),
            _ => None,
        })
    }
}

fn millis(ms: i64) -> Option<Timestamp> {
    Utc.timestamp_millis_opt(ms).single()
}

fn date(v: Option<&Bson>) -> Option<Timestamp> {
    match v? {
        Bson::DateTime(d) => millis(d.timestamp_millis()),
        Bson::String(s) => DateTime::parse_from_rfc3339(s.trim()).ok().map(|d| d.with_timezone(&Utc)),
        Bson::Int64(ms) => millis(*ms),
        _ => None,
    }
}

/// A present, non-null field.
fn field<'a>(d: &'a Document, name: &str) -> Option<&'a Bson> {
    d.get(name).filter(|v| !matches!(v, Bson::Null | Bson::Undefined))
}

/// A field as trimmed text (strings, and numbers written as text); None when missing or empty.
fn text(d: &Document, name: &str) -> Option<String> {
    let s = match field(d, name)? {
        Bson::String(s) => s.trim().to_owned(),
        v @ (Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)) => decimal::decimal_text(v)?,
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// A reference field as the legacy id text it names.
fn reference(d: &Document, name: &str) -> Option<String> {
    match field(d, name)? {
        Bson::ObjectId(o) => Some(o.to_hex()),
        Bson::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Bson::Document(inner) => match inner.get("$oid").or_else(|| inner.get("_id")) {
            Some(Bson::ObjectId(o)) => Some(o.to_hex()),
            Some(Bson::String(s)) => Some(s.clone()),
            _ => None,
        },
        Bson::Int32(i) => Some(i.to_string()),
        Bson::Int64(i) => Some(i.to_string()),
        _ => None,
    }
}

fn boolean(d: &Document, name: &str) -> Option<bool> {
    match field(d, name)? {
        Bson::Boolean(b) => Some(*b),
        Bson::Int32(i) => Some(*i != 0),
        Bson::Int64(i) => Some(*i != 0),
        Bson::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn short(key: &str) -> &str {
    &key[key.len().saturating_sub(6)..]
}

/// A display name as Tills takes it: trimmed, no control characters, at most 200 characters.
fn clean_name(raw: &str) -> String {
    let s: String = raw.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let s = s.trim();
    if s.chars().count() > 200 { s.chars().take(200).collect::<String>().trim_end().to_owned() } else { s.to_owned() }
}

/// A number that may be missing, broken, or fine.
enum Num {
    Missing,
    Invalid,
    Value(i64),
}

impl Num {
    fn or(self, default: i64) -> i64 {
        match self {
            Num::Value(v) => v,
            _ => default,
        }
    }
}

/// Who holds a unique key.
#[derive(Debug, Clone)]
struct Holder {
    id: Id,
    /// For the report: "product 65f0…" or "a record already in Tills (id …)".
    what: String,
}

/// Unique keys of one kind in the store: those already in Tills (rows this importer did not
/// write) and those claimed so far, in document order.
struct Claims {
    taken: HashMap<String, Holder>,
}

impl Claims {
    /// `existing`: the keys in Tills and their rows; `ours`: the rows of this store's legacy
    /// documents (their keys are claimed again, in document order); `held`: rows the importer
    /// wrote that Tills changed since (they keep Tills' version, so their keys stay taken).
    fn new(existing: &[(String, Id)], ours: &HashSet<Id>, held: &HashSet<Id>) -> Claims {
        let taken = existing
            .iter()
            .filter(|(_, id)| !ours.contains(id) || held.contains(id))
            .map(|(k, id)| {
                let what = if held.contains(id) {
                    format!("a record changed in Tills since the import (id {id})")
                } else {
                    format!("a record already in Tills (id {id})")
                };
                (k.clone(), Holder { id: *id, what })
            })
            .collect();
        Claims { taken }
    }

    /// Claims `key` for `id`; the holder when someone else has it.
    fn claim(&mut self, key: &str, id: Id, what: impl FnOnce() -> String) -> Result<(), Holder> {
        match self.taken.get(key) {
            Some(h) if h.id != id => Err(h.clone()),
            Some(_) => Ok(()),
            None => {
                self.taken.insert(key.to_owned(), Holder { id, what: what() });
                Ok(())
            }
        }
    }
}

/// A store's legacy documents, ready to convert.
#[derive(Debug, Clone, Default)]
pub struct StoreInput {
    /// Own documents per kind (categories: those of the store; shared ones are below).
    pub docs: BTreeMap<Kind, Vec<LegacyDoc>>,
    /// Categories with no store (`storeId: null`) of the store's databases.
    pub shared_categories: Vec<LegacyDoc>,
}

/// The rows to write, in dependency order, and the report's entries.
#[derive(Debug, Default)]
pub struct Converted {
    pub categories: Vec<tills_storage::ImportNamed>,
    pub brands: Vec<ImportNamed>,
    pub units: Vec<ImportNamed>,
    pub products: Vec<ImportProduct>,
    pub customers: Vec<ImportCustomer>,
    pub users: Vec<ImportUser>,
    pub sales: Vec<ImportSale>,
    pub payments: Vec<ImportPayment>,
    /// The highest number in the store's legacy invoice numbers.
    pub max_invoice_seq: Option<i64>,
    /// The commonest prefix of its legacy invoice numbers (`INV-` of `INV-000123`).
    pub invoice_prefix: Option<String>,
    /// Shared categories this store uses: (database, legacy id).
    pub used_shared: Vec<(Arc<str>, String)>,
    pub entries: Vec<Entry>,
    /// Documents with at least one `altered` entry, per kind.
    pub altered: BTreeMap<Kind, u64>,
    pub skipped: BTreeMap<Kind, u64>,
}

struct Conv<'a> {
    store: &'a StoreId,
    decimals: u32,
    out: Converted,
    altered: HashSet<(Kind, String)>,
}

/// Sorted in creation order, with each document's key and time.
struct Sorted<'a> {
    doc: &'a LegacyDoc,
    key: String,
    created: Timestamp,
}

fn sorted(docs: &[LegacyDoc]) -> Vec<Sorted<'_>> {
    let mut v: Vec<Sorted<'_>> = docs
        .iter()
        .map(|doc| Sorted { key: doc.key(), created: doc.created_at().unwrap_or(DateTime::<Utc>::UNIX_EPOCH), doc })
        .collect();
    v.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.key.cmp(&b.key)));
    v
}

/// The documents in creation order, each `_id` once: a later document with an `_id` already
/// seen (an export appended twice) is skipped and reported. `money` names the field whose
/// amount `--verify` sums, so that the report explains its absence.
fn unique<'d>(c: &mut Conv<'_>, docs: &'d [LegacyDoc], kind: Kind, money: Option<&str>) -> Vec<Sorted<'d>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(docs.len());
    for s in sorted(docs) {
        if seen.insert(s.key.clone()) {
            out.push(s);
            continue;
        }
        let amount = |f: &str| {
            field(&s.doc.doc, f)
                .and_then(|v| decimal::scale_bson(v, c.decimals, Money::MAX).ok())
                .map_or(0, |x| x.value)
        };
        let delta = money.map(|f| -amount(f));
        c.entry_with(
            &s,
            kind,
            Action::Skipped,
            Reason::DuplicateDocument,
            "a second document with this _id in the collection; not imported".into(),
            delta,
        );
    }
    out
}

impl<'a> Conv<'a> {
    fn entry(&mut self, s: &Sorted<'_>, kind: Kind, action: Action, reason: Reason, detail: String) {
        self.entry_with(s, kind, action, reason, detail, None);
    }

    fn entry_with(
        &mut self,
        s: &Sorted<'_>,
        kind: Kind,
        action: Action,
        reason: Reason,
        detail: String,
        amount_delta: Option<i64>,
    ) {
        match action {
            Action::Altered => {
                if self.altered.insert((kind, s.key.clone())) {
                    *self.out.altered.entry(kind).or_default() += 1;
                }
            }
            Action::Skipped => *self.out.skipped.entry(kind).or_default() += 1,
            Action::Copied | Action::Created | Action::Updated | Action::Kept => {}
        }
        self.out.entries.push(Entry {
            store: Some(self.store.to_string()),
            database: s.doc.database.to_string(),
            collection: s.doc.collection.to_string(),
            kind: Some(kind),
            legacy_id: Some(s.key.clone()),
            action,
            reason,
            detail,
            count: None,
            amount_delta,
        });
    }

    /// Reads a number field scaled to `decimals` places, reporting rounding and bad values
    /// (`fallback` says what the field becomes then).
    #[allow(clippy::too_many_arguments)]
    fn number(
        &mut self,
        s: &Sorted<'_>,
        kind: Kind,
        d: &Document,
        name: &str,
        decimals: u32,
        limit: i64,
        fallback: &str,
    ) -> Num {
        let Some(v) = field(d, name) else { return Num::Missing };
        match decimal::scale_bson(v, decimals, limit) {
            Ok(x) => {
                if x.rounded {
                    let legacy = decimal::describe(v);
                    self.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::RoundedValue,
                        format!("{name}: {legacy} has more than {decimals} decimals; rounded half up to {}", x.value),
                    );
                }
                Num::Value(x.value)
            }
            Err(e) => {
                let reason = match e {
                    NumberError::NotANumber(_) => Reason::InvalidField,
                    NumberError::Unrepresentable(_) => Reason::UnrepresentableValue,
                };
                self.entry(s, kind, Action::Altered, reason, format!("{name}: {e}; imported as {fallback}"));
                Num::Invalid
            }
        }
    }

    fn money(&mut self, s: &Sorted<'_>, kind: Kind, d: &Document, name: &str, fallback: &str) -> Num {
        self.number(s, kind, d, name, self.decimals, Money::MAX, fallback)
    }

    /// A name field, cleaned; `placeholder` when missing (reported).
    fn name(&mut self, s: &Sorted<'_>, kind: Kind, name: &str, placeholder: impl FnOnce() -> String) -> String {
        let raw = match field(&s.doc.doc, name) {
            Some(Bson::String(t)) => Some(t.clone()),
            Some(v @ (Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_))) => decimal::decimal_text(v),
            _ => None,
        };
        let cleaned = raw.as_deref().map(clean_name).filter(|n| !n.is_empty());
        match cleaned {
            Some(n) => {
                if raw.as_deref().map(str::trim) != Some(n.as_str()) {
                    self.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::InvalidField,
                        format!("{name}: {:?} cleaned to {n:?} (control characters, over 200 characters)", raw),
                    );
                }
                n
            }
            None => {
                let p = placeholder();
                let how = if field(&s.doc.doc, name).is_some() { "is not usable text" } else { "is missing" };
                self.entry(s, kind, Action::Altered, Reason::MissingField, format!("{name} {how}; imported as {p:?}"));
                p
            }
        }
    }

    /// Gives `name` a key no one holds yet: `Name (2)`, `Name (3)`… for later duplicates.
    fn unique_name(&mut self, s: &Sorted<'_>, kind: Kind, claims: &mut Claims, name: String, id: Id) -> String {
        let first = claims.claim(&name_key(&name), id, || format!("{} {}", kind.as_str(), s.key));
        let Err(holder) = first else { return name };
        let base: String = name.chars().take(190).collect();
        for n in 2.. {
            let candidate = format!("{base} ({n})");
            if claims.claim(&name_key(&candidate), id, || format!("{} {}", kind.as_str(), s.key)).is_ok() {
                self.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::DuplicateName,
                    format!("name {name:?} equals (ignoring case) the name of {}; renamed {candidate:?}", holder.what),
                );
                return candidate;
            }
        }
        unreachable!("some suffix is free")
    }
}

/// Converts one store's documents. `existing` are the keys the store already holds in Tills.
pub fn convert(store: &StoreId, decimals: u32, input: &StoreInput, existing: &ExistingKeys) -> Converted {
    let mut c = Conv { store, decimals, out: Converted::default(), altered: HashSet::new() };
    let empty = Vec::new();
    let docs = |k: Kind| input.docs.get(&k).unwrap_or(&empty);

    let products = unique(&mut c, docs(Kind::Products), Kind::Products, None);
    let categories = categories::convert(&mut c, docs(Kind::Categories), &input.shared_categories, &products, existing);
    let brands = brands::convert(&mut c, docs(Kind::Brands), existing);
    let mut units = units::convert(&mut c, docs(Kind::Units), existing);
    let product_map = products::convert(&mut c, &products, &categories, &brands, &mut units, existing);
    let customers = customers::convert(&mut c, docs(Kind::Customers), existing);
    let users = users::convert(&mut c, docs(Kind::Users), existing);
    let sales = sales::ordered(&mut c, docs(Kind::Sales));
    let paid = payments::convert(&mut c, docs(Kind::Payments), &sales.1);
    sales::convert(&mut c, &sales, &paid, &product_map, &customers, &users, existing);
    c.out
}

/// Legacy id → row id, for references.
type Refs = HashMap<String, Id>;

/// Brands or units: legacy ids and names to row ids.
struct NameTable {
    /// Legacy id → row id.
    refs: Refs,
    /// Name key → row id, for packs whose unit is gone (imported units and the store's own).
    by_name: HashMap<String, Id>,
}

/// Brands or units.
fn named(c: &mut Conv<'_>, kind: Kind, docs: &[LegacyDoc], existing: &[(String, Id)], held: &HashSet<Id>) -> NameTable {
    let docs = unique(c, docs, kind, None);
    let table = kind.as_str();
    let refs: Refs = docs.iter().map(|s| (s.key.clone(), uid(c.store, table, &s.key))).collect();
    let mut ours: HashSet<Id> = refs.values().copied().collect();
    // Units the importer creates for packs are its own too.
    ours.extend(existing.iter().filter(|(k, id)| *id == uid(c.store, table, &format!("name:{k}"))).map(|e| e.1));
    let mut claims = Claims::new(existing, &ours, held);
    let mut by_name: HashMap<String, Id> = claims.taken.iter().map(|(k, h)| (k.clone(), h.id)).collect();
    for s in &docs {
        let id = refs[&s.key];
        let singular = if kind == Kind::Brands { "Brand" } else { "Unit" };
        let name = c.name(s, kind, "name", || format!("{singular} {}", short(&s.key)));
        by_name.entry(name_key(&name)).or_insert(id);
        let name = c.unique_name(s, kind, &mut claims, name, id);
        by_name.entry(name_key(&name)).or_insert(id);
        let row = ImportNamed {
            id,
            name_key: name_key(&name),
            name,
            parent_id: None,
            legacy_id: Some(s.key.clone()),
            created_at: s.created,
            updated_at: date(s.doc.doc.get("updatedAt")).unwrap_or(s.created),
        };
        if kind == Kind::Brands {
            c.out.brands.push(row);
        } else {
            c.out.units.push(row);
        }
    }
    NameTable { refs, by_name }
}

/// Resolves a reference among the store's records; an orphan is reported and left empty.
fn resolve(c: &mut Conv<'_>, s: &Sorted<'_>, kind: Kind, name: &str, refs: &Refs, what: &str) -> Option<Id> {
    let key = reference(&s.doc.doc, name)?;
    match refs.get(&key) {
        Some(id) => Some(*id),
        None => {
            c.entry(
                s,
                kind,
                Action::Altered,
                Reason::OrphanReference,
                format!("{name} {key} names no {what} of this store; imported without it"),
            );
            None
        }
    }
}
