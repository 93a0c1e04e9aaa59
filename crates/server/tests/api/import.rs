//! The legacy importer (issue 7) end to end, on both backends.
//!
//! A generator below writes realistic legacy dumps — five databases, twenty stores, in every
//! export format (mongodump BSON, gzipped BSON, mongoexport relaxed and canonical Extended
//! JSON) — with every trap LEGACY.md lists: duplicate barcodes, a pack barcode equal to another
//! product's, duplicate phones, names differing only in case, orphan references, shared
//! categories, money with extra decimals, Decimal128 and string money, missing fields, deleted
//! products, bcrypt passwords. The tests import them and check what a user would notice: counts,
//! prices in minor units, legacy logins, invoice numbers, idempotent and resumable runs (also
//! after `kill -9` of the real `tills` process), and that one store never sees another's data.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::oid::ObjectId;
use bson::{Bson, Document, doc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};
use tills_domain::StoreId;
use tills_server::import::report::Reason;
use tills_server::import::{self, ImportLegacyArgs};
use tills_storage::{PoolConfig, Store};
use tills_testkit::{Backend, TempDir, TestDb};

use crate::helpers::TestApp;

// ---------------------------------------------------------------------------------------------
// The generator.

/// How a collection is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Bson,
    BsonGz,
    Relaxed,
    Canonical,
}

/// Documents per store.
#[derive(Debug, Clone, Copy)]
struct Scale {
    products: usize,
    customers: usize,
    sales: usize,
}

const SMALL: Scale = Scale { products: 16, customers: 9, sales: 12 };
const MEDIUM: Scale = Scale { products: 120, customers: 60, sales: 220 };

/// The twenty legacy stores: five databases of four, prefixes in any case.
const PREFIXES: [[&str; 4]; 5] = [
    ["Alpha", "bravo", "CHARLIE", "delta_4"],
    ["Echo", "foxtrot", "Golf_7", "hotel"],
    ["India", "juliet", "KILO", "lima"],
    ["Mike", "november", "Oscar", "papa_16"],
    ["Quebec", "romeo", "Sierra", "tango"],
];

/// `CHARLIE` is mapped to another id and a currency without decimals; `Echo` to EUR.
const STORE_MAP: &str = "prefix,storeId,name,currency,timezone,invoicePrefix\n\
                         CHARLIE,charlie-shop,Charlie's Shop,JPY,Asia/Tokyo,C-\n\
                         Echo,echo,\"Echo, the store\",EUR,,\n";

fn store_id_of(prefix: &str) -> String {
    match prefix {
        "CHARLIE" => "charlie-shop".into(),
        p => p.to_lowercase(),
    }
}

fn decimals_of(prefix: &str) -> u32 {
    if prefix == "CHARLIE" { 0 } else { 2 }
}

/// What the generator put in a store, and what the import must make of it.
#[derive(Debug, Clone)]
struct StoreExp {
    store_id: String,
    /// The legacy invoice prefix (`BRA-`).
    legacy_invoice_prefix: String,
    /// The highest legacy invoice number.
    max_invoice: i64,
    password: String,
    /// (email, role) of the legacy users that can log in.
    users: Vec<(String, String)>,
    /// Legacy user documents of the store (including a duplicate).
    user_docs: usize,
    products: Vec<ProductExp>,
    customers: usize,
    sales: usize,
    /// Payments that belong to a sale of the store.
    payments: usize,
}

#[derive(Debug, Clone)]
struct ProductExp {
    legacy_barcode: Option<String>,
    /// The price in minor units after import.
    price: i64,
    deleted: bool,
}

struct Dump {
    dir: TempDir,
    stores: Vec<StoreExp>,
}

impl Dump {
    fn source(&self) -> PathBuf {
        self.dir.path.join("dump")
    }
    fn store_map(&self) -> PathBuf {
        self.dir.path.join("stores.csv")
    }
    fn store(&self, id: &str) -> &StoreExp {
        self.stores.iter().find(|s| s.store_id == id).expect("a generated store")
    }
    /// Every document in the dump: per store 6 categories, 3 brands, 3 units, an orphan payment
    /// and the rest; per database 3 shared categories, a loose one, a user of no store and a
    /// session.
    fn documents(&self) -> u64 {
        let stores: usize = self
            .stores
            .iter()
            .map(|s| 12 + s.products.len() + s.customers + s.sales + s.payments + 1 + s.user_docs)
            .sum();
        (stores + 5 * 6) as u64
    }
}

/// Deterministic ids and dates: every run of the generator writes the same documents.
struct Ids {
    counter: u32,
}

impl Ids {
    fn next(&mut self, secs: u32) -> ObjectId {
        self.counter += 1;
        let c = self.counter.to_be_bytes();
        ObjectId::from_parts(secs, [7, 7, 7, 7, 7], [c[1], c[2], c[3]])
    }
}

const EPOCH: u32 = 1_672_531_200; // 2023-01-01

fn date(secs: u32) -> Bson {
    Bson::DateTime(bson::DateTime::from_millis(i64::from(secs) * 1000 + 123))
}

/// Money in thousandths of the major unit, written the way legacy code wrote it.
fn money(thousandths: i64, style: usize) -> Bson {
    let text = format!(
        "{}{}.{:03}",
        if thousandths < 0 { "-" } else { "" },
        thousandths.abs() / 1000,
        thousandths.abs() % 1000
    );
    let trimmed = text.trim_end_matches('0').trim_end_matches('.').to_owned();
    match style % 4 {
        0 => Bson::Double(trimmed.parse().unwrap()),
        1 => Bson::Decimal128(text.parse().unwrap()),
        2 => Bson::String(trimmed),
        _ if thousandths % 1000 == 0 => Bson::Int32((thousandths / 1000) as i32),
        _ => Bson::Double(trimmed.parse().unwrap()),
    }
}

