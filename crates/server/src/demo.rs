//! `serve --demo`: a platform admin and a demo store with its users, ready to log in to.

use std::sync::Arc;

use tills_domain::{Email, Role, ScaleFormat, ScaleKind, StockReason, StoreId, ean13, name_key, new_id};
use tills_storage::{NamedInput, NamedKind, NewAudit, NewStore, NewUser, Pack, ProductDraft, StockChange, Store};

use crate::auth::password;

pub const DEMO_STORE: &str = "demo";
pub const DEMO_PASSWORD: &str = "tills-demo-1";
pub const PLATFORM_EMAIL: &str = "platform@tills.local";
/// The demo manager's PIN, for approvals at a cashier's terminal.
pub const DEMO_MANAGER_PIN: &str = "2468";

pub struct Demo {
    pub store: String,
}

impl Demo {
    pub fn instructions(&self, base: &str) -> String {
        format!(
            "Tills demo is running at {base}\n\n\
             Store '{store}', password '{pw}' for every account:\n\
             \x20 admin    owner@demo.tills\n\
             \x20 manager  manager@demo.tills\n\
             \x20 cashier  cashier@demo.tills\n\
             Platform admin: {platform} (no store)\n\
             The store sells in cash-drawer shifts: open one (Drawer) with a float first.\n\
             The manager approves at a cashier's till with PIN {pin}.\n\n\
             Scan something: Cola 330ml is {cola}, its 6-pack {six}; a deli label of 0.535 kg\n\
             Emmental is {label}.\n\n\
             Log in with curl:\n\
             \x20 curl -s {base}/api/v1/auth/login -H 'content-type: application/json' \\\n\
             \x20   -d '{{\"store\":\"{store}\",\"email\":\"cashier@demo.tills\",\"password\":\"{pw}\"}}'\n",
            store = self.store,
            pw = DEMO_PASSWORD,
            platform = PLATFORM_EMAIL,
            pin = DEMO_MANAGER_PIN,
            cola = ean13("400600000100"),
            six = ean13("400600000110"),
            label = ean13("210000100535"),
        )
    }
}

