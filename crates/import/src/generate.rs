//! Legacy dumps for tests and benchmarks (feature `generate`): the layout and documents
//! LEGACY.md describes, in every export format (mongodump BSON, gzipped BSON, mongoexport
//! relaxed and canonical Extended JSON), with every trap it lists: duplicate barcodes, a pack
//! barcode equal to another product's, duplicate phones, names differing only in case, orphan
//! references, shared categories, money with extra decimals, Decimal128 and string money,
//! missing fields, deleted products, bcrypt passwords. Deterministic: the same spec writes the
//! same bytes; version 1 of a spec is the same stores some days later (see [`Spec::version`]).
//!
//! `cargo run --release -p tills-import --features generate --example legacy_dump -- --help`
//! writes one from the command line.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bson::oid::ObjectId;
use bson::{Bson, Document, doc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How a collection is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    Bson,
    BsonGz,
    Relaxed,
    Canonical,
}

/// Documents per store.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub products: usize,
    pub customers: usize,
    pub sales: usize,
}

pub const SMALL: Scale = Scale { products: 16, customers: 9, sales: 12 };
pub const MEDIUM: Scale = Scale { products: 120, customers: 60, sales: 220 };

/// The twenty legacy stores: five databases of four, prefixes in any case.
pub const PREFIXES: [[&str; 4]; 5] = [
    ["Alpha", "bravo", "CHARLIE", "delta_4"],
    ["Echo", "foxtrot", "Golf_7", "hotel"],
    ["India", "juliet", "KILO", "lima"],
    ["Mike", "november", "Oscar", "papa_16"],
    ["Quebec", "romeo", "Sierra", "tango"],
];

/// `CHARLIE` is mapped to another id and a currency without decimals; `Echo` to EUR.
pub const STORE_MAP: &str = "prefix,storeId,name,currency,timezone,invoicePrefix\n\
                         CHARLIE,charlie-shop,Charlie's Shop,JPY,Asia/Tokyo,C-\n\
                         Echo,echo,\"Echo, the store\",EUR,,\n";

pub fn store_id_of(prefix: &str) -> String {
    match prefix {
        "CHARLIE" => "charlie-shop".into(),
        p => p.to_lowercase(),
    }
}

pub fn decimals_of(prefix: &str) -> u32 {
    if prefix == "CHARLIE" { 0 } else { 2 }
}

/// What the generator put in a store, and what the import must make of it.
#[derive(Debug, Clone)]
pub struct StoreExp {
    pub store_id: String,
    /// The legacy prefix of its collections (`bravo`).
    pub prefix: String,
    /// The legacy invoice prefix (`BRA-`).
    pub legacy_invoice_prefix: String,
    /// The highest legacy invoice number.
    pub max_invoice: i64,
    /// Every legacy user's password (the cashier's, from version 1 on: `cashier_password`).
    pub password: String,
    pub cashier_password: String,
    /// (email, role) of the legacy users that can log in.
    pub users: Vec<(String, String)>,
    /// Legacy user documents of the store (including a duplicate).
    pub user_docs: usize,
    pub products: Vec<ProductExp>,
    pub customers: usize,
    pub sales: usize,
    /// Payments that belong to a sale of the store.
    pub payments: usize,
}

#[derive(Debug, Clone)]
pub struct ProductExp {
    pub legacy_barcode: Option<String>,
    /// The price in minor units after import.
    pub price: i64,
    pub deleted: bool,
}

/// A written dump: `dir/dump/<db>/…` and `dir/stores.csv`.
pub struct Dump {
    pub dir: PathBuf,
    pub databases: usize,
    pub stores: Vec<StoreExp>,
}

impl StoreExp {
    /// The store's documents in the dump: 6 categories, 3 brands, 3 units, an orphan payment,
    /// its users and the rest.
    pub fn documents_of(&self) -> u64 {
        (12 + self.products.len() + self.customers + self.sales + self.payments + 1 + self.user_docs) as u64
    }
}

