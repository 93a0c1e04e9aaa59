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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use bson::{Bson, Document};
use chrono::{DateTime, TimeZone, Utc};
use tills_domain::pricing::{div_round_half_up, spread};
use tills_domain::{Barcode, Email, Id, Money, Phone, Quantity, StoreId, name_key};
use tills_storage::{
    ExistingKeys, ImportCustomer, ImportNamed, ImportPayment, ImportProduct, ImportSale, ImportSaleLine, ImportUser,
    Pack, ProductDraft,
};

use super::decimal::{self, NumberError};
use super::report::{Action, Entry, Kind, Reason};
use crate::auth::password;

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
    fn new(existing: &[(String, Id)], ours: &HashSet<Id>) -> Claims {
        let taken = existing
            .iter()
            .filter(|(_, id)| !ours.contains(id))
            .map(|(k, id)| (k.clone(), Holder { id: *id, what: format!("a record already in Tills (id {id})") }))
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
            Action::Copied | Action::Created => {}
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
    let categories = categories(&mut c, docs(Kind::Categories), &input.shared_categories, &products, existing);
    let brands = named(&mut c, Kind::Brands, docs(Kind::Brands), &existing.brand_names);
    let mut units = named(&mut c, Kind::Units, docs(Kind::Units), &existing.unit_names);
    let product_map = convert_products(&mut c, &products, &categories, &brands, &mut units, existing);
    let customers = convert_customers(&mut c, docs(Kind::Customers), existing);
    let users = convert_users(&mut c, docs(Kind::Users), existing);
    convert_sales(&mut c, docs(Kind::Sales), docs(Kind::Payments), &product_map, &customers, &users, existing);
    c.out
}

/// Legacy id → row id, for references.
type Refs = HashMap<String, Id>;

struct UnitTable {
    /// Legacy id → row id.
    refs: Refs,
    /// Name key → row id, for packs whose unit is gone (imported units and the store's own).
    by_name: HashMap<String, Id>,
}

fn categories(
    c: &mut Conv<'_>,
    own: &[LegacyDoc],
    shared: &[LegacyDoc],
    products: &[Sorted<'_>],
    existing: &ExistingKeys,
) -> Refs {
    let own = unique(c, own, Kind::Categories, None);
    // Shared categories come once each (the caller reports duplicates for the database).
    let shared = sorted(shared);
    let own_keys: HashSet<&str> = own.iter().map(|s| s.key.as_str()).collect();
    let shared_by_key: HashMap<&str, &Sorted<'_>> = shared.iter().map(|s| (s.key.as_str(), s)).collect();
    let parent_of = |s: &Sorted<'_>| reference(&s.doc.doc, "parentId");

    // Shared categories the store uses: those its products or categories name, and their parents.
    let mut used: HashSet<&str> = HashSet::new();
    let mut stack: Vec<String> = products
        .iter()
        .filter_map(|p| reference(&p.doc.doc, "categoryId"))
        .chain(own.iter().filter_map(parent_of))
        .collect();
    while let Some(k) = stack.pop() {
        if own_keys.contains(k.as_str()) {
            continue;
        }
        if let Some((key, s)) = shared_by_key.get_key_value(k.as_str())
            && used.insert(*key)
            && let Some(p) = parent_of(s)
        {
            stack.push(p);
        }
    }
    let mut all: Vec<(&Sorted<'_>, bool)> = own.iter().map(|s| (s, false)).collect();
    for s in &shared {
        if used.contains(s.key.as_str()) && !own_keys.contains(s.key.as_str()) {
            all.push((s, true));
            c.out.used_shared.push((s.doc.database.clone(), s.key.clone()));
        }
    }
    all.sort_by(|a, b| a.0.created.cmp(&b.0.created).then_with(|| a.0.key.cmp(&b.0.key)));

    let refs: Refs = all.iter().map(|(s, _)| (s.key.clone(), uid(c.store, "categories", &s.key))).collect();
    let ours: HashSet<Id> = refs.values().copied().collect();
    let mut claims = Claims::new(&existing.category_names, &ours);
    let mut rows: Vec<(ImportNamed, Option<String>)> = Vec::new();
    for (s, is_shared) in &all {
        let id = refs[&s.key];
        if *is_shared {
            c.entry(
                s,
                Kind::Categories,
                Action::Copied,
                Reason::SharedCategory,
                "a shared category (storeId null) this store uses: copied into the store".into(),
            );
        }
        let name = c.name(s, Kind::Categories, "name", || format!("Category {}", short(&s.key)));
        let name = c.unique_name(s, Kind::Categories, &mut claims, name, id);
        let parent_key = parent_of(s);
        let parent = match &parent_key {
            Some(k) if refs.contains_key(k) => Some(k.clone()),
            Some(k) => {
                c.entry(
                    s,
                    Kind::Categories,
                    Action::Altered,
                    Reason::OrphanReference,
                    format!("parentId {k} names no category of this store; imported without a parent"),
                );
                None
            }
            None => None,
        };
        let created = s.created;
        rows.push((
            ImportNamed {
                id,
                name: name.clone(),
                name_key: name_key(&name),
                parent_id: None,
                legacy_id: Some(s.key.clone()),
                created_at: created,
                updated_at: date(s.doc.doc.get("updatedAt")).unwrap_or(created),
            },
            parent,
        ));
    }

    // Parents before children; a cycle is broken at its latest member.
    let index: HashMap<String, usize> =
        rows.iter().enumerate().map(|(i, r)| (r.0.legacy_id.clone().unwrap_or_default(), i)).collect();
    let mut state = vec![0u8; rows.len()]; // 0 new, 1 on the path, 2 placed
    let mut order = Vec::with_capacity(rows.len());
    for start in 0..rows.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match state[i] {
                2 => break,
                1 => {
                    // A cycle: `path` from i onwards. Cut the latest member's parent.
                    let pos = path.iter().position(|&p| p == i).unwrap_or(0);
                    let cut = *path[pos..].iter().max().unwrap_or(&i);
                    let key = rows[cut].0.legacy_id.clone().unwrap_or_default();
                    let s = all.iter().find(|(s, _)| s.key == key).map(|(s, _)| *s);
                    if let Some(s) = s {
                        c.entry(
                            s,
                            Kind::Categories,
                            Action::Altered,
                            Reason::ParentCycle,
                            "its parents lead back to itself; imported without a parent".into(),
                        );
                    }
                    rows[cut].1 = None;
                    break;
                }
                _ => {
                    state[i] = 1;
                    path.push(i);
                    at = rows[i].1.as_ref().and_then(|p| index.get(p).copied());
                }
            }
        }
        // Place the path's members, deepest ancestor first (cuts may have shortened it).
        for &i in path.iter().rev() {
            place(i, &rows, &index, &mut state, &mut order);
        }
    }
    for i in order {
        let (mut row, parent) = rows[i].clone();
        row.parent_id = parent.and_then(|p| refs.get(&p).copied());
        c.out.categories.push(row);
    }
    refs
}