/// Creates what is missing; running it again changes nothing.
pub async fn bootstrap(store: &Arc<dyn Store>) -> anyhow::Result<Demo> {
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let platform = Email::parse(PLATFORM_EMAIL).map_err(|e| anyhow::anyhow!("{e}"))?;
    if store.find_platform_admin(&platform).await?.is_none() {
        store.upsert_platform_admin(&platform, "Platform admin", &hash).await?;
    }
    let id = StoreId::parse(DEMO_STORE).map_err(|e| anyhow::anyhow!("{e}"))?;
    if store.get_store(&id).await?.is_none() {
        let new = NewStore {
            id: id.clone(),
            name: "Tills Demo Market".into(),
            currency: "EUR".into(),
            currency_decimals: 2,
            timezone: "Europe/Berlin".into(),
            prices_include_tax: true,
            invoice_prefix: "DEMO-".into(),
        };
        let user = |email: &str, name: &str, role| -> anyhow::Result<NewUser> {
            Ok(NewUser {
                id: new_id(),
                email: Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?,
                name: name.into(),
                role,
                password_hash: hash.clone(),
            })
        };
        store
            .create_store(new, user("owner@demo.tills", "Olivia Owner", Role::Admin)?, NewAudit::new("store.create"))
            .await?;
        let manager = user("manager@demo.tills", "Max Manager", Role::Manager)?;
        let manager_id = manager.id;
        store.create_user(&id, manager, NewAudit::new("user.create")).await?;
        store
            .create_user(&id, user("cashier@demo.tills", "Cara Cashier", Role::Cashier)?, NewAudit::new("user.create"))
            .await?;
        let pin = password::hash(DEMO_MANAGER_PIN.to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        store.set_user_pin(&id, manager_id, Some(&pin), NewAudit::new("user.pin").target(manager_id)).await?;
        // A demo store runs the day as a real one does: every sale in a cash-drawer shift.
        let mut settings =
            store.get_store(&id).await?.ok_or_else(|| anyhow::anyhow!("the demo store was not created"))?;
        settings.require_shift = true;
        // A cashier may close over or short by up to 1.00; beyond it a manager approves.
        settings.cash_tolerance = 100;
        let audit = NewAudit::new("store.settings")
            .target(&id)
            .detail(serde_json::json!({"changed": ["requireShift", "cashTolerance"]}));
        store.save_store(&settings, audit).await?;
        catalog(store, &id).await?;
    }
    Ok(Demo { store: DEMO_STORE.to_owned() })
}

/// (name, category, brand, price in cents, tax bp, packs: (unit, factor, pack price), quick, stock)
type Item = (&'static str, &'static str, &'static str, i64, i32, &'static [(&'static str, i64, i64)], bool, i64);

const ITEMS: &[Item] = &[
    ("Cola 330ml", "Drinks", "Fizzco", 150, 1900, &[("6-pack", 6, 849), ("Case of 24", 24, 3199)], true, 240),
    ("Cola Zero 330ml", "Drinks", "Fizzco", 150, 1900, &[("6-pack", 6, 849), ("Case of 24", 24, 3199)], true, 180),
    ("Orange Lemonade 500ml", "Drinks", "Fizzco", 179, 1900, &[("6-pack", 6, 999)], false, 90),
    ("Still Water 1.5l", "Drinks", "Alpenquell", 59, 1900, &[("6-pack", 6, 329)], true, 300),
    ("Sparkling Water 1.5l", "Drinks", "Alpenquell", 59, 1900, &[("6-pack", 6, 329)], false, 260),
    ("Apple Juice 1l", "Drinks", "Obsthof", 229, 700, &[], false, 60),
    ("Orange Juice 1l", "Drinks", "Obsthof", 249, 700, &[], false, 55),
    ("Lager Beer 500ml", "Drinks", "Brauhaus", 119, 1900, &[("6-pack", 6, 649), ("Case of 24", 24, 2299)], false, 480),
    ("Wheat Beer 500ml", "Drinks", "Brauhaus", 129, 1900, &[("Case of 24", 24, 2499)], false, 240),
    ("Cold Brew Coffee 250ml", "Drinks", "Morgenrot", 299, 1900, &[], true, 40),
    ("Whole Milk 1l", "Dairy", "Weidegluck", 119, 700, &[], true, 120),
    ("Low-fat Milk 1l", "Dairy", "Weidegluck", 109, 700, &[], false, 100),
    ("Butter 250g", "Dairy", "Weidegluck", 239, 700, &[], false, 70),
    ("Natural Yoghurt 500g", "Dairy", "Weidegluck", 99, 700, &[("4-pack", 4, 359)], false, 80),
    ("Free-range Eggs", "Dairy", "Hofgut", 289, 700, &[], true, 60),
    ("Cream Cheese 200g", "Dairy", "Weidegluck", 149, 700, &[], false, 45),
    ("Sourdough Loaf", "Bakery", "Backstube", 349, 700, &[], true, 25),
    ("Butter Croissant", "Bakery", "Backstube", 119, 700, &[("Box of 6", 6, 649)], true, 50),
    ("Pretzel", "Bakery", "Backstube", 79, 700, &[], true, 80),
    ("Rye Bread 500g", "Bakery", "Backstube", 279, 700, &[], false, 20),
    ("Chocolate Bar 100g", "Snacks", "Kakaowerk", 129, 700, &[("Box of 12", 12, 1399)], true, 150),
    ("Dark Chocolate 100g", "Snacks", "Kakaowerk", 149, 700, &[], false, 90),
    ("Salted Crisps 175g", "Snacks", "Knusper", 189, 700, &[], false, 75),
    ("Paprika Crisps 175g", "Snacks", "Knusper", 189, 700, &[], false, 70),
    ("Salted Peanuts 200g", "Snacks", "Knusper", 169, 700, &[], false, 40),
    ("Gummy Bears 200g", "Snacks", "Goldbar", 99, 700, &[("Box of 24", 24, 2099)], true, 200),
    ("Oat Biscuits 250g", "Snacks", "Knusper", 159, 700, &[], false, 60),
    ("Bananas", "Produce", "Tropico", 39, 700, &[], true, 120),
    ("Lemons", "Produce", "Tropico", 49, 700, &[("Net of 5", 5, 199)], false, 80),
    ("Avocado", "Produce", "Tropico", 129, 700, &[], false, 30),
    ("Cucumber", "Produce", "Gartenfrisch", 69, 700, &[], false, 40),
    ("Iceberg Lettuce", "Produce", "Gartenfrisch", 99, 700, &[], false, 25),
    ("Cherry Tomatoes 250g", "Produce", "Gartenfrisch", 199, 700, &[], false, 35),
    ("Spaghetti 500g", "Pantry", "Pastaio", 129, 700, &[("Case of 12", 12, 1299)], false, 140),
    ("Penne 500g", "Pantry", "Pastaio", 129, 700, &[], false, 110),
    ("Tomato Passata 500g", "Pantry", "Pastaio", 99, 700, &[], false, 95),
    ("Basmati Rice 1kg", "Pantry", "Reisfeld", 279, 700, &[], false, 60),
    ("Extra Virgin Olive Oil 500ml", "Pantry", "Oliva", 699, 700, &[], false, 30),
    ("Sea Salt 500g", "Pantry", "Meersalz", 89, 700, &[], false, 50),
    ("Ground Coffee 500g", "Pantry", "Morgenrot", 649, 700, &[], false, 45),
    ("Black Tea 50 bags", "Pantry", "Teehaus", 249, 700, &[], false, 40),
    ("Dish Soap 500ml", "Household", "Blitzblank", 149, 1900, &[], false, 35),
    ("Kitchen Roll 4 rolls", "Household", "Blitzblank", 299, 1900, &[("Case of 6", 6, 1599)], false, 30),
    ("Toilet Paper 8 rolls", "Household", "Blitzblank", 399, 1900, &[], false, 40),
    ("AA Batteries 4-pack", "Household", "Voltwerk", 499, 1900, &[], false, 25),
    ("Paper Bag", "Household", "Blitzblank", 20, 1900, &[], true, 500),
];

/// Weighed at the deli counter: price per kg; their labels carry the weight.
const WEIGHED: &[(&str, &str, i64)] = &[
    ("Emmental Cheese (per kg)", "00001", 1999),
    ("Gouda Cheese (per kg)", "00002", 1590),
    ("Smoked Ham (per kg)", "00003", 2490),
    ("Olives Mix (per kg)", "00004", 1290),
];

/// About fifty products in seven categories, with 6-packs, 24-cases, quick products, and a deli
/// scale format (prefix 21, 5 item digits, weight in grams) with weighed products.
async fn catalog(store: &Arc<dyn Store>, id: &StoreId) -> anyhow::Result<()> {
    use std::collections::HashMap;
    let mut named: HashMap<(NamedKind, &str), tills_domain::Id> = HashMap::new();
    let mut get = async |kind: NamedKind, name: &'static str| -> anyhow::Result<tills_domain::Id> {
        if let Some(id) = named.get(&(kind, name)) {
            return Ok(*id);
        }
        let new = new_id();
        let input = NamedInput { name: name.to_owned(), key: name_key(name), parent_id: None };
        store.create_named(id, kind, new, &input).await?;
        named.insert((kind, name), new);
        Ok(new)
    };
    let piece = get(NamedKind::Unit, "Piece").await?;
    let kg = get(NamedKind::Unit, "kg").await?;
    for (i, (name, category, brand, price, tax, packs, quick, stock)) in ITEMS.iter().enumerate() {
        let mut units = Vec::new();
        for (j, (unit, factor, pack_price)) in packs.iter().enumerate() {
            units.push(Pack {
                unit_id: get(NamedKind::Unit, unit).await?,
                barcode: Some(ean13(&format!("4006{:06}{}0", i + 1, j + 1)[..12])),
                factor: *factor,
                price: Some(*pack_price),
            });
        }
        let draft = ProductDraft {
            name: (*name).to_owned(),
            name_key: name_key(name),
            sku: Some(format!("DEMO-{:03}", i + 1)),
            price: *price,
            cost: Some(price * 6 / 10),
            tax_rate: *tax,
            category_id: Some(get(NamedKind::Category, category).await?),
            brand_id: Some(get(NamedKind::Brand, brand).await?),
            unit_id: Some(piece),
            barcode: Some(ean13(&format!("4006{:06}00", i + 1))),
            alternate_barcodes: Vec::new(),
            units,
            active: true,
            show_in_quick_products: *quick,
        };
        let opening =
            StockChange { note: Some("demo opening stock".into()), ..StockChange::new(StockReason::Stocktake, None) };
        store.create_product(id, new_id(), &draft, stock * 1000, Some(opening)).await?;
    }
    let deli = get(NamedKind::Category, "Deli").await?;
    for (name, item, price) in WEIGHED {
        let draft = ProductDraft {
            name: (*name).to_owned(),
            name_key: name_key(name),
            sku: None,
            price: *price,
            cost: None,
            tax_rate: 700,
            category_id: Some(deli),
            brand_id: None,
            unit_id: Some(kg),
            barcode: Some(format!("21{item}")),
            alternate_barcodes: Vec::new(),
            units: Vec::new(),
            active: true,
            show_in_quick_products: false,
        };
        let opening =
            StockChange { note: Some("demo opening stock".into()), ..StockChange::new(StockReason::Stocktake, None) };
        store.create_product(id, new_id(), &draft, 20_000, Some(opening)).await?;
    }
    let Some(mut settings) = store.get_store(id).await? else { anyhow::bail!("the demo store vanished") };
    settings.scale_barcodes =
        vec![ScaleFormat { prefix: "21".into(), item_digits: 5, kind: ScaleKind::Weight, decimals: 3 }];
    settings.address = Some("Marktplatz 1, 10115 Berlin".into());
    settings.receipt_footer = Some("Thank you for shopping at Tills Demo Market!".into());
    store.save_store(&settings, NewAudit::new("store.settings")).await?;
    Ok(())
}