impl Dump {
    pub fn source(&self) -> PathBuf {
        self.dir.join("dump")
    }
    pub fn store_map(&self) -> PathBuf {
        self.dir.join("stores.csv")
    }
    pub fn store(&self, id: &str) -> &StoreExp {
        self.stores.iter().find(|s| s.store_id == id).expect("a generated store")
    }
    /// Every document in the dump: per store 6 categories, 3 brands, 3 units, an orphan payment
    /// and the rest; per database 3 shared categories, a loose one, a user of no store and a
    /// session.
    pub fn documents(&self) -> u64 {
        self.stores.iter().map(StoreExp::documents_of).sum::<u64>() + (self.databases * 6) as u64
    }
}

/// Deterministic ids and dates: every run of the generator writes the same documents.
pub struct Ids {
    pub counter: u32,
    pub machine: [u8; 5],
}

impl Ids {
    pub fn new() -> Ids {
        Ids { counter: 0, machine: [7; 5] }
    }

    pub fn next(&mut self, secs: u32) -> ObjectId {
        self.counter += 1;
        let c = self.counter.to_be_bytes();
        ObjectId::from_parts(secs, self.machine, [c[1], c[2], c[3]])
    }
}

impl Default for Ids {
    fn default() -> Self {
        Ids::new()
    }
}

pub const EPOCH: u32 = 1_672_531_200; // 2023-01-01

pub fn date(secs: u32) -> Bson {
    Bson::DateTime(bson::DateTime::from_millis(i64::from(secs) * 1000 + 123))
}

/// Money in thousandths of the major unit, written the way legacy code wrote it.
pub fn money(thousandths: i64, style: usize) -> Bson {
    let text = format!(
        "{}{}.{:03}",
        if thousandths < 0 { "-" } else { "" },
        thousandths.abs() / 1000,
        thousandths.abs() % 1000
    );
    let trimmed = text.trim_end_matches('0').trim_end_matches('.').to_owned();
    match style % 4 {
        0 => Bson::Double(trimmed.parse().unwrap_or_default()),
        1 => text.parse().map(Bson::Decimal128).unwrap_or(Bson::String(text)),
        2 => Bson::String(trimmed),
        _ if thousandths % 1000 == 0 => Bson::Int32((thousandths / 1000) as i32),
        _ => Bson::Double(trimmed.parse().unwrap_or_default()),
    }
}

/// round_half_up(thousandths × 10^decimals / 1000).
pub fn minor(thousandths: i64, decimals: u32) -> i64 {
    let scaled = thousandths * 10i64.pow(decimals);
    let (q, r) = (scaled / 1000, scaled % 1000);
    if r.abs() * 2 >= 1000 { q + scaled.signum() } else { q }
}

pub fn write_collection(db_dir: &Path, name: &str, docs: &[Document], fmt: Fmt) -> io::Result<()> {
    std::fs::create_dir_all(db_dir)?;
    match fmt {
        Fmt::Bson | Fmt::BsonGz => {
            let mut bytes = Vec::new();
            for d in docs {
                d.to_writer(&mut bytes).map_err(io::Error::other)?;
            }
            if fmt == Fmt::Bson {
                std::fs::write(db_dir.join(format!("{name}.bson")), bytes)?;
            } else {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&bytes)?;
                std::fs::write(db_dir.join(format!("{name}.bson.gz")), gz.finish()?)?;
            }
            std::fs::write(
                db_dir.join(format!("{name}.metadata.json")),
                format!("{{\"indexes\":[],\"collectionName\":\"{name}\"}}"),
            )
        }
        Fmt::Relaxed | Fmt::Canonical => {
            let mut text = String::new();
            for d in docs {
                let b = Bson::Document(d.clone());
                let v = if fmt == Fmt::Relaxed { b.into_relaxed_extjson() } else { b.into_canonical_extjson() };
                text.push_str(&v.to_string());
                text.push('\n');
            }
            std::fs::write(db_dir.join(format!("{name}.json")), text)
        }
    }
}

/// The format of a database's collections: one per database, the fifth mixed.
pub fn mixed_format(db: usize, collection: &str) -> Fmt {
    match db {
        0 => Fmt::Bson,
        1 => Fmt::BsonGz,
        2 => Fmt::Relaxed,
        3 => Fmt::Canonical,
        _ if collection.ends_with("_products") || collection.ends_with("_sales") => Fmt::Bson,
        _ => Fmt::Relaxed,
    }
}