fn place(
    i: usize,
    rows: &[(ImportNamed, Option<String>)],
    index: &HashMap<String, usize>,
    state: &mut [u8],
    order: &mut Vec<usize>,
) {
    if state[i] == 2 {
        return;
    }
    if let Some(p) = rows[i].1.as_ref().and_then(|p| index.get(p).copied())
        && p != i
        && state[p] != 2
    {
        state[i] = 1;
        place(p, rows, index, state, order);
    }
    state[i] = 2;
    order.push(i);
}

/// Brands or units.
fn named(c: &mut Conv<'_>, kind: Kind, docs: &[LegacyDoc], existing: &[(String, Id)]) -> UnitTable {
    let docs = unique(c, docs, kind, None);
    let table = kind.as_str();
    let refs: Refs = docs.iter().map(|s| (s.key.clone(), uid(c.store, table, &s.key))).collect();
    let mut ours: HashSet<Id> = refs.values().copied().collect();
    // Units the importer creates for packs are its own too.
    ours.extend(existing.iter().filter(|(k, id)| *id == uid(c.store, table, &format!("name:{k}"))).map(|e| e.1));
    let mut claims = Claims::new(existing, &ours);
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
    UnitTable { refs, by_name }
}

/// What a sale line needs of its product.
struct ProductInfo {
    id: Id,
    name: String,
    tax_rate: i32,
    /// Packs by barcode: (unit id, factor).
    packs: HashMap<String, (Id, i64)>,
}

