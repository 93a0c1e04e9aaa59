//! `tills seed`: benchmark stores with realistic catalogs, written through the importer's bulk
//! path (one statement per table per batch of 1000 products), several stores at a time, with a
//! progress bar.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tills_domain::{Id, Role, StoreId, name_key};
use tills_storage::{
    ImportBatch, ImportCustomer, ImportNamed, ImportProduct, ImportUser, NewStore, Pack, ProductDraft, Store,
};

type Timestamp = chrono::DateTime<chrono::Utc>;

use crate::{barcode, cashier_email, pack_barcode, store_id};

pub struct SeedOptions {
    pub stores: usize,
    pub products_per_store: usize,
    pub customers_per_store: usize,
    pub password: String,
    pub parallel: usize,
}

const WORDS: &[&str] = &[
    "Cola",
    "Water",
    "Juice",
    "Coffee",
    "Tea",
    "Milk",
    "Butter",
    "Cheese",
    "Bread",
    "Rice",
    "Pasta",
    "Soap",
    "Crisps",
    "Chocolate",
    "Apples",
    "Bananas",
    "Yoghurt",
    "Beer",
    "Wine",
    "Cereal",
];
const SIZES: &[&str] = &["250g", "500g", "1kg", "330ml", "500ml", "1l", "1.5l", "6 rolls", "100g", "2kg"];
const CATEGORIES: &[&str] = &["Drinks", "Dairy", "Bakery", "Pantry", "Snacks", "Household", "Produce", "Frozen"];
const BRANDS: &[&str] =
    &["Fizzco", "Alpenquell", "Weidegluck", "Backstube", "Knusper", "Blitzblank", "Obsthof", "Pastaio"];

/// Seeds the stores; returns how many products were written. Ids are derived from the store and
/// row numbers, and every row is written `ON CONFLICT DO NOTHING` (the importer's bulk path), so a
/// seed that was stopped midway is completed by running it again.
pub async fn run(db: Arc<dyn Store>, opts: SeedOptions) -> anyhow::Result<u64> {
    let hash = hash_password(opts.password.clone()).await?;
    let total = (opts.stores * opts.products_per_store) as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} products ({per_sec}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(opts.parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let opts = Arc::new(opts);
    for s in 1..=opts.stores {
        let permit = semaphore.clone().acquire_owned().await?;
        let (db, opts, hash, bar) = (db.clone(), opts.clone(), hash.clone(), bar.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let n = seed_store(&db, s, &opts, &hash).await.with_context(|| format!("seeding {}", store_id(s)))?;
            bar.inc(opts.products_per_store as u64);
            anyhow::Ok(n)
        });
        // Surface the first failure at once rather than after every store was tried.
        while let Some(done) = tasks.try_join_next() {
            done??;
        }
    }
    let mut written = 0;
    while let Some(r) = tasks.join_next().await {
        written += r??;
    }
    bar.finish_with_message(format!("{written} new products in {:.1} s", start.elapsed().as_secs_f64()));
    Ok(written)
}

/// Products per transaction: large enough that a batch costs a handful of statements, small
/// enough that one store's batches interleave with the others'.
const BATCH: usize = 1000;

/// The same id for the same row of the same store in every run.
fn seed_id(store: &StoreId, table: &str, n: usize) -> Id {
    crate::seed_id(store.as_str(), table, n)
}

/// The seeded accounts' password as the server stores one: argon2id, its default parameters
/// (`auth/password.rs` in the server verifies it).
async fn hash_password(password: String) -> anyhow::Result<String> {
    use argon2::password_hash::PasswordHasher;
    tokio::task::spawn_blocking(move || {
        argon2::Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
    })
    .await?
}

fn named(store: &StoreId, table: &str, names: &[&str], now: Timestamp) -> Vec<ImportNamed> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| ImportNamed {
            id: seed_id(store, table, i),
            name: (*name).to_owned(),
            name_key: name_key(name),
            parent_id: None,
            legacy_id: None,
            created_at: now,
            updated_at: now,
        })
        .collect()
}

async fn seed_store(db: &Arc<dyn Store>, s: usize, opts: &SeedOptions, hash: &str) -> anyhow::Result<u64> {
    let id = StoreId::parse(&store_id(s)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = tills_domain::now();
    db.import_store(&NewStore {
        id: id.clone(),
        name: format!("Bench Store {s}"),
        currency: "USD".into(),
        currency_decimals: 2,
        timezone: "UTC".into(),
        prices_include_tax: false,
        invoice_prefix: "B-".into(),
    })
    .await?;

    let user = |n: usize, email: String, role: Role| ImportUser {
        id: seed_id(&id, "users", n),
        name: format!("{role} of {id}"),
        email,
        role: role.as_str().to_owned(),
        password_hash: hash.to_owned(),
        active: true,
        legacy_id: None,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    let categories = named(&id, "categories", CATEGORIES, now);
    let brands = named(&id, "brands", BRANDS, now);
    let units = named(&id, "units", &["Piece", "6-pack"], now);
    let (piece, six) = (units[0].id, units[1].id);
    let customers = (1..=opts.customers_per_store)
        .map(|c| {
            let name = format!("Customer {c}");
            ImportCustomer {
                id: seed_id(&id, "customers", c),
                name_key: name_key(&name),
                name,
                phone: format!("+1555{:04}{:04}", s % 10_000, c % 10_000),
                email: None,
                note: None,
                legacy_id: None,
                created_at: now,
                updated_at: now,
                deleted_at: None,
            }
        })
        .collect();
    let mut first = ImportBatch {
        users: vec![user(0, format!("admin@{id}.test"), Role::Admin), user(1, cashier_email(s), Role::Cashier)],
        categories: categories.clone(),
        brands: brands.clone(),
        units,
        customers,
        ..ImportBatch::default()
    };

    let product = |p: usize| {
        let name = format!("{} {} {}", WORDS[p % WORDS.len()], SIZES[(p / WORDS.len()) % SIZES.len()], p);
        let price = 49 + ((p * 37) % 1950) as i64;
        let (units, pack_ids) = if p.is_multiple_of(10) {
            let pack =
                Pack { unit_id: six, barcode: Some(pack_barcode(s, p)), factor: 6, price: Some(price * 6 * 9 / 10) };
            (vec![pack], vec![seed_id(&id, "product_units", p)])
        } else {
            (vec![], vec![])
        };
        ImportProduct {
            id: seed_id(&id, "products", p),
            draft: ProductDraft {
                name_key: name_key(&name),
                name,
                sku: Some(format!("SKU-{p:06}")),
                price,
                cost: Some(price * 6 / 10),
                tax_rate: if p.is_multiple_of(3) { 700 } else { 1900 },
                category_id: Some(categories[p % categories.len()].id),
                brand_id: Some(brands[p % brands.len()].id),
                unit_id: Some(piece),
                barcode: Some(barcode(s, p)),
                alternate_barcodes: vec![],
                units,
                active: true,
                show_in_quick_products: p.is_multiple_of(100),
            },
            pack_ids,
            stock_milli: 1_000_000,
            legacy_id: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            stock_movement_id: seed_id(&id, "stock_movements", p),
        }
    };
    let mut written = 0;
    let numbers: Vec<usize> = (1..=opts.products_per_store).collect();
    for chunk in numbers.chunks(BATCH) {
        let mut batch = std::mem::take(&mut first);
        batch.products = chunk.iter().map(|&p| product(p)).collect();
        written += db.import_batch(&id, &batch).await?.products;
    }
    if !first.is_empty() {
        db.import_batch(&id, &first).await?;
    }
    Ok(written)
}