/// round_half_up(thousandths × 10^decimals / 1000).
fn minor(thousandths: i64, decimals: u32) -> i64 {
    let scaled = thousandths * 10i64.pow(decimals);
    let (q, r) = (scaled / 1000, scaled % 1000);
    if r.abs() * 2 >= 1000 { q + scaled.signum() } else { q }
}

fn write_collection(db_dir: &Path, name: &str, docs: &[Document], fmt: Fmt) {
    std::fs::create_dir_all(db_dir).unwrap();
    match fmt {
        Fmt::Bson | Fmt::BsonGz => {
            let mut bytes = Vec::new();
            for d in docs {
                d.to_writer(&mut bytes).unwrap();
            }
            if fmt == Fmt::Bson {
                std::fs::write(db_dir.join(format!("{name}.bson")), bytes).unwrap();
            } else {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut gz, &bytes).unwrap();
                std::fs::write(db_dir.join(format!("{name}.bson.gz")), gz.finish().unwrap()).unwrap();
            }
            std::fs::write(
                db_dir.join(format!("{name}.metadata.json")),
                format!("{{\"indexes\":[],\"collectionName\":\"{name}\"}}"),
            )
            .unwrap();
        }
        Fmt::Relaxed | Fmt::Canonical => {
            let mut text = String::new();
            for d in docs {
                let b = Bson::Document(d.clone());
                let v = if fmt == Fmt::Relaxed { b.into_relaxed_extjson() } else { b.into_canonical_extjson() };
                text.push_str(&v.to_string());
                text.push('\n');
            }
            std::fs::write(db_dir.join(format!("{name}.json")), text).unwrap();
        }
    }
}

/// The format of a database's collections: one per database, the fifth mixed.
fn mixed_format(db: usize, collection: &str) -> Fmt {
    match db {
        0 => Fmt::Bson,
        1 => Fmt::BsonGz,
        2 => Fmt::Relaxed,
        3 => Fmt::Canonical,
        _ if collection.ends_with("_products") || collection.ends_with("_sales") => Fmt::Bson,
        _ => Fmt::Relaxed,
    }
}

fn barcode(store: usize, p: usize) -> String {
    format!("4{store:02}{p:07}")
}