fn convert_products(
    c: &mut Conv<'_>,
    docs: &[Sorted<'_>],
    categories: &Refs,
    brands: &UnitTable,
    units: &mut UnitTable,
    existing: &ExistingKeys,
) -> HashMap<String, ProductInfo> {
    let ours: HashSet<Id> = docs.iter().map(|s| uid(c.store, "products", &s.key)).collect();
    let mut barcodes = Claims::new(&existing.barcodes, &ours);
    let mut out = HashMap::new();
    for s in docs {
        let kind = Kind::Products;
        let d = &s.doc.doc;
        let id = uid(c.store, "products", &s.key);
        let status = text(d, "status").map(|t| t.to_ascii_lowercase());
        let deleted = status.as_deref() == Some("deleted")
            || boolean(d, "deleted") == Some(true)
            || boolean(d, "isDeleted") == Some(true);
        let mut active = match status.as_deref() {
            None | Some("active") | Some("deleted") => true,
            Some("inactive") => false,
            Some(other) => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("status {other:?} is not active, inactive or deleted; imported inactive"),
                );
                false
            }
        };
        let name = c.name(s, kind, "name", || format!("Product {}", short(&s.key)));
        let price = match c.money(s, kind, d, "price", "0, inactive") {
            Num::Value(v) if v >= 0 => v,
            Num::Value(v) => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("price {v} is negative; imported as 0, inactive"),
                );
                active = false;
                0
            }
            Num::Missing => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::MissingField,
                    "price is missing; imported as 0, inactive".into(),
                );
                active = false;
                0
            }
            Num::Invalid => {
                active = false;
                0
            }
        };
        let cost = match c.money(s, kind, d, "cost", "no cost") {
            Num::Value(v) if v >= 0 => Some(v),
            Num::Value(v) => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("cost {v} is negative; imported without a cost"),
                );
                None
            }
            _ => None,
        };
        let tax_rate = match c.number(s, kind, d, "taxRate", 2, 10_000, "0 %") {
            Num::Value(v) if (0..=10_000).contains(&v) => v as i32,
            Num::Value(v) => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("taxRate of {v} basis points is outside 0-100 %; imported as 0 %"),
                );
                0
            }
            _ => 0,
        };
        let category_id = resolve(c, s, kind, "categoryId", categories, "category");
        let brand_id = resolve(c, s, kind, "brandId", &brands.refs, "brand");
        let unit_id = resolve(c, s, kind, "unitId", &units.refs, "unit");
        let stock_milli = c.number(s, kind, d, "stock", 3, Quantity::MAX_MILLI, "0").or(0);
        let created = s.created;
        let updated = date(d.get("updatedAt")).unwrap_or(created);
        let sku = text(d, "sku");

        let mut barcode = None;
        // (row id, pack)
        let mut packs: Vec<(Id, Pack)> = Vec::new();
        let mut dropped: Vec<String> = Vec::new();
        if deleted {
            // Imported deleted, as `delete_product` leaves a product: no barcodes, no packs.
            let mut codes: Vec<String> = text(d, "barcode").into_iter().collect();
            if let Some(Bson::Array(items)) = field(d, "units") {
                codes.extend(items.iter().filter_map(|u| u.as_document().and_then(|u| text(u, "barcode"))));
            }
            if !codes.is_empty() {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::DeletedProduct,
                    format!("a deleted product: imported deleted; its barcodes are free again: {}", codes.join(", ")),
                );
            }
        } else {
            if let Some(raw) = text(d, "barcode") {
                match Barcode::parse(&raw) {
                    Err(e) => c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::InvalidField,
                        format!("barcode {raw:?}: {e}; imported without it"),
                    ),
                    Ok(code) => match barcodes.claim(code.as_str(), id, || format!("product {}", s.key)) {
                        Ok(()) => barcode = Some(code.as_str().to_owned()),
                        Err(holder) => {
                            active = false;
                            dropped.push(format!("{raw} (held by {})", holder.what));
                        }
                    },
                }
            }
            if let Some(v) = field(d, "units") {
                let items = match v {
                    Bson::Array(items) => items.as_slice(),
                    other => {
                        c.entry(
                            s,
                            kind,
                            Action::Altered,
                            Reason::InvalidField,
                            format!("units is not an array ({}); imported without packs", decimal::describe(other)),
                        );
                        &[]
                    }
                };
                for (i, item) in items.iter().enumerate() {
                    let Some(u) = item.as_document() else {
                        c.entry(
                            s,
                            kind,
                            Action::Altered,
                            Reason::InvalidField,
                            format!("units[{i}] is not a document ({}); not imported", decimal::describe(item)),
                        );
                        continue;
                    };
                    if let Some(pack) =
                        convert_pack(c, s, i, u, id, units, &mut barcodes, &mut active, &mut dropped, &packs)
                    {
                        packs.push(pack);
                    }
                }
            }
            if !dropped.is_empty() {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::DuplicateBarcode,
                    format!(
                        "barcode already used in this store: {}; imported without it, inactive",
                        dropped.join("; ")
                    ),
                );
            }
        }
        let show = boolean(d, "showInQuickProducts").unwrap_or(false);
        let info = ProductInfo {
            id,
            name: name.clone(),
            tax_rate,
            packs: packs.iter().filter_map(|(_, p)| p.barcode.clone().map(|b| (b, (p.unit_id, p.factor)))).collect(),
        };
        out.insert(s.key.clone(), info);
        let (pack_ids, units) = packs.into_iter().unzip();
        c.out.products.push(ImportProduct {
            id,
            draft: ProductDraft {
                name_key: name_key(&name),
                name,
                sku,
                price,
                cost,
                tax_rate,
                category_id,
                brand_id,
                unit_id,
                barcode,
                alternate_barcodes: Vec::new(),
                units,
                active,
                show_in_quick_products: show && !deleted,
            },
            pack_ids,
            stock_milli,
            legacy_id: Some(s.key.clone()),
            created_at: created,
            updated_at: updated,
            deleted_at: deleted.then_some(updated),
            stock_movement_id: uid(c.store, "stock_movements", &s.key),
        });
    }
    out
}

/// One entry of a product's `units` array.
#[allow(clippy::too_many_arguments)]
fn convert_pack(
    c: &mut Conv<'_>,
    s: &Sorted<'_>,
    i: usize,
    u: &Document,
    product: Id,
    units: &mut UnitTable,
    barcodes: &mut Claims,
    active: &mut bool,
    dropped: &mut Vec<String>,
    so_far: &[(Id, Pack)],
) -> Option<(Id, Pack)> {
    let kind = Kind::Products;
    let shown = || decimal::describe(&Bson::Document(u.clone()));
    let factor = match field(u, "factor").map(|v| decimal::scale_bson(v, 0, 1_000_000_000)) {
        Some(Ok(x)) if !x.rounded && x.value >= 1 => x.value,
        Some(_) => {
            c.entry(
                s,
                kind,
                Action::Altered,
                Reason::InvalidField,
                format!("units[{i}]: factor must be a whole number of at least 1; pack not imported: {}", shown()),
            );
            return None;
        }
        None => {
            c.entry(
                s,
                kind,
                Action::Altered,
                Reason::MissingField,
                format!("units[{i}]: factor is missing; pack not imported: {}", shown()),
            );
            return None;
        }
    };
    let pack_name = text(u, "name").map(|n| clean_name(&n)).filter(|n| !n.is_empty());
    let unit_ref = reference(u, "unitId");
    let unit_id = match unit_ref.as_ref().and_then(|k| units.refs.get(k)) {
        Some(id) => *id,
        None => {
            // The unit is gone (or never named): the store's unit of the pack's name, created
            // when there is none.
            let name = pack_name.clone().unwrap_or_else(|| format!("Pack of {factor}"));
            let key = name_key(&name);
            let why = match &unit_ref {
                Some(k) => format!("unitId {k} names no unit of this store"),
                None => "the pack names no unit".to_owned(),
            };
            let id = match units.by_name.get(&key) {
                Some(id) => *id,
                None => {
                    let id = uid(c.store, "units", &format!("name:{key}"));
                    units.by_name.insert(key.clone(), id);
                    c.out.units.push(ImportNamed {
                        id,
                        name: name.clone(),
                        name_key: key,
                        parent_id: None,
                        legacy_id: None,
                        created_at: s.created,
                        updated_at: s.created,
                    });
                    c.entry(
                        s,
                        Kind::Units,
                        Action::Created,
                        Reason::OrphanReference,
                        format!("unit {name:?} created for a pack of product {}", s.key),
                    );
                    id
                }
            };
            c.entry(
                s,
                kind,
                Action::Altered,
                Reason::OrphanReference,
                format!("units[{i}]: {why}; the pack uses the store's unit {name:?}"),
            );
            id
        }
    };
    if so_far.iter().any(|(_, p)| p.unit_id == unit_id) {
        c.entry(
            s,
            kind,
            Action::Altered,
            Reason::InvalidField,
            format!("units[{i}]: a second pack of the same unit; not imported: {}", shown()),
        );
        return None;
    }
    let price = match c.money(s, kind, u, "price", "the product's price × factor") {
        Num::Value(v) if v >= 0 => Some(v),
        Num::Value(v) => {
            c.entry(
                s,
                kind,
                Action::Altered,
                Reason::InvalidField,
                format!("units[{i}]: price {v} is negative; the pack costs the product's price × factor"),
            );
            None
        }
        _ => None,
    };
    let mut barcode = None;
    if let Some(raw) = text(u, "barcode") {
        match Barcode::parse(&raw) {
            Err(e) => c.entry(
                s,
                kind,
                Action::Altered,
                Reason::InvalidField,
                format!("units[{i}]: barcode {raw:?}: {e}; the pack is imported without it"),
            ),
            Ok(code) => match barcodes.claim(code.as_str(), product, || format!("product {}", s.key)) {
                Ok(()) if so_far.iter().any(|(_, p)| p.barcode.as_deref() == Some(code.as_str())) => {
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::DuplicateBarcode,
                        format!("units[{i}]: barcode {raw} is another pack's of the same product; imported without it"),
                    );
                }
                Ok(()) => barcode = Some(code.as_str().to_owned()),
                Err(holder) => {
                    *active = false;
                    dropped.push(format!("units[{i}] {raw} (held by {})", holder.what));
                }
            },
        }
    }
    Some((uid(c.store, "product_units", &format!("{}/{i}", s.key)), Pack { unit_id, barcode, factor, price }))
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