pub fn barcode(store: usize, p: usize) -> String {
    format!("4{store:02}{p:07}")
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub stores: usize,
    pub databases: usize,
    pub scale: Scale,
    /// Lines per sale, from..=to.
    pub lines: (usize, usize),
    /// 0: the dump of the first (bulk) import. 1: the same stores some days later (a delta):
    /// in every store product 1's price, product 2's name, product 4's barcode and pack (which
    /// frees the barcode product 5 lost to it), product 7 deleted, customer 1's name and 2's
    /// phone, category `Food`, brand `ACME`, unit `kg` renamed, the cashier's password changed,
    /// the manager made admin, the admin deactivated, sale 0 voided, and new sales (at least two)
    /// with their payments; besides, `changed_percent` % of the other products (price) and
    /// customers (name), and as many new sales.
    pub version: u32,
    pub changed_percent: u32,
}

impl Spec {
    /// The twenty trap-laden stores over five databases.
    pub fn twenty(scale: Scale) -> Spec {
        Spec { stores: 20, databases: 5, scale, lines: (1, 3), version: 0, changed_percent: 0 }
    }

    /// The same stores, some days later (version 1).
    pub fn later(self) -> Spec {
        Spec { version: 1, ..self }
    }
}

/// Store `si`'s legacy prefix: the twenty of [`PREFIXES`], then `Shop0020`, `Shop0021`…
pub fn prefix_of(si: usize) -> String {
    if si < 20 { PREFIXES[si / 4][si % 4].to_owned() } else { format!("Shop{si:04}") }
}

/// Whether document `n` of store `si` is among the `percent` % that change (deterministic).
fn picked(si: usize, n: usize, percent: u32) -> bool {
    (si * 7919 + n * 104_729) % 100 < percent as usize
}

