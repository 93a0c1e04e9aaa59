//! `tills seed`: benchmark stores with realistic catalogs, written in one transaction per store,
//! several stores at a time, with a progress bar.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tills_domain::{Email, Role, StoreId, name_key, new_id};
use tills_storage::{
    CustomerInput, NamedInput, NamedKind, NewAudit, NewStore, NewUser, Pack, ProductDraft, StockChange, StockReason,
    Store,
};

use super::{barcode, cashier_email, pack_barcode, store_id};
use crate::auth::password;

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

/// Seeds the stores that do not exist yet; returns how many products were written.
pub async fn run(db: Arc<dyn Store>, opts: SeedOptions) -> anyhow::Result<u64> {
    let hash = password::hash(opts.password.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
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
    }
    let mut written = 0;
    while let Some(r) = tasks.join_next().await {
        written += r??;
    }
    bar.finish_with_message(format!("{written} new products in {:.1} s", start.elapsed().as_secs_f64()));
    Ok(written)
}

async fn seed_store(db: &Arc<dyn Store>, s: usize, opts: &SeedOptions, hash: &str) -> anyhow::Result<u64> {
    let id = StoreId::parse(&store_id(s)).map_err(|e| anyhow::anyhow!("{e}"))?;
    if db.get_store(&id).await?.is_some() {
        return Ok(0);
    }
    let user = |email: String, role| -> anyhow::Result<NewUser> {
        Ok(NewUser {
            id: new_id(),
            email: Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?,
            name: format!("{role} of {id}"),
            role,
            password_hash: hash.to_owned(),
        })
    };
    let store = NewStore {
        id: id.clone(),
        name: format!("Bench Store {s}"),
        currency: "USD".into(),
        currency_decimals: 2,
        timezone: "UTC".into(),
        prices_include_tax: false,
        invoice_prefix: "B-".into(),
    };
    db.create_store(store, user(format!("admin@{id}.test"), Role::Admin)?, NewAudit::new("store.create")).await?;
    db.create_user(&id, user(cashier_email(s), Role::Cashier)?, NewAudit::new("user.create")).await?;
    let named = async |kind, name: &str| -> anyhow::Result<tills_domain::Id> {
        let new = new_id();
        db.create_named(&id, kind, new, &NamedInput { name: name.into(), key: name_key(name), parent_id: None })
            .await?;
        Ok(new)
    };
    let mut categories = Vec::new();
    for c in CATEGORIES {
        categories.push(named(NamedKind::Category, c).await?);
    }
    let mut brands = Vec::new();
    for b in BRANDS {
        brands.push(named(NamedKind::Brand, b).await?);
    }
    let piece = named(NamedKind::Unit, "Piece").await?;
    let six = named(NamedKind::Unit, "6-pack").await?;
    let items: Vec<(tills_domain::Id, ProductDraft, i64)> = (1..=opts.products_per_store)
        .map(|p| {
            let name = format!("{} {} {}", WORDS[p % WORDS.len()], SIZES[(p / WORDS.len()) % SIZES.len()], p);
            let price = 49 + ((p * 37) % 1950) as i64;
            let units = if p % 10 == 0 {
                vec![Pack {
                    unit_id: six,
                    barcode: Some(pack_barcode(s, p)),
                    factor: 6,
                    price: Some(price * 6 * 9 / 10),
                }]
            } else {
                vec![]
            };
            let draft = ProductDraft {
                name_key: name_key(&name),
                name,
                sku: Some(format!("SKU-{p:06}")),
                price,
                cost: Some(price * 6 / 10),
                tax_rate: if p % 3 == 0 { 700 } else { 1900 },
                category_id: Some(categories[p % categories.len()]),
                brand_id: Some(brands[p % brands.len()]),
                unit_id: Some(piece),
                barcode: Some(barcode(s, p)),
                alternate_barcodes: vec![],
                units,
                active: true,
                show_in_quick_products: p % 100 == 0,
            };
            (new_id(), draft, 1_000_000)
        })
        .collect();
    let change = StockChange { note: Some("seed".into()), ..StockChange::new(StockReason::Stocktake, None) };
    let mut written = 0;
    for chunk in items.chunks(1000) {
        written += db.create_products(&id, chunk, change.clone()).await?;
    }
    for c in 1..=opts.customers_per_store {
        let name = format!("Customer {c}");
        let input = CustomerInput {
            name_key: name_key(&name),
            name,
            phone: format!("+1555{:04}{:04}", s % 10_000, c % 10_000),
            email: None,
            note: None,
        };
        db.create_customer(&id, new_id(), &input).await?;
    }
    Ok(written)
}