fn convert_customers(c: &mut Conv<'_>, docs: &[LegacyDoc], existing: &ExistingKeys) -> Refs {
    let docs = unique(c, docs, Kind::Customers, None);
    let refs: Refs = docs.iter().map(|s| (s.key.clone(), uid(c.store, "customers", &s.key))).collect();
    let ours: HashSet<Id> = refs.values().copied().collect();
    let mut phones = Claims::new(&existing.phones, &ours);
    let kind = Kind::Customers;
    for s in &docs {
        let d = &s.doc.doc;
        let id = refs[&s.key];
        let raw_phone = text(d, "phone");
        let mut deleted = false;
        let mut note = None;
        let phone = match raw_phone.as_deref().map(|p| (p, Phone::parse(p))) {
            Some((_, Ok(p))) => match phones.claim(p.as_str(), id, || format!("customer {}", s.key)) {
                Ok(()) => p.as_str().to_owned(),
                Err(holder) => {
                    deleted = true;
                    note = Some(format!("Legacy duplicate: phone {} belongs to {}", p.as_str(), holder.what));
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::DuplicatePhone,
                        format!(
                            "phone {} is {}'s; imported soft-deleted (its sales keep it; merge by hand if needed)",
                            p.as_str(),
                            holder.what
                        ),
                    );
                    p.as_str().to_owned()
                }
            },
            Some((raw, Err(e))) => {
                deleted = true;
                note = Some(format!("Legacy phone: {raw}"));
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("phone {raw:?}: {e}; imported soft-deleted, the legacy phone in its note"),
                );
                String::new()
            }
            None => {
                deleted = true;
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::MissingField,
                    "phone is missing (Tills requires one); imported soft-deleted".into(),
                );
                String::new()
            }
        };
        let name = c.name(s, kind, "name", || {
            if phone.is_empty() { format!("Customer {}", short(&s.key)) } else { format!("Customer {phone}") }
        });
        let updated = date(d.get("updatedAt")).unwrap_or(s.created);
        c.out.customers.push(ImportCustomer {
            id,
            name_key: name_key(&name),
            name,
            phone,
            email: text(d, "email"),
            note,
            legacy_id: Some(s.key.clone()),
            created_at: s.created,
            updated_at: updated,
            // The document's own time, so that every run writes the same row.
            deleted_at: deleted.then_some(updated),
        });
    }
    refs
}

fn convert_users(c: &mut Conv<'_>, docs: &[LegacyDoc], existing: &ExistingKeys) -> Refs {
    let docs = unique(c, docs, Kind::Users, None);
    let refs: Refs = docs.iter().map(|s| (s.key.clone(), uid(c.store, "users", &s.key))).collect();
    let ours: HashSet<Id> = refs.values().copied().collect();
    let mut emails = Claims::new(&existing.emails, &ours);
    let kind = Kind::Users;
    for s in &docs {
        let d = &s.doc.doc;
        let id = refs[&s.key];
        let mut deleted = false;
        let raw_email = text(d, "email");
        let email = match raw_email.as_deref().map(|e| (e, Email::parse(e))) {
            Some((_, Ok(e))) => match emails.claim(e.as_str(), id, || format!("user {}", s.key)) {
                Ok(()) => e.as_str().to_owned(),
                Err(holder) => {
                    deleted = true;
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::DuplicateEmail,
                        format!("email {} is {}'s; imported soft-deleted (cannot log in)", e.as_str(), holder.what),
                    );
                    e.as_str().to_owned()
                }
            },
            Some((raw, Err(e))) => {
                deleted = true;
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("email {raw:?}: {e}; imported soft-deleted (cannot log in)"),
                );
                raw.trim().to_lowercase()
            }
            None => {
                deleted = true;
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::MissingField,
                    "email is missing; imported soft-deleted".into(),
                );
                String::new()
            }
        };
        let role = match text(d, "role").map(|r| r.to_ascii_lowercase()).as_deref() {
            Some(r @ ("admin" | "manager" | "cashier")) => r.to_owned(),
            other => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    if other.is_some() { Reason::InvalidField } else { Reason::MissingField },
                    format!("role {:?} is not admin, manager or cashier; imported as cashier", other.unwrap_or("")),
                );
                "cashier".to_owned()
            }
        };
        let mut active = boolean(d, "active").unwrap_or(true);
        let password_hash = match text(d, "password") {
            Some(h) if password::needs_upgrade(&h) || h.starts_with("$argon2") => h,
            other => {
                active = false;
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::NoPassword,
                    format!(
                        "password is {}; imported inactive without a usable password (an admin sets one)",
                        if other.is_some() { "not a bcrypt hash" } else { "missing" }
                    ),
                );
                "!".to_owned()
            }
        };
        let name = c.name(s, kind, "name", || {
            email
                .split('@')
                .next()
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("User {}", short(&s.key)))
        });
        let updated = date(d.get("updatedAt")).unwrap_or(s.created);
        c.out.users.push(ImportUser {
            id,
            email,
            name,
            role,
            password_hash,
            active: active && !deleted,
            legacy_id: Some(s.key.clone()),
            created_at: s.created,
            updated_at: updated,
            deleted_at: deleted.then_some(updated),
        });
    }
    refs
}