/// Writes the dump into `dir` (`dir/dump`, `dir/stores.csv`).
pub fn generate(dir: &Path, spec: &Spec, format: impl Fn(usize, &str) -> Fmt) -> io::Result<Dump> {
    let scale = spec.scale;
    if scale.products < 16 || scale.customers < 9 || scale.sales < 12 || spec.stores == 0 || spec.databases == 0 {
        return Err(io::Error::other("at least 16 products, 9 customers, 12 sales, a store and a database"));
    }
    let (min_lines, max_lines) = (spec.lines.0.max(1), spec.lines.1.max(spec.lines.0.max(1)));
    let v1 = spec.version >= 1;
    let root = dir.join("dump");
    std::fs::create_dir_all(&root)?;
    std::fs::write(dir.join("stores.csv"), STORE_MAP)?;
    let mut ids = Ids::new();
    let mut rng = StdRng::seed_from_u64(7);
    let mut stores = Vec::new();
    let db_of = |si: usize| si * spec.databases / spec.stores;
    for db in 0..spec.databases {
        let in_db: Vec<usize> = (0..spec.stores).filter(|&si| db_of(si) == db).collect();
        let db_dir = root.join(format!("pos{}", db + 1));
        let mut users: Vec<Document> = Vec::new();
        let t = EPOCH + db as u32 * 1000;
        // Shared categories (storeId null) sit in the first store's collection.
        let shared_drinks = ids.next(t);
        let shared_snacks = ids.next(t);
        let shared: Vec<Document> = vec![
            doc! {"_id": shared_drinks, "name": "Shared drinks", "storeId": Bson::Null, "createdAt": date(t)},
            doc! {"_id": shared_snacks, "name": "Shared snacks", "storeId": Bson::Null, "createdAt": date(t)},
            doc! {"_id": ids.next(t), "name": "Shared but unused", "storeId": Bson::Null, "createdAt": date(t)},
        ];
        // A collection without prefix holds one more shared category (mongoexport layouts).
        let loose = ids.next(t);
        write_collection(
            &db_dir,
            "categories",
            &[doc! {"_id": loose, "name": "Loose shared", "createdAt": date(t)}],
            format(db, "categories"),
        )?;
        for (k, &si) in in_db.iter().enumerate() {
            let prefix = prefix_of(si);
            let prefix = prefix.as_str();
            let store_id = store_id_of(prefix);
            let decimals = decimals_of(prefix);
            let t = EPOCH + 86_400 * (si as u32 + 1);
            // When version 1 changed a document.
            let later = date(t + 500_000);
            let inv_prefix = format!("{}-", prefix.to_uppercase().chars().take(3).collect::<String>());
            let col = |kind: &str| format!("{prefix}_{kind}");
            let store_field =
                if k % 2 == 0 { Bson::String(prefix.to_string()) } else { Bson::String(prefix.to_uppercase()) };

            // Categories: names differing in case, a parent, an orphan parent, a shared parent.
            let food = ids.next(t);
            let drinks = ids.next(t + 1);
            let drinks2 = ids.next(t + 2);
            let fresh = ids.next(t + 3);
            let mut cats = if k == 0 { shared.clone() } else { Vec::new() };
            let food_doc = if v1 {
                doc! {"_id": food, "name": "Food & more", "storeId": prefix.to_string(), "createdAt": date(t), "updatedAt": later.clone()}
            } else {
                doc! {"_id": food, "name": "Food", "storeId": prefix.to_string(), "createdAt": date(t)}
            };
            cats.extend([
                food_doc,
                doc! {"_id": drinks, "name": "Drinks", "storeId": prefix.to_string(), "createdAt": date(t + 1)},
                doc! {"_id": drinks2, "name": "drinks ", "createdAt": date(t + 2)},
                doc! {"_id": fresh, "name": "Fresh", "parentId": food, "createdAt": date(t + 3)},
                doc! {"_id": ids.next(t + 4), "name": "Orphaned", "parentId": ids.next(1), "createdAt": date(t + 4)},
                doc! {"_id": ids.next(t + 5), "name": "Crisps", "parentId": shared_snacks, "createdAt": date(t + 5)},
            ]);
            let categories = [food, drinks, drinks2, fresh, shared_drinks, loose];
            write_collection(&db_dir, &col("categories"), &cats, format(db, &col("categories")))?;

            // Brands and units: no storeId (the collection says the store), case duplicates.
            let brands = [ids.next(t), ids.next(t + 1), ids.next(t + 2)];
            write_collection(
                &db_dir,
                &col("brands"),
                &[
                    doc! {"_id": brands[0], "name": if v1 { "ACME Corp" } else { "ACME" }, "createdAt": date(t)},
                    doc! {"_id": brands[1], "name": "Acme", "createdAt": date(t + 1)},
                    doc! {"_id": brands[2], "createdAt": date(t + 2)},
                ],
                format(db, &col("brands")),
            )?;
            let units = [ids.next(t), ids.next(t + 1), ids.next(t + 2)];
            write_collection(
                &db_dir,
                &col("units"),
                &[
                    doc! {"_id": units[0], "name": "pc", "createdAt": date(t)},
                    doc! {"_id": units[1], "name": if v1 { "Kilogram" } else { "kg" }, "createdAt": date(t + 1)},
                    doc! {"_id": units[2], "name": "Crate", "createdAt": date(t + 2)},
                ],
                format(db, &col("units")),
            )?;

            // Products.
            let mut products = Vec::new();
            let mut product_ids = Vec::new();
            let mut exp_products = Vec::new();
            for p in 0..scale.products {
                let id = ids.next(t + 100 + p as u32);
                product_ids.push(id);
                let mut price_th = [12_500, 3_100, 4_990, 2_345, 7_000][p % 5] + (p as i64 / 5) * 1000;
                let changed = v1 && (matches!(p, 1 | 2 | 4 | 7) || (p >= 16 && picked(si, p, spec.changed_percent)));
                if v1 && p == 1 {
                    price_th += 1000;
                } else if changed && p >= 16 {
                    price_th += 10;
                }
                let tax = [Bson::Double(19.0), Bson::Int32(7), Bson::Double(0.0), Bson::Double(7.5)][p % 4].clone();
                let stock = if p % 3 == 0 { Bson::Double(2.5) } else { Bson::Int32(p as i32 * 3) };
                let name =
                    if v1 && p == 2 { format!("{prefix} item {p} (renamed)") } else { format!("{prefix} item {p}") };
                let mut d = doc! {
                    "_id": id,
                    "name": name,
                    "price": money(price_th, p),
                    "taxRate": tax,
                    "categoryId": categories[p % categories.len()],
                    "brandId": brands[p % 3],
                    "unitId": units[p % 2],
                    "stock": stock,
                    "status": "active",
                    "showInQuickProducts": p % 7 == 0,
                    "createdAt": date(t + 100 + p as u32),
                    "updatedAt": if changed { later.clone() } else { date(t + 200 + p as u32) },
                };
                if p % 2 == 0 {
                    d.insert("cost", money(price_th / 2, p + 1));
                }
                let mut code = Some(barcode(si, p));
                let mut price = minor(price_th, decimals);
                let mut deleted = false;
                if p % 4 == 0 && p > 0 {
                    let factor = match (v1 && p == 4, p % 8 == 0) {
                        (true, _) => Bson::Double(12.0),
                        (false, true) => Bson::Int32(6),
                        (false, false) => Bson::Double(6.0),
                    };
                    d.insert(
                        "units",
                        vec![Bson::Document(doc! {
                            "unitId": units[2], "name": "Crate", "barcode": format!("9{}", barcode(si, p)),
                            "price": money(price_th * 6 - 500, p), "factor": factor,
                        })],
                    );
                }
                match p {
                    // A missing name.
                    3 => {
                        d.remove("name");
                    }
                    // Version 1: a new barcode, which frees the old one for product 5.
                    4 if v1 => code = Some(format!("5{}", barcode(si, 4))),
                    // A duplicate barcode: product 4's.
                    5 => code = Some(barcode(si, 4)),
                    // A pack barcode equal to product 2's own.
                    6 => {
                        d.insert(
                            "units",
                            vec![Bson::Document(doc! {"unitId": units[2], "barcode": barcode(si, 2), "factor": 12})],
                        );
                    }
                    // Version 1: deleted.
                    7 if v1 => {
                        d.insert("status", "deleted");
                        deleted = true;
                    }
                    // Money that is not a number, and money that is missing.
                    8 => {
                        d.insert("price", "12,50 EUR");
                        price = 0;
                    }
                    9 => {
                        d.remove("price");
                        price = 0;
                    }
                    // An orphan category; a deleted product; an inactive one.
                    10 => {
                        d.insert("categoryId", ids.next(2));
                    }
                    11 => {
                        d.insert("status", "deleted");
                        deleted = true;
                    }
                    13 => {
                        d.insert("status", "inactive");
                    }
                    // A pack whose unit is gone: the store gets a "Box" unit.
                    12 => {
                        d.insert(
                            "units",
                            vec![Bson::Document(
                                doc! {"unitId": ids.next(3), "name": "Box", "factor": 10, "price": 99.999},
                            )],
                        );
                    }
                    _ => {}
                }
                if let Some(c) = &code {
                    d.insert("barcode", c.clone());
                }
                products.push(d);
                exp_products.push(ProductExp { legacy_barcode: code, price, deleted });
            }
            write_collection(&db_dir, &col("products"), &products, format(db, &col("products")))?;

            // Customers: phones in any format, a duplicate, a missing phone, a missing name.
            let mut customers = Vec::new();
            let mut customer_ids = Vec::new();
            for c in 0..scale.customers {
                let id = ids.next(t + 300 + c as u32);
                customer_ids.push(id);
                let renamed = v1 && (c == 1 || (c >= 9 && picked(si, c, spec.changed_percent)));
                let mut d = doc! {
                    "_id": id,
                    "name": if renamed { format!("Customer {c} (renamed)") } else { format!("Customer {c}") },
                    "phone": format!("+1 (555) {si:03}-{c:04}"),
                    "createdAt": date(t + 300 + c as u32),
                };
                if renamed || (v1 && c == 2) {
                    d.insert("updatedAt", later.clone());
                }
                if c % 2 == 0 {
                    d.insert("email", format!("c{c}@example.test"));
                }
                match c {
                    2 if v1 => {
                        d.insert("phone", format!("+1 (555) {si:03}-9002"));
                    }
                    4 => {
                        d.insert("phone", format!("+1555{si:03}{:04}", 3));
                    }
                    6 => {
                        d.remove("phone");
                    }
                    7 => {
                        d.remove("name");
                    }
                    _ => {}
                }
                customers.push(d);
            }
            write_collection(&db_dir, &col("customers"), &customers, format(db, &col("customers")))?;

            // Users: bcrypt hashes, storeId in any case, a duplicate email.
            let password = format!("legacy secret {store_id}");
            let cashier_password = if v1 { format!("new legacy secret {store_id}") } else { password.clone() };
            // A fixed salt, so that every run of the generator writes the same hash.
            let salt = [(si % 251) as u8; 16];
            let bcrypt = |pw: &str| {
                bcrypt::hash_with_salt(pw, 4, salt)
                    .map(|h| h.format_for_version(bcrypt::Version::TwoB))
                    .map_err(io::Error::other)
            };
            let hash = bcrypt(&password)?;
            let cashier_hash = if v1 { bcrypt(&cashier_password)? } else { hash.clone() };
            let mut user_ids = Vec::new();
            let mut exp_users = Vec::new();
            for (i, role) in ["admin", "manager", "cashier"].iter().enumerate() {
                let id = ids.next(t + 400 + i as u32);
                user_ids.push(id);
                let email = format!("{role}@{store_id}.legacy");
                let mut d = doc! {
                    "_id": id, "storeId": store_field.clone(), "email": email.clone(), "name": format!("{prefix} {role}"),
                    "role": role.to_string(), "password": hash.clone(), "active": true, "createdAt": date(t + 400 + i as u32),
                };
                if v1 {
                    match *role {
                        "admin" => d.insert("active", false),
                        "manager" => d.insert("role", "admin"),
                        _ => d.insert("password", cashier_hash.clone()),
                    };
                    d.insert("updatedAt", later.clone());
                }
                users.push(d);
                exp_users.push((email, role.to_string()));
            }
            let mut user_docs = 3;
            if k == 1 {
                users.push(doc! {
                    "_id": ids.next(t + 450), "storeId": prefix.to_string(), "email": format!("ADMIN@{store_id}.legacy"),
                    "role": "admin", "password": hash.clone(), "createdAt": date(t + 450),
                });
                user_docs += 1;
            }
            if k == 2 {
                // A password the legacy system kept in clear: imported inactive, without it.
                users.push(doc! {
                    "_id": ids.next(t + 451), "storeId": prefix.to_string(), "email": format!("nopass@{store_id}.legacy"),
                    "role": "cashier", "password": "secret123", "createdAt": date(t + 451),
                });
                user_docs += 1;
            }

            // Sales and payments.
            let mut sales = Vec::new();
            let mut payments = Vec::new();
            // Version 1's new sales take ids and prices of their own, so that every document of
            // version 0 stays as it was.
            let new_sales = if v1 { (scale.sales * spec.changed_percent as usize / 100).max(2) } else { 0 };
            let mut new_ids = Ids { counter: 0, machine: [8, 8, 8, (si >> 8) as u8, si as u8] };
            let mut new_rng = StdRng::seed_from_u64(1000 + si as u64);
            for s in 0..scale.sales + new_sales {
                let fresh = s >= scale.sales;
                let when = t + 1000 + s as u32;
                let id = if fresh { new_ids.next(when) } else { ids.next(when) };
                let rng = if fresh { &mut new_rng } else { &mut rng };
                let mut items = Vec::new();
                let mut subtotal = 0i64; // thousandths
                for line in 0..(min_lines + s % (max_lines - min_lines + 1)) {
                    let p = (s * 7 + line * 3) % scale.products;
                    let qty_th: i64 = if s % 4 == 1 { 500 } else { 1000 * (1 + line as i64) };
                    let price_th = 1000 * rng.random_range(1..40) + 500 * (s as i64 % 2);
                    let total_th = price_th * qty_th / 1000;
                    subtotal += total_th;
                    let product = if s == 9 && line == 0 { ids.next(4) } else { product_ids[p] };
                    items.push(Bson::Document(doc! {
                        "productId": product, "name": format!("{prefix} item {p}"), "barcode": barcode(si, p),
                        "quantity": if qty_th % 1000 == 0 { Bson::Int32((qty_th / 1000) as i32) } else { Bson::Double(0.5) },
                        "price": money(price_th, s), "discount": 0, "total": money(total_th, s + line),
                    }));
                }
                // Tax at 10 %, in cents.
                let tax_th = (subtotal / 100) * 10;
                let total_th = subtotal + tax_th;
                let invoice =
                    if s == 5 { format!("{inv_prefix}{:06}", 5) } else { format!("{inv_prefix}{:06}", s + 1) };
                let status = match (s, s % 10) {
                    (0, _) if v1 => "voided",
                    (_, 3) if !fresh => "voided",
                    (_, 6) if !fresh => "refunded",
                    _ => "completed",
                };
                let mut d = doc! {
                    "_id": id,
                    "invoiceNumber": invoice,
                    "items": items,
                    "subtotal": money(subtotal, 0),
                    "discount": 0,
                    "tax": money(tax_th, 0),
                    "total": money(total_th, s),
                    "customerId": customer_ids[s % scale.customers],
                    "cashierId": user_ids[s % 3],
                    "status": status,
                    "createdAt": date(when),
                };
                if v1 && s == 0 {
                    d.insert("updatedAt", later.clone());
                }
                match s {
                    7 => {
                        d.remove("total");
                    }
                    8 => {
                        d.insert("status", "lost");
                    }
                    9 => {
                        d.insert("customerId", ids.next(5));
                    }
                    _ => {}
                }
                sales.push(d);
                let method = if s % 2 == 0 { "CASH" } else { "cash" };
                let mut pay_id = || if fresh { new_ids.next(when) } else { ids.next(when) };
                if s % 3 == 0 && !fresh {
                    let card = total_th / 2000 * 1000;
                    payments.push(doc! {"_id": pay_id(), "saleId": id, "method": "Card",
                    "amount": money(card, s), "createdAt": date(when)});
                    payments.push(doc! {"_id": pay_id(), "saleId": id, "method": method,
                    "amount": money(total_th - card, s + 1), "createdAt": date(when)});
                } else {
                    let m = if s == 1 { "Cheque" } else { method };
                    let mut pay = doc! {"_id": pay_id(), "saleId": id, "method": m,
                    "amount": money(total_th, s), "createdAt": date(when)};
                    if s == 10 {
                        pay.remove("method");
                    }
                    payments.push(pay);
                }
            }
            let importable_payments = payments.len();
            // A payment whose sale is gone.
            payments.push(doc! {"_id": ids.next(t + 2000), "saleId": ids.next(6), "method": "cash", "amount": 5.0,
            "createdAt": date(t + 2000)});
            write_collection(&db_dir, &col("sales"), &sales, format(db, &col("sales")))?;
            write_collection(&db_dir, &col("payments"), &payments, format(db, &col("payments")))?;

            stores.push(StoreExp {
                store_id,
                prefix: prefix.to_owned(),
                legacy_invoice_prefix: inv_prefix,
                max_invoice: (scale.sales + new_sales) as i64,
                password,
                cashier_password,
                users: exp_users,
                user_docs,
                products: exp_products,
                customers: scale.customers,
                sales: scale.sales + new_sales,
                payments: importable_payments,
            });
        }
        // A user of a store that is not in this database.
        users.push(doc! {"_id": ids.next(t), "storeId": "ghost", "email": "who@ghost.legacy", "role": "admin",
        "password": "$2b$04$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBri", "createdAt": date(t)});
        write_collection(&db_dir, "users", &users, format(db, "users"))?;
        // Something the importer does not know.
        write_collection(&db_dir, "sessions", &[doc! {"_id": ids.next(t), "token": "x"}], format(db, "sessions"))?;
    }
    Ok(Dump { dir: dir.to_path_buf(), databases: spec.databases, stores })
}