fn generate(scale: Scale, format: impl Fn(usize, &str) -> Fmt) -> Dump {
    assert!(scale.products >= 16 && scale.customers >= 9 && scale.sales >= 12);
    let dir = TempDir::new();
    let root = dir.path.join("dump");
    std::fs::write(dir.path.join("stores.csv"), STORE_MAP).unwrap();
    let mut ids = Ids { counter: 0 };
    let mut rng = StdRng::seed_from_u64(7);
    let mut stores = Vec::new();
    for (db, prefixes) in PREFIXES.iter().enumerate() {
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
        );
        for (k, prefix) in prefixes.iter().enumerate() {
            let si = db * 4 + k;
            let store_id = store_id_of(prefix);
            let decimals = decimals_of(prefix);
            let t = EPOCH + 86_400 * (si as u32 + 1);
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
            cats.extend([
                doc! {"_id": food, "name": "Food", "storeId": prefix.to_string(), "createdAt": date(t)},
                doc! {"_id": drinks, "name": "Drinks", "storeId": prefix.to_string(), "createdAt": date(t + 1)},
                doc! {"_id": drinks2, "name": "drinks ", "createdAt": date(t + 2)},
                doc! {"_id": fresh, "name": "Fresh", "parentId": food, "createdAt": date(t + 3)},
                doc! {"_id": ids.next(t + 4), "name": "Orphaned", "parentId": ids.next(1), "createdAt": date(t + 4)},
                doc! {"_id": ids.next(t + 5), "name": "Crisps", "parentId": shared_snacks, "createdAt": date(t + 5)},
            ]);
            let categories = [food, drinks, drinks2, fresh, shared_drinks, loose];
            write_collection(&db_dir, &col("categories"), &cats, format(db, &col("categories")));

            // Brands and units: no storeId (the collection says the store), case duplicates.
            let brands = [ids.next(t), ids.next(t + 1), ids.next(t + 2)];
            write_collection(
                &db_dir,
                &col("brands"),
                &[
                    doc! {"_id": brands[0], "name": "ACME", "createdAt": date(t)},
                    doc! {"_id": brands[1], "name": "Acme", "createdAt": date(t + 1)},
                    doc! {"_id": brands[2], "createdAt": date(t + 2)},
                ],
                format(db, &col("brands")),
            );
            let units = [ids.next(t), ids.next(t + 1), ids.next(t + 2)];
            write_collection(
                &db_dir,
                &col("units"),
                &[
                    doc! {"_id": units[0], "name": "pc", "createdAt": date(t)},
                    doc! {"_id": units[1], "name": "kg", "createdAt": date(t + 1)},
                    doc! {"_id": units[2], "name": "Crate", "createdAt": date(t + 2)},
                ],
                format(db, &col("units")),
            );

            // Products.
            let mut products = Vec::new();
            let mut product_ids = Vec::new();
            let mut exp_products = Vec::new();
            for p in 0..scale.products {
                let id = ids.next(t + 100 + p as u32);
                product_ids.push(id);
                let price_th = [12_500, 3_100, 4_990, 2_345, 7_000][p % 5] + (p as i64 / 5) * 1000;
                let tax = [Bson::Double(19.0), Bson::Int32(7), Bson::Double(0.0), Bson::Double(7.5)][p % 4].clone();
                let stock = if p % 3 == 0 { Bson::Double(2.5) } else { Bson::Int32(p as i32 * 3) };
                let mut d = doc! {
                    "_id": id,
                    "name": format!("{prefix} item {p}"),
                    "price": money(price_th, p),
                    "taxRate": tax,
                    "categoryId": categories[p % categories.len()],
                    "brandId": brands[p % 3],
                    "unitId": units[p % 2],
                    "stock": stock,
                    "status": "active",
                    "showInQuickProducts": p % 7 == 0,
                    "createdAt": date(t + 100 + p as u32),
                    "updatedAt": date(t + 200 + p as u32),
                };
                if p % 2 == 0 {
                    d.insert("cost", money(price_th / 2, p + 1));
                }
                let mut code = Some(barcode(si, p));
                let mut price = minor(price_th, decimals);
                let mut deleted = false;
                if p % 4 == 0 && p > 0 {
                    let factor = if p % 8 == 0 { Bson::Int32(6) } else { Bson::Double(6.0) };
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
                    // A duplicate barcode: product 4's.
                    5 => code = Some(barcode(si, 4)),
                    // A pack barcode equal to product 2's own.
                    6 => {
                        d.insert(
                            "units",
                            vec![Bson::Document(doc! {"unitId": units[2], "barcode": barcode(si, 2), "factor": 12})],
                        );
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
            write_collection(&db_dir, &col("products"), &products, format(db, &col("products")));

            // Customers: phones in any format, a duplicate, a missing phone, a missing name.
            let mut customers = Vec::new();
            let mut customer_ids = Vec::new();
            for c in 0..scale.customers {
                let id = ids.next(t + 300 + c as u32);
                customer_ids.push(id);
                let mut d = doc! {
                    "_id": id,
                    "name": format!("Customer {c}"),
                    "phone": format!("+1 (555) {si:03}-{c:04}"),
                    "createdAt": date(t + 300 + c as u32),
                };
                if c % 2 == 0 {
                    d.insert("email", format!("c{c}@example.test"));
                }
                match c {
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
            write_collection(&db_dir, &col("customers"), &customers, format(db, &col("customers")));

            // Users: bcrypt hashes, storeId in any case, a duplicate email.
            let password = format!("legacy secret {store_id}");
            // A fixed salt, so that every run of the generator writes the same hash.
            let hash =
                bcrypt::hash_with_salt(&password, 4, [si as u8; 16]).unwrap().format_for_version(bcrypt::Version::TwoB);
            let mut user_ids = Vec::new();
            let mut exp_users = Vec::new();
            for (i, role) in ["admin", "manager", "cashier"].iter().enumerate() {
                let id = ids.next(t + 400 + i as u32);
                user_ids.push(id);
                let email = format!("{role}@{store_id}.legacy");
                users.push(doc! {
                    "_id": id, "storeId": store_field.clone(), "email": email.clone(), "name": format!("{prefix} {role}"),
                    "role": role.to_string(), "password": hash.clone(), "active": true, "createdAt": date(t + 400 + i as u32),
                });
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
            for s in 0..scale.sales {
                let id = ids.next(t + 1000 + s as u32);
                let mut items = Vec::new();
                let mut subtotal = 0i64; // thousandths
                for line in 0..(1 + s % 3) {
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
                    "status": match s % 10 { 3 => "voided", 6 => "refunded", _ => "completed" },
                    "createdAt": date(t + 1000 + s as u32),
                };
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
                if s % 3 == 0 {
                    let card = total_th / 2000 * 1000;
                    payments.push(doc! {"_id": ids.next(t + 1000 + s as u32), "saleId": id, "method": "Card",
                    "amount": money(card, s), "createdAt": date(t + 1000 + s as u32)});
                    payments.push(doc! {"_id": ids.next(t + 1000 + s as u32), "saleId": id, "method": method,
                    "amount": money(total_th - card, s + 1), "createdAt": date(t + 1000 + s as u32)});
                } else {
                    let m = if s == 1 { "Cheque" } else { method };
                    let mut pay = doc! {"_id": ids.next(t + 1000 + s as u32), "saleId": id, "method": m,
                    "amount": money(total_th, s), "createdAt": date(t + 1000 + s as u32)};
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
            write_collection(&db_dir, &col("sales"), &sales, format(db, &col("sales")));
            write_collection(&db_dir, &col("payments"), &payments, format(db, &col("payments")));

            stores.push(StoreExp {
                store_id,
                legacy_invoice_prefix: inv_prefix,
                max_invoice: scale.sales as i64,
                password,
                users: exp_users,
                user_docs,
                products: exp_products,
                customers: scale.customers,
                sales: scale.sales,
                payments: importable_payments,
            });
        }
        // A user of a store that is not in this database.
        users.push(doc! {"_id": ids.next(t), "storeId": "ghost", "email": "who@ghost.legacy", "role": "admin",
        "password": "$2b$04$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBri", "createdAt": date(t)});
        write_collection(&db_dir, "users", &users, format(db, "users"));
        // Something the importer does not know.
        write_collection(&db_dir, "sessions", &[doc! {"_id": ids.next(t), "token": "x"}], format(db, "sessions"));
    }
    Dump { dir, stores }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn args(dump: &Dump, report: &str) -> ImportLegacyArgs {
    ImportLegacyArgs {
        store_map: Some(dump.store_map()),
        create_stores: true,
        verify: true,
        report: Some(dump.dir.path.join(report)),
        batch_size: 50,
        ..ImportLegacyArgs::new(dump.source())
    }
}

fn sid(s: &str) -> StoreId {
    StoreId::parse(s).unwrap()
}

/// Every table's rows, as (count, digest): equal snapshots mean equal databases. Only the
/// stores' own timestamps (the time of the run) are left out.
/// Which columns a snapshot compares: not when a store was written, nor how many statements
/// changed a catalog (a catalog's version counts statements, which a resumed run splits
/// differently; that the row exists is compared).
fn compared(table: &str, column: &str) -> bool {
    !(table == "stores" && (column == "created_at" || column == "updated_at"))
        && !(table == "catalog_versions" && column == "version")
}

async fn snapshot(db: &TestDb) -> BTreeMap<String, (i64, String)> {
    let mut out = BTreeMap::new();
    match db.backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
                 AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY 1",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for t in tables {
                let cols: Vec<String> = sqlx::query_scalar(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' \
                     AND table_name = $1 ORDER BY ordinal_position",
                )
                .bind(&t)
                .fetch_all(&mut conn)
                .await
                .unwrap();
                let cols: Vec<String> =
                    cols.into_iter().filter(|c| compared(&t, c)).map(|c| format!("quote_nullable(\"{c}\")")).collect();
                let sql = format!(
                    "SELECT count(*), md5(coalesce(string_agg(l, '|' ORDER BY l), '')) \
                     FROM (SELECT concat_ws(',', {}) AS l FROM \"{t}\") x",
                    cols.join(", ")
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut conn).await.unwrap();
                out.insert(t, (row.get::<i64, _>(0), row.get::<String, _>(1)));
            }
        }
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name <> '_sqlx_migrations' ORDER BY 1",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for t in tables {
                let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                    .bind(&t)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                let cols: Vec<String> =
                    cols.into_iter().filter(|c| compared(&t, c)).map(|c| format!("quote(\"{c}\")")).collect();
                let sql = format!("SELECT {} FROM \"{t}\"", cols.join(" || ',' || "));
                let mut rows: Vec<String> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap();
                rows.sort();
                let digest = hex::encode(Sha256::digest(rows.join("|").as_bytes()));
                out.insert(t, (rows.len() as i64, digest));
            }
        }
    }
    out
}

/// What the database holds of the imported stores: every legacy document accounted for.
async fn assert_counts(store: &Arc<dyn Store>, dump: &Dump) {
    for s in &dump.stores {
        let t = store.imported_totals(&sid(&s.store_id)).await.unwrap();
        assert_eq!(t.products, s.products.len() as i64, "{}: products, deleted ones included", s.store_id);
        assert_eq!(t.customers, s.customers as i64, "{}: customers, duplicates kept", s.store_id);
        assert_eq!(t.users, s.user_docs as i64, "{}: users", s.store_id);
        assert_eq!(t.sales, s.sales as i64, "{}: sales", s.store_id);
        assert_eq!(t.payments, s.payments as i64, "{}: payments but the orphan", s.store_id);
        assert_eq!(t.brands, 3, "{}: brands", s.store_id);
        assert_eq!(t.units, 3, "{}: units with a legacy id", s.store_id);
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

fn scan(code: String) -> String {
    format!("/api/v1/products/barcode/{code}")
}

async fn imports_every_trap(app: TestApp) {
    let platform = app.platform_token().await;
    // One store already lives in Tills, with a product holding a legacy barcode.
    let alpha_admin = app.create_store(&platform, "alpha").await;
    app.post("/api/v1/products", &alpha_admin, json!({"name": "Tills-made", "barcode": barcode(0, 0), "price": 100}))
        .await
        .expect(201);

    let dump = generate(SMALL, mixed_format);
    let out = import::run(app.store.clone(), &args(&dump, "first.json"), false).await.unwrap();
    let verify = out.report.verify.as_ref().unwrap();
    assert_eq!(out.verified, Some(true), "\n{}", tills_server::import::report::verify_table(verify));
    assert_eq!(verify.len(), 20 * 10, "ten figures for each of the twenty stores");
    assert!(out.report.documents_per_second > 0.0);
    assert_eq!(out.report.documents, dump.documents(), "every document of the dump counted");
    assert_counts(&app.store, &dump).await;

    // Every trap is in the report, with its reason; the report file is the same JSON.
    let reasons: Vec<Reason> = out.report.entries.iter().map(|e| e.reason).collect();
    for r in [
        Reason::DuplicateBarcode,
        Reason::DuplicatePhone,
        Reason::DuplicateEmail,
        Reason::DuplicateName,
        Reason::DuplicateInvoice,
        Reason::OrphanReference,
        Reason::MissingField,
        Reason::InvalidField,
        Reason::RoundedValue,
        Reason::DeletedProduct,
        Reason::SharedCategory,
        Reason::UnusedSharedCategory,
        Reason::UnknownStore,
        Reason::UnknownCollection,
        Reason::NoPassword,
    ] {
        assert!(reasons.contains(&r), "the report lists {r:?}");
    }
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dump.dir.path.join("first.json")).unwrap()).unwrap();
    assert_eq!(file["entries"].as_array().unwrap().len(), out.report.entries.len());
    assert!(
        file["entries"].as_array().unwrap().iter().any(|e| e["reason"] == "duplicate_barcode"
            && e["store"] == "bravo"
            && e["detail"].as_str().unwrap().contains(&barcode(1, 4))),
        "the taken barcode is in the report"
    );
    let stores: Vec<&str> = out.report.stores.iter().map(|s| s.store_id.as_str()).collect();
    assert_eq!(stores.len(), 20);
    assert!(out.report.stores_without_admin.is_empty(), "every generated store has a legacy admin");
    assert!(out.report.stores.iter().filter(|s| s.created).count() == 19, "alpha existed already");

    // Legacy users log in with their old password, which is then rehashed to argon2id.
    let bravo = dump.store("bravo");
    let cashier = app.login(Some("bravo"), &bravo.users[2].0, &bravo.password).await;
    let user = app
        .store
        .find_user_by_email(&sid("bravo"), &tills_domain::Email::parse(&bravo.users[2].0).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"), "rehashed on the first login");
    app.login(Some("bravo"), &bravo.users[2].0, &bravo.password).await;
    // Bravo's users carry `storeId: "BRAVO"`; the later ADMIN@bravo.legacy is kept deleted and
    // the first admin logs in.
    let admin = app.login(Some("bravo"), "ADMIN@bravo.legacy", &bravo.password).await;
    let users = app.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(users["items"].as_array().unwrap().len(), 3, "{users}");

    let charlie = dump.store("charlie-shop");
    let charlie_cashier = app.login(Some("charlie-shop"), &charlie.users[2].0, &charlie.password).await;

    // Prices in minor units, as the legacy money said (double, Decimal128, string, rounded).
    let p1 = app.get(&scan(barcode(1, 1)), &cashier).await.expect(200);
    assert_eq!(p1["product"]["price"], 310, "Decimal128 3.10");
    assert_eq!(p1["product"]["storeId"], "bravo");
    assert_eq!(app.get(&scan(barcode(1, 2)), &cashier).await.expect(200)["product"]["price"], 499, "string 4.99");
    assert_eq!(app.get(&scan(barcode(1, 0)), &cashier).await.expect(200)["product"]["price"], 1250, "double 12.5");
    assert_eq!(app.get(&scan(barcode(1, 4)), &cashier).await.expect(200)["product"]["price"], 700, "int 7");
    let rounded = app.get(&scan(barcode(1, 3)), &cashier).await.expect(200);
    assert_eq!(rounded["product"]["price"], 235, "2.345 rounds half up to 2.35");
    assert_eq!(rounded["product"]["price"], bravo.products[3].price);
    assert_eq!(rounded["product"]["taxRate"], 750, "7.5 % is 750 basis points");
    assert!(rounded["product"]["name"].as_str().unwrap().starts_with("Product "), "a missing name: a placeholder");
    // Every product, by its legacy barcode: its price in minor units (the later duplicate's
    // barcode names the first product; a deleted product's names none).
    for (store, token) in [("bravo", &cashier), ("charlie-shop", &charlie_cashier)] {
        for (p, exp) in dump.store(store).products.iter().enumerate() {
            let Some(code) = &exp.legacy_barcode else { continue };
            let res = app.get(&scan(code.clone()), token).await;
            if exp.deleted {
                res.expect_error(404, "not_found");
            } else if p != 5 {
                let body = res.expect(200);
                assert_eq!(body["product"]["price"], exp.price, "{store} product {p}");
            }
        }
    }
    // A pack scans as its pack, with its factor.
    let pack = app.get(&scan(format!("9{}", barcode(1, 4))), &cashier).await.expect(200);
    assert_eq!(pack["unit"]["factor"], 6);
    assert_eq!(pack["product"]["price"], 700);
    // The later duplicate barcode went to the first product; the second is inactive, without it.
    let dup = app.get(&scan(barcode(1, 4)), &cashier).await.expect(200);
    assert_eq!(dup["product"]["name"], "bravo item 4");
    // The deleted product is gone, and its barcode with it.
    app.get(&scan(barcode(1, 11)), &cashier).await.expect_error(404, "not_found");
    // The JPY store rounds to whole yen.
    let yen = app.get(&scan(barcode(2, 0)), &charlie_cashier).await.expect(200);
    assert_eq!(yen["product"]["price"], 13, "12.5 → 13 yen");
    assert_eq!(app.get("/api/v1/store", &charlie_cashier).await.expect(200)["currency"], "JPY");
    assert_eq!(app.get("/api/v1/store", &charlie_cashier).await.expect(200)["timezone"], "Asia/Tokyo");
    // Alpha's own product kept its barcode; the legacy one lost it and is inactive.
    let alpha = dump.store("alpha");
    let alpha_cashier = app.login(Some("alpha"), &alpha.users[2].0, &alpha.password).await;
    assert_eq!(app.get(&scan(barcode(0, 0)), &alpha_cashier).await.expect(200)["product"]["name"], "Tills-made");
    let listed = app.get("/api/v1/products?status=inactive&limit=200", &alpha_cashier).await.expect(200);
    assert!(listed["items"].as_array().unwrap().iter().any(|p| p["name"] == "Alpha item 0"), "{listed}");

    // Invoice numbers are kept, and new sales continue after the highest.
    let old =
        app.get(&format!("/api/v1/sales/invoice/{}000004", bravo.legacy_invoice_prefix), &cashier).await.expect(200);
    assert_eq!(old["status"], "voided");
    app.get(&format!("/api/v1/sales/invoice/{}000005-2", bravo.legacy_invoice_prefix), &cashier).await.expect(200);
    let product_id = p1["product"]["id"].clone();
    let sale = |pid: serde_json::Value| json!({"lines": [{"productId": pid, "quantity": 1}], "payments": [{"method": "cash", "amount": 100_000}]});
    let next = app.post("/api/v1/sales", &cashier, sale(product_id.clone())).await.expect(201);
    assert_eq!(
        next["invoiceNumber"],
        format!("{}{:06}", bravo.legacy_invoice_prefix, bravo.max_invoice + 1),
        "a created store takes its legacy prefix, and its counter continues"
    );
    let alpha_product = app.get(&scan(barcode(0, 1)), &alpha_cashier).await.expect(200)["product"]["id"].clone();
    let next = app.post("/api/v1/sales", &alpha_cashier, sale(alpha_product)).await.expect(201);
    assert_eq!(
        next["invoiceNumber"],
        format!("INV-{:06}", alpha.max_invoice + 1),
        "an existing store keeps its prefix"
    );
    let charlie_product = yen["product"]["id"].clone();
    let next = app.post("/api/v1/sales", &charlie_cashier, sale(charlie_product.clone())).await.expect(201);
    assert_eq!(next["invoiceNumber"], format!("C-{:06}", charlie.max_invoice + 1), "the store map's prefix");

    // Store A's token never sees store B's imported data.
    app.get(&format!("/api/v1/products/{}", charlie_product.as_str().unwrap()), &cashier)
        .await
        .expect_error(404, "not_found");
    app.get(&scan(barcode(2, 1)), &cashier).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/sales/invoice/{}000001", charlie.legacy_invoice_prefix), &cashier)
        .await
        .expect_error(404, "not_found");
    let mine = app.get("/api/v1/products?limit=200", &cashier).await.expect(200);
    let items = mine["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|p| p["storeId"] == "bravo"), "only bravo's products");
    let customers = app.get("/api/v1/customers?limit=200", &cashier).await.expect(200);
    let phones: Vec<&str> =
        customers["items"].as_array().unwrap().iter().map(|c| c["phone"].as_str().unwrap()).collect();
    assert_eq!(phones.len(), bravo.customers - 2, "the duplicate and the phoneless are kept deleted");
    assert!(phones.iter().all(|p| p.starts_with("+1555001")), "only bravo's customers: {phones:?}");

    // A second run changes nothing.
    let before = snapshot(&app.db).await;
    let again = import::run(app.store.clone(), &args(&dump, "second.json"), false).await.unwrap();
    assert_eq!(again.report.rows_inserted, 0, "nothing twice");
    assert_eq!(again.verified, Some(true));
    assert_eq!(snapshot(&app.db).await, before);
}
crate::both_backends!(imports_every_trap);

/// A run stopped after a few batches, then started again, ends where one run ends; so does a
/// run of the real `tills` process killed with SIGKILL once its progress shows.
async fn interrupted_imports_resume(backend: Backend) {
    let dump = generate(MEDIUM, mixed_format);
    let connect = |db: &TestDb| {
        let url = db.url.clone();
        async move { tills_storage::connect(&url, &PoolConfig::default()).await.unwrap() }
    };

    let whole = TestDb::new(backend).await;
    let store = connect(&whole).await;
    let started = Instant::now();
    let out = import::run(store.clone(), &args(&dump, "whole.json"), false).await.unwrap();
    assert_eq!(out.verified, Some(true));
    eprintln!(
        "{backend:?}: {} documents in {:?} ({:.0} documents/s, debug build)",
        out.report.documents,
        started.elapsed(),
        out.report.documents_per_second
    );
    assert_eq!(out.report.documents, dump.documents(), "the generator's count");
    assert_counts(&store, &dump).await;
    let expected = snapshot(&whole).await;

    // Stopped after 7 batches (as if killed), then run again.
    let stopped = TestDb::new(backend).await;
    let store = connect(&stopped).await;
    let first =
        import::run(store.clone(), &ImportLegacyArgs { stop_after_batches: Some(7), ..args(&dump, "a.json") }, false)
            .await;
    assert!(first.is_err(), "the first run stops");
    let partial = snapshot(&stopped).await;
    assert!(partial["products"].0 > 0 && partial["sales"].0 < expected["sales"].0, "stopped midway: {partial:?}");
    let second = import::run(store.clone(), &args(&dump, "b.json"), false).await.unwrap();
    assert_eq!(second.verified, Some(true));
    assert_eq!(snapshot(&stopped).await, expected, "resumed = uninterrupted");

    // The real process, killed with SIGKILL once its progress shows.
    let killed = TestDb::new(backend).await;
    // Opened (and on SQLite migrated) before the process starts, so the two never race.
    let store = connect(&killed).await;
    let report = dump.dir.path.join("killed.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tills"))
        .args([
            "import-legacy",
            "--create-stores",
            "--batch-size",
            "100",
            "--jobs",
            "1",
            "--pause-after-batch-ms",
            "40",
        ])
        .arg("--source")
        .arg(dump.source())
        .arg("--store-map")
        .arg(dump.store_map())
        .arg("--report")
        .arg(&report)
        .current_dir(&dump.dir.path)
        .env("DATABASE_URL", &killed.url)
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tills import-legacy");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    let progress = loop {
        let line = tokio::time::timeout_at(deadline, rx.recv()).await.expect("progress shows in time");
        let Some(line) = line else { panic!("the process ended before it was killed: {seen:?}") };
        if line.starts_with("progress:") {
            break line;
        }
        seen.push(line);
    };
    // Some batches are in the database: kill it now.
    loop {
        let t = store.imported_totals(&sid("alpha")).await.unwrap();
        if t.products > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "batches reach the database");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL ({status:?}) after {progress:?}");
    let partial = snapshot(&killed).await;
    assert!(partial["payments"].0 < expected["payments"].0, "killed midway: {partial:?}");
    let resumed = import::run(store.clone(), &args(&dump, "resumed.json"), false).await.unwrap();
    assert_eq!(resumed.verified, Some(true));
    assert!(resumed.report.rows_inserted > 0);
    assert_eq!(snapshot(&killed).await, expected, "killed and resumed = uninterrupted");

    // `--verify` on its own (with --dry-run): exit 0 while the target matches the dump, non-zero
    // once a row the report does not explain is missing.
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tills"))
            .args(["import-legacy", "--dry-run", "--verify"])
            .arg("--source")
            .arg(dump.source())
            .arg("--store-map")
            .arg(dump.store_map())
            .arg("--report")
            .arg(dump.dir.path.join("verify.json"))
            .current_dir(&dump.dir.path)
            .env("DATABASE_URL", &killed.url)
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .stdin(Stdio::null())
            .output()
            .expect("run tills import-legacy --verify")
    };
    let ok = verify();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let delete = "DELETE FROM payments WHERE store_id = 'bravo' AND legacy_id = (SELECT MIN(legacy_id) FROM payments \
                  WHERE store_id = 'bravo')";
    match backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&killed.url).await.unwrap();
            sqlx::query(delete).execute(&mut conn).await.unwrap();
        }
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&killed.url).await.unwrap();
            sqlx::query(delete).execute(&mut conn).await.unwrap();
        }
    }
    let different = verify();
    assert!(!different.status.success(), "a missing payment fails --verify");
    let table = String::from_utf8_lossy(&different.stdout);
    assert!(
        table.lines().any(|l| l.starts_with("bravo") && l.contains("payments") && l.ends_with("DIFFERENT")),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_imports_resume_sqlite() {
    interrupted_imports_resume(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_imports_resume_postgres() {
    interrupted_imports_resume(Backend::Postgres).await;
}

/// `--dry-run` converts and reports, and writes nothing.
async fn dry_run_writes_nothing(app: TestApp) {
    let dump = generate(SMALL, mixed_format);
    let before = snapshot(&app.db).await;
    let out = import::run(app.store.clone(), &ImportLegacyArgs { dry_run: true, ..args(&dump, "dry.json") }, false)
        .await
        .unwrap();
    assert_eq!(snapshot(&app.db).await, before, "nothing written");
    assert!(out.report.dry_run);
    assert_eq!(out.report.rows_inserted, 0);
    assert_eq!(out.report.stores.len(), 20, "what would be imported, store by store");
    let bravo = out.report.stores.iter().find(|s| s.store_id == "bravo").unwrap();
    assert_eq!(bravo.invoice_counter, Some(SMALL.sales as i64));
    assert_eq!(bravo.invoice_prefix.as_deref(), Some("BRA-"));
    assert!(out.report.entries.iter().any(|e| e.reason == Reason::DuplicateBarcode));
    assert!(dump.dir.path.join("dry.json").exists());
    // Verify against an empty target: every count differs, and the run says so.
    assert_eq!(out.verified, Some(false));

    // Without --create-stores the missing stores are reported, not created.
    let out = import::run(
        app.store.clone(),
        &ImportLegacyArgs { create_stores: false, verify: false, ..args(&dump, "missing.json") },
        false,
    )
    .await
    .unwrap();
    assert!(out.report.entries.iter().any(|e| e.reason == Reason::StoreMissing && e.count.is_some()));
    assert!(out.report.stores.is_empty());
    assert_eq!(snapshot(&app.db).await, before);
}
crate::both_backends!(dry_run_writes_nothing);

/// The same legacy data exported by mongodump (BSON, gzipped) and by mongoexport (relaxed and
/// canonical Extended JSON) imports to the same rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_format_gives_the_same_rows() {
    let mut snapshots = Vec::new();
    for fmt in [Fmt::Bson, Fmt::BsonGz, Fmt::Relaxed, Fmt::Canonical] {
        let dump = generate(SMALL, |_, _| fmt);
        let db = TestDb::sqlite();
        let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.unwrap();
        let out = import::run(store, &args(&dump, "r.json"), false).await.unwrap();
        assert_eq!(out.verified, Some(true), "{fmt:?}");
        snapshots.push((fmt, snapshot(&db).await));
    }
    for (fmt, s) in &snapshots[1..] {
        assert_eq!(s, &snapshots[0].1, "{fmt:?} and BSON differ");
    }
}

/// The import ends by invalidating the imported stores' cached products, on every instance:
/// a barcode a terminal looked up before the import (and the cache remembered as unknown)
/// resolves right after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_invalidates_cached_products() {
    let redis = std::env::var("TILLS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let db = TestDb::sqlite();
    let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.unwrap();
    let cache = tills_server::cache::CacheConfig {
        redis: Some(tills_server::cache::RedisConfig::new(&redis)),
        ..Default::default()
    };
    let app = TestApp::spawn_configured(db, store, cache).await;
    // Redis keeps its keys between runs, and other tests share it: store ids no one else uses.
    let suffix = tills_domain::new_id().simple().to_string()[20..].to_owned();
    let id = format!("bravo-{suffix}");
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, &id).await;
    let dump = generate(SMALL, mixed_format);
    let map = dump.dir.path.join("cache-map.csv");
    let lines: String = PREFIXES.iter().flatten().map(|p| format!("{p},{}-{suffix}\n", store_id_of(p))).collect();
    std::fs::write(&map, format!("prefix,storeId\n{lines}")).unwrap();
    let code = barcode(1, 0);
    app.get(&scan(code.clone()), &admin).await.expect_error(404, "not_found");

    // Imported without Redis: the cache still remembers the barcode as unknown.
    let plain = ImportLegacyArgs { store_map: Some(map.clone()), ..args(&dump, "plain.json") };
    let out = import::run(app.store.clone(), &plain, false).await.unwrap();
    assert_eq!(out.verified, Some(true));
    assert!(out.report.stores.iter().all(|s| !s.cache_invalidated));
    app.get(&scan(code.clone()), &admin).await.expect_error(404, "not_found");

    // With Redis (a second run: nothing to write, the cache is invalidated all the same).
    let with_redis = ImportLegacyArgs { redis_url: Some(redis), ..plain };
    let out = import::run(app.store.clone(), &with_redis, false).await.unwrap();
    assert_eq!(out.report.rows_inserted, 0);
    assert!(out.report.stores.iter().find(|s| s.store_id == id).unwrap().cache_invalidated);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let res = app.get(&scan(code.clone()), &admin).await;
        if res.status == 200 {
            assert_eq!(res.body["product"]["name"], "bravo item 0");
            break;
        }
        assert!(Instant::now() < deadline, "the scan still answers {} after the import", res.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes a large dump for measuring the import rate by hand:
/// `TILLS_IMPORT_BENCH_DIR=/tmp/bench TILLS_IMPORT_BENCH_SALES=4000 cargo test -p tills-server
/// --test api import::write_a_benchmark_dump -- --ignored`, then
/// `tills import-legacy --source /tmp/bench/dump --store-map /tmp/bench/stores.csv --create-stores`.
#[test]
#[ignore]
fn write_a_benchmark_dump() {
    let target = PathBuf::from(std::env::var("TILLS_IMPORT_BENCH_DIR").expect("TILLS_IMPORT_BENCH_DIR"));
    let sales: usize = std::env::var("TILLS_IMPORT_BENCH_SALES").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    let dump = generate(Scale { products: sales / 2, customers: sales / 4, sales }, mixed_format);
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(&target).unwrap();
    std::fs::rename(dump.source(), target.join("dump")).unwrap();
    std::fs::copy(dump.store_map(), target.join("stores.csv")).unwrap();
    eprintln!("{} documents in {}", dump.documents(), target.display());
}

/// A legacy store whose only user is a cashier (the legacy system kept its owners elsewhere):
/// the cashier logs in with the legacy password (bcrypt, accepted and rehashed to argon2id at
/// that login) and sells at once; the store has no admin, and the last-admin rule does not stand
/// in the way of a change that removes none.
async fn a_store_of_cashiers_sells(app: TestApp) {
    let dir = TempDir::new();
    let db_dir = dir.path.join("dump").join("pos1");
    let mut ids = Ids { counter: 0 };
    let product = ids.next(EPOCH);
    write_collection(
        &db_dir,
        "Solo_products",
        &[doc! {"_id": product, "name": "Bread", "barcode": "4000000000017", "price": 2.5, "taxRate": 7,
        "stock": 10, "status": "active", "createdAt": date(EPOCH)}],
        Fmt::Bson,
    );
    let password = "legacy cashier secret";
    let hash = bcrypt::hash_with_salt(password, 4, [3; 16]).unwrap().format_for_version(bcrypt::Version::TwoA);
    write_collection(
        &db_dir,
        "users",
        &[doc! {"_id": ids.next(EPOCH), "storeId": "Solo", "email": "till@solo.legacy", "name": "Till",
        "role": "cashier", "password": hash, "active": true, "createdAt": date(EPOCH)}],
        Fmt::Relaxed,
    );
    let started = Instant::now();
    let args = ImportLegacyArgs {
        create_stores: true,
        verify: true,
        report: Some(dir.path.join("solo.json")),
        ..ImportLegacyArgs::new(dir.path.join("dump"))
    };
    let out = import::run(app.store.clone(), &args, false).await.unwrap();
    assert_eq!(out.verified, Some(true));
    assert_eq!(out.report.stores_without_admin, ["solo"], "the report lists the store without an admin");
    assert_eq!(out.report.stores[0].active_admins, Some(0));

    let cashier = app.login(Some("solo"), "till@solo.legacy", password).await;
    let user = app
        .store
        .find_user_by_email(&sid("solo"), &tills_domain::Email::parse("till@solo.legacy").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"), "rehashed at the first login");
    let bread = app.get(&scan("4000000000017".into()), &cashier).await.expect(200);
    assert_eq!(bread["product"]["price"], 250);
    let sale = json!({"lines": [{"productId": bread["product"]["id"], "quantity": 2}],
                      "payments": [{"method": "cash", "amount": 1000}]});
    let sold = app.post("/api/v1/sales", &cashier, sale).await.expect(201);
    assert_eq!(sold["total"], 535, "2 × 2.50 and 7 % tax on top (created stores price without tax)");
    assert!(started.elapsed() < Duration::from_secs(60), "sells within a minute of the import");
    // The rehashed password works again; so does changing it.
    let cashier = app.login(Some("solo"), "till@solo.legacy", password).await;
    app.post(
        "/api/v1/auth/password",
        &cashier,
        json!({"currentPassword": password, "newPassword": "a new cashier secret"}),
    )
    .await
    .expect(204);
    app.login(Some("solo"), "till@solo.legacy", "a new cashier secret").await;

    // The platform admin gives the store an admin: a new user, or an existing one promoted.
    let platform = app.platform_token().await;
    let url = "/api/v1/admin/stores/solo/admins";
    app.post(url, &platform, json!({"email": "owner@solo.example"})).await.expect_error(400, "invalid_input");
    let res = app.post(url, &platform, json!({"email": "not an email", "password": "owner secret 1"})).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "email");
    let res = app.post(url, &platform, json!({"email": "owner@solo.example", "password": "short"})).await;
    assert_eq!(res.field(), "password");
    app.post(url, &cashier, json!({"email": "owner@solo.example", "password": "owner secret 1"}))
        .await
        .expect_error(403, "forbidden");
    app.post(
        "/api/v1/admin/stores/nowhere/admins",
        &platform,
        json!({"email": "a@b.example", "password": "owner secret 1"}),
    )
    .await
    .expect_error(404, "not_found");
    let owner = app
        .post(url, &platform, json!({"email": "Owner@Solo.example", "name": "Olga", "password": "owner secret 1"}))
        .await
        .expect(201);
    assert_eq!(
        (owner["role"].as_str(), owner["name"].as_str(), owner["active"].as_bool()),
        (Some("admin"), Some("Olga"), Some(true))
    );
    let admin = app.login(Some("solo"), "owner@solo.example", "owner secret 1").await;
    let users = app.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(users["items"].as_array().unwrap().len(), 2, "{users}");
    let audit = app.get("/api/v1/audit?action=store.admin", &admin).await.expect(200);
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    // The legacy cashier promoted (keeping its password), with `tills admin create-store-admin`.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tills"))
        .args(["admin", "create-store-admin", "--store", "solo", "--email", "till@solo.legacy"])
        .env("DATABASE_URL", &app.db.url)
        .env("RUST_LOG", "warn")
        .env_remove("TILLS_ADMIN_PASSWORD")
        .output()
        .expect("run tills admin create-store-admin");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("now an active admin"), "{out:?}");
    let till = app.login(Some("solo"), "till@solo.legacy", "a new cashier secret").await;
    // Another process changed the role: the server may remember the old one for up to 4 s.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let me = app.get("/api/v1/auth/me", &till).await;
        if me.status == 200 {
            assert_eq!(me.body["role"], "admin");
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", me.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Unknown stores and new users without a password are refused with a clear message.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tills"))
        .args(["admin", "create-store-admin", "--store", "solo", "--email", "new@solo.example"])
        .env("DATABASE_URL", &app.db.url)
        .env_remove("TILLS_ADMIN_PASSWORD")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password"), "{out:?}");
}
crate::both_backends!(a_store_of_cashiers_sells);