/// The trailing number of an invoice (`INV-000123` → 123) and what precedes it.
pub fn split_invoice(invoice: &str) -> (&str, Option<i64>) {
    let digits = invoice.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (prefix, number) = invoice.split_at(invoice.len() - digits);
    (prefix, if digits == 0 || digits > 18 { None } else { number.parse().ok() })
}

#[allow(clippy::too_many_arguments)]
fn convert_sales(
    c: &mut Conv<'_>,
    sale_docs: &[LegacyDoc],
    payment_docs: &[LegacyDoc],
    products: &HashMap<String, ProductInfo>,
    customers: &Refs,
    users: &Refs,
    existing: &ExistingKeys,
) {
    let sales = unique(c, sale_docs, Kind::Sales, Some("total"));
    let payments = unique(c, payment_docs, Kind::Payments, Some("amount"));
    let sale_refs: Refs = sales.iter().map(|s| (s.key.clone(), uid(c.store, "sales", &s.key))).collect();

    // Payments first: a sale's `paid` is what its imported payments add up to.
    let mut paid: HashMap<Id, i64> = HashMap::new();
    for s in &payments {
        let kind = Kind::Payments;
        let d = &s.doc.doc;
        let legacy_amount = field(d, "amount")
            .and_then(|v| decimal::scale_bson(v, c.decimals, Money::MAX).ok())
            .map(|x| x.value)
            .unwrap_or(0);
        let sale_id = match reference(d, "saleId") {
            Some(k) => match sale_refs.get(&k) {
                Some(id) => *id,
                None => {
                    c.entry_with(
                        s,
                        kind,
                        Action::Skipped,
                        Reason::OrphanReference,
                        format!(
                            "saleId {k} names no sale of this store: a payment must belong to a sale; \
                             not imported (amount {legacy_amount}, method {:?})",
                            text(d, "method").unwrap_or_default()
                        ),
                        Some(-legacy_amount),
                    );
                    continue;
                }
            },
            None => {
                c.entry_with(
                    s,
                    kind,
                    Action::Skipped,
                    Reason::MissingField,
                    format!(
                        "saleId is missing: a payment must belong to a sale; not imported (amount {legacy_amount})"
                    ),
                    Some(-legacy_amount),
                );
                continue;
            }
        };
        let amount = match c.money(s, kind, d, "amount", "0") {
            Num::Value(v) if v >= 0 => v,
            Num::Value(v) => {
                c.entry_with(
                    s,
                    kind,
                    Action::Skipped,
                    Reason::InvalidField,
                    format!("amount {v} is negative (payments are amounts taken); not imported"),
                    Some(-v),
                );
                continue;
            }
            Num::Missing => {
                c.entry(s, kind, Action::Altered, Reason::MissingField, "amount is missing; imported as 0".into());
                0
            }
            Num::Invalid => 0,
        };
        let raw_method = text(d, "method");
        let (method, reference) = match raw_method.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some(m @ ("cash" | "card" | "mobile" | "voucher")) => (m.to_owned(), None),
            Some(_) => {
                let raw = raw_method.clone().unwrap_or_default();
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("method {raw:?} is not cash, card, mobile or voucher; imported as voucher, reference \"legacy method: {raw}\""),
                );
                ("voucher".to_owned(), Some(format!("legacy method: {raw}")))
            }
            None => {
                c.entry(s, kind, Action::Altered, Reason::MissingField, "method is missing; imported as cash".into());
                ("cash".to_owned(), None)
            }
        };
        *paid.entry(sale_id).or_default() += amount;
        c.out.payments.push(ImportPayment {
            id: uid(c.store, "payments", &s.key),
            sale_id,
            method,
            amount,
            reference,
            legacy_id: Some(s.key.clone()),
            created_at: s.created,
        });
    }

    let ours: HashSet<Id> = sale_refs.values().copied().collect();
    let mut invoices = Claims::new(&existing.invoice_numbers, &ours);
    let mut prefixes: BTreeMap<String, u64> = BTreeMap::new();
    for s in &sales {
        let kind = Kind::Sales;
        let d = &s.doc.doc;
        let legacy_total = field(d, "total")
            .and_then(|v| decimal::scale_bson(v, c.decimals, Money::MAX).ok())
            .map(|x| x.value)
            .unwrap_or(0);
        let id = sale_refs[&s.key];

        // Lines.
        let mut lines = Vec::new();
        let items: &[Bson] = match field(d, "items") {
            Some(Bson::Array(items)) => items,
            Some(other) => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("items is not an array ({}); imported without lines", decimal::describe(other)),
                );
                &[]
            }
            None => &[],
        };
        for (i, item) in items.iter().enumerate() {
            let Some(it) = item.as_document() else {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("items[{i}] is not a document ({}); not imported", decimal::describe(item)),
                );
                continue;
            };
            let product = match reference(it, "productId") {
                Some(k) => match products.get(&k) {
                    Some(p) => Some(p),
                    None => {
                        c.entry(
                            s,
                            kind,
                            Action::Altered,
                            Reason::OrphanReference,
                            format!("items[{i}].productId {k} names no product of this store; the line keeps its name"),
                        );
                        None
                    }
                },
                None => None,
            };
            let barcode = text(it, "barcode");
            let name = match text(it, "name").map(|n| clean_name(&n)).filter(|n| !n.is_empty()) {
                Some(n) => n,
                None => {
                    let n = product.map(|p| p.name.clone()).unwrap_or_else(|| "(unknown item)".to_owned());
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::MissingField,
                        format!("items[{i}].name is missing; imported as {n:?}"),
                    );
                    n
                }
            };
            let quantity_milli = match c.number(s, kind, it, "quantity", 3, Quantity::MAX_MILLI, "1") {
                Num::Value(q) => q,
                Num::Missing => {
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::MissingField,
                        format!("items[{i}].quantity is missing; imported as 1"),
                    );
                    1000
                }
                Num::Invalid => 1000,
            };
            let price = c.money(s, kind, it, "price", "0").or(0);
            let discount = c.money(s, kind, it, "discount", "0").or(0);
            let total = match c.money(s, kind, it, "total", "price × quantity − discount") {
                Num::Value(t) => t,
                other => {
                    let t = div_round_half_up(i128::from(price) * i128::from(quantity_milli), 1000) as i64 - discount;
                    if matches!(other, Num::Missing) {
                        c.entry(
                            s,
                            kind,
                            Action::Altered,
                            Reason::MissingField,
                            format!("items[{i}].total is missing; imported as price × quantity − discount = {t}"),
                        );
                    }
                    t
                }
            };
            let pack = product.and_then(|p| barcode.as_ref().and_then(|b| p.packs.get(b)));
            lines.push(ImportSaleLine {
                id: uid(c.store, "sale_lines", &format!("{}/{i}", s.key)),
                product_id: product.map(|p| p.id),
                name,
                barcode,
                unit_id: pack.map(|p| p.0),
                factor: pack.map(|p| p.1).unwrap_or(1),
                quantity_milli,
                price,
                discount,
                tax_rate: product.map(|p| p.tax_rate).unwrap_or(0),
                tax: 0,
                total,
            });
        }

        // The header, as the legacy system recorded it.
        let line_gross: i64 = lines.iter().map(|l| l.total + l.discount).sum();
        let subtotal = match c.money(s, kind, d, "subtotal", "the lines' sum") {
            Num::Value(v) => v,
            other => {
                if matches!(other, Num::Missing) {
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::MissingField,
                        format!("subtotal is missing; imported as the lines' sum {line_gross}"),
                    );
                }
                line_gross
            }
        };
        let discount = c.money(s, kind, d, "discount", "0").or(0);
        let tax = c.money(s, kind, d, "tax", "0").or(0);
        let total = match c.money(s, kind, d, "total", "subtotal − discount + tax") {
            Num::Value(v) => v,
            _ => {
                let t = subtotal - discount + tax;
                c.entry_with(
                    s,
                    kind,
                    Action::Altered,
                    Reason::MissingField,
                    format!("total is missing or unusable; imported as subtotal − discount + tax = {t}"),
                    Some(t - legacy_total),
                );
                t
            }
        };
        // Line taxes: the sale's tax spread over the lines by their totals (legacy lines had none).
        let weights: Vec<i64> = lines.iter().map(|l| l.total.max(0)).collect();
        if weights.iter().sum::<i64>() > 0 && tax >= 0 {
            for (l, t) in lines.iter_mut().zip(spread(tax, &weights)) {
                l.tax = t;
            }
        } else if let Some(first) = lines.first_mut() {
            first.tax = tax;
        }

        let status = match text(d, "status").map(|t| t.to_ascii_lowercase()).as_deref() {
            Some(st @ ("completed" | "voided" | "refunded" | "partially_refunded")) => st.to_owned(),
            other => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    if other.is_some() { Reason::InvalidField } else { Reason::MissingField },
                    format!(
                        "status {:?} is not completed, voided or refunded; imported as completed",
                        other.unwrap_or("")
                    ),
                );
                "completed".to_owned()
            }
        };
        let customer_id = resolve(c, s, kind, "customerId", customers, "customer");
        let cashier_id = resolve(c, s, kind, "cashierId", users, "user");

        let raw_invoice = text(d, "invoiceNumber");
        let base = match &raw_invoice {
            Some(inv) => inv.clone(),
            None => {
                let inv = format!("LEGACY-{}", s.key);
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::MissingField,
                    format!("invoiceNumber is missing; imported as {inv}"),
                );
                inv
            }
        };
        let mut invoice = base.clone();
        let mut seq = raw_invoice.as_deref().and_then(|inv| split_invoice(inv).1);
        if let Err(holder) = invoices.claim(&invoice, id, || format!("sale {}", s.key)) {
            let mut n = 2;
            loop {
                invoice = format!("{base}-{n}");
                if invoices.claim(&invoice, id, || format!("sale {}", s.key)).is_ok() {
                    break;
                }
                n += 1;
            }
            c.entry(
                s,
                kind,
                Action::Altered,
                Reason::DuplicateInvoice,
                format!("invoice number {base} is {}'s too; imported as {invoice}", holder.what),
            );
            seq = None;
        }
        if let Some(inv) = &raw_invoice {
            let (prefix, number) = split_invoice(inv);
            if number.is_some() {
                *prefixes.entry(prefix.to_owned()).or_default() += 1;
            }
        }
        if let Some(n) = seq {
            c.out.max_invoice_seq = Some(c.out.max_invoice_seq.map_or(n, |m| m.max(n)));
        }
        let sale_paid = paid.get(&id).copied().unwrap_or(0);
        let updated = date(d.get("updatedAt")).unwrap_or(s.created);
        c.out.sales.push(ImportSale {
            id,
            invoice_number: invoice,
            invoice_seq: seq,
            voided_at: (status == "voided").then_some(updated),
            status,
            customer_id,
            cashier_id,
            note: None,
            subtotal,
            discount_total: discount,
            tax_total: tax,
            total,
            paid: sale_paid,
            change: (sale_paid - total).max(0),
            sold_at: s.created,
            created_at: s.created,
            legacy_id: Some(s.key.clone()),
            lines,
        });
    }
    // The commonest prefix; ties go to the alphabetically first, so every run picks the same.
    c.out.invoice_prefix =
        prefixes.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))).map(|(p, _)| p.clone());
}

#[cfg(test)]
mod tests {
    use bson::doc;
    use bson::oid::ObjectId;

    use super::*;

    fn legacy(collection: &str, doc: Document) -> LegacyDoc {
        LegacyDoc { database: "pos1".into(), collection: collection.into(), doc }
    }

    fn oid(n: u8) -> ObjectId {
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&1_700_000_000u32.to_be_bytes());
        b[11] = n;
        ObjectId::from_bytes(b)
    }

    fn input(docs: Vec<(Kind, Document)>) -> StoreInput {
        let mut i = StoreInput::default();
        for (k, d) in docs {
            i.docs.entry(k).or_default().push(legacy(&format!("s1_{}", k.as_str()), d));
        }
        i
    }

    fn store() -> StoreId {
        StoreId::parse("s1").unwrap()
    }

    #[test]
    fn later_duplicate_barcode_loses_it_and_is_inactive() {
        let inp = input(vec![
            (Kind::Products, doc! {"_id": oid(1), "name": "A", "barcode": "111", "price": 1.5}),
            (
                Kind::Products,
                doc! {"_id": oid(2), "name": "B", "barcode": "111", "price": "2.505",
                "units": [{"unitId": oid(9), "name": "Box", "barcode": "111", "factor": 6, "price": 8}]},
            ),
            (
                Kind::Products,
                doc! {"_id": oid(3), "name": "C", "barcode": "333", "price": 1,
                "units": [{"name": "Crate", "barcode": "111", "factor": 12.0}]},
            ),
        ]);
        let out = convert(&store(), 2, &inp, &ExistingKeys::default());
        let a = &out.products[0].draft;
        let b = &out.products[1].draft;
        let c = &out.products[2].draft;
        assert_eq!((a.barcode.as_deref(), a.active, a.price), (Some("111"), true, 150));
        assert_eq!((b.barcode.as_deref(), b.active, b.price), (None, false, 251));
        assert_eq!(b.units.len(), 1, "the pack stays, without the taken barcode");
        assert_eq!(b.units[0].barcode, None);
        assert_eq!(b.units[0].price, Some(800));
        assert_eq!(c.barcode.as_deref(), Some("333"));
        assert!(!c.active, "its pack's barcode is another product's");
        assert_eq!(c.units[0].factor, 12);
        // Two units were created for the packs whose unit is gone.
        assert_eq!(out.units.len(), 2);
        assert!(out.entries.iter().any(|e| e.reason == Reason::DuplicateBarcode));
        assert!(out.entries.iter().any(|e| e.reason == Reason::RoundedValue));
    }

    #[test]
    fn duplicates_keep_their_data() {
        let inp = input(vec![
            (Kind::Customers, doc! {"_id": oid(1), "name": "Ana", "phone": "+49 (30) 1234-56"}),
            (Kind::Customers, doc! {"_id": oid(2), "name": "Ana 2", "phone": "+4930123456"}),
            (Kind::Customers, doc! {"_id": oid(3), "name": "No phone"}),
            (Kind::Brands, doc! {"_id": oid(4), "name": "Acme"}),
            (Kind::Brands, doc! {"_id": oid(5), "name": "ACME"}),
            (Kind::Users, doc! {"_id": oid(6), "email": "A@x.test", "role": "admin", "password": "$2b$04$x"}),
            (Kind::Users, doc! {"_id": oid(7), "email": "a@x.test", "role": "boss", "password": "plain"}),
        ]);
        let out = convert(&store(), 2, &inp, &ExistingKeys::default());
        assert_eq!(out.customers[0].phone, "+4930123456");
        assert!(out.customers[0].deleted_at.is_none());
        assert!(out.customers[1].deleted_at.is_some(), "the later duplicate is kept, deleted");
        assert!(out.customers[2].deleted_at.is_some());
        assert_eq!(out.brands[1].name, "ACME (2)");
        assert_eq!(out.users[0].email, "a@x.test");
        assert!(out.users[0].active);
        assert!(out.users[1].deleted_at.is_some());
        assert_eq!(out.users[1].role, "cashier");
        assert_eq!(out.users[1].password_hash, "!");
    }

    #[test]
    fn sales_keep_numbers_and_resolve_in_the_store() {
        let inp = input(vec![
            (Kind::Products, doc! {"_id": oid(1), "name": "A", "price": 2, "taxRate": 19}),
            (
                Kind::Sales,
                doc! {"_id": oid(2), "invoiceNumber": "S-000120", "customerId": oid(99),
                "items": [{"productId": oid(1), "name": "A", "quantity": 2, "price": 2, "total": 4},
                          {"productId": oid(98), "name": "Gone", "quantity": 1.5, "price": 1}],
                "subtotal": 5.5, "tax": 1.05, "total": 6.55, "status": "completed"},
            ),
            (Kind::Sales, doc! {"_id": oid(3), "invoiceNumber": "S-000120", "total": 1}),
            (Kind::Payments, doc! {"_id": oid(4), "saleId": oid(2), "method": "CASH", "amount": 10}),
            (Kind::Payments, doc! {"_id": oid(5), "saleId": oid(77), "method": "card", "amount": 3}),
        ]);
        let out = convert(&store(), 2, &inp, &ExistingKeys::default());
        let s = &out.sales[0];
        assert_eq!(s.invoice_number, "S-000120");
        assert_eq!(s.invoice_seq, Some(120));
        assert_eq!((s.total, s.tax_total, s.paid, s.change), (655, 105, 1000, 345));
        assert_eq!(s.customer_id, None, "orphan customer");
        assert_eq!(s.lines[0].product_id, Some(out.products[0].id));
        assert_eq!(s.lines[0].tax_rate, 1900);
        assert_eq!(s.lines[1].product_id, None);
        assert_eq!(s.lines[1].total, 150);
        assert_eq!(s.lines.iter().map(|l| l.tax).sum::<i64>(), 105);
        assert_eq!(out.sales[1].invoice_number, "S-000120-2");
        assert_eq!(out.max_invoice_seq, Some(120));
        assert_eq!(out.invoice_prefix.as_deref(), Some("S-"));
        assert_eq!(out.payments.len(), 1);
        assert_eq!(out.payments[0].method, "cash");
        let skipped = out.entries.iter().find(|e| e.action == Action::Skipped).unwrap();
        assert_eq!(skipped.amount_delta, Some(-300));
    }

    #[test]
    fn shared_categories_are_copied_when_used_and_cycles_are_cut() {
        let mut inp = input(vec![
            (Kind::Categories, doc! {"_id": oid(1), "name": "Own", "parentId": oid(2)}),
            (Kind::Categories, doc! {"_id": oid(3), "name": "Loop A", "parentId": oid(4)}),
            (Kind::Categories, doc! {"_id": oid(4), "name": "Loop B", "parentId": oid(3)}),
            (Kind::Products, doc! {"_id": oid(5), "name": "P", "price": 1, "categoryId": oid(6)}),
        ]);
        inp.shared_categories = vec![
            legacy("s0_categories", doc! {"_id": oid(2), "name": "Root", "storeId": Bson::Null}),
            legacy("s0_categories", doc! {"_id": oid(6), "name": "own", "storeId": Bson::Null, "parentId": oid(2)}),
            legacy("s0_categories", doc! {"_id": oid(7), "name": "Unused", "storeId": Bson::Null}),
        ];
        let out = convert(&store(), 2, &inp, &ExistingKeys::default());
        let names: Vec<&str> = out.categories.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(out.categories.len(), 5, "{names:?}");
        assert!(!names.contains(&"Unused"));
        assert!(names.contains(&"own (2)"), "{names:?}");
        // Every parent comes before its children.
        for (i, c) in out.categories.iter().enumerate() {
            if let Some(p) = c.parent_id {
                assert!(out.categories[..i].iter().any(|x| x.id == p), "{names:?}");
            }
        }
        assert!(out.entries.iter().any(|e| e.reason == Reason::ParentCycle));
        assert_eq!(out.used_shared.len(), 2);
    }

    #[test]
    fn a_document_exported_twice_is_imported_once() {
        let sale = doc! {"_id": oid(2), "invoiceNumber": "A-1", "total": 4.5};
        let inp = input(vec![
            (Kind::Sales, sale.clone()),
            (Kind::Sales, sale),
            (Kind::Products, doc! {"_id": oid(1), "name": "A", "barcode": "1", "price": 1}),
            (Kind::Products, doc! {"_id": oid(1), "name": "A", "barcode": "1", "price": 1}),
        ]);
        let out = convert(&store(), 2, &inp, &ExistingKeys::default());
        assert_eq!((out.sales.len(), out.products.len()), (1, 1));
        assert!(out.products[0].draft.active, "not a duplicate of its own barcode");
        let skipped: Vec<_> = out.entries.iter().filter(|e| e.reason == Reason::DuplicateDocument).collect();
        assert_eq!(skipped.len(), 2);
        assert_eq!(skipped.iter().find(|e| e.kind == Some(Kind::Sales)).unwrap().amount_delta, Some(-450));
        assert_eq!(out.skipped.get(&Kind::Sales), Some(&1));
    }

    #[test]
    fn keys_already_in_tills_count_as_taken_unless_ours() {
        let inp = input(vec![(Kind::Products, doc! {"_id": oid(1), "name": "A", "barcode": "111", "price": 1})]);
        let mine = uid(&store(), "products", &oid(1).to_hex());
        let again = ExistingKeys { barcodes: vec![("111".into(), mine)], ..Default::default() };
        assert_eq!(convert(&store(), 2, &inp, &again).products[0].draft.barcode.as_deref(), Some("111"));
        let foreign = ExistingKeys { barcodes: vec![("111".into(), Id::from_u128(7))], ..Default::default() };
        let out = convert(&store(), 2, &inp, &foreign);
        assert_eq!(out.products[0].draft.barcode, None);
        assert!(!out.products[0].draft.active);
    }
}
