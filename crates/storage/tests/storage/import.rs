//! The importer's bulk writes: explicit ids, read as if the API had written them, idempotent,
//! store-scoped.

use chrono::{TimeZone, Utc};
use tills_domain::{Email, Id, StockReason, StoreId};
use tills_storage::{
    BatchMode, CustomerInput, ImportBatch, ImportCustomer, ImportKind, ImportNamed, ImportPayment, ImportProduct,
    ImportSale, ImportSaleLine, ImportUser, ImportWritten, NewAudit, NewStore, Pack, ProductDraft, StockChange,
    StorageError, TillsChange,
};

use crate::{Ctx, both_backends, make_store, sid};

fn id(n: u128) -> Id {
    Id::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)
}

fn at(day: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, day, 9, 30, 0).unwrap() + chrono::Duration::milliseconds(123)
}

fn named(n: u128, name: &str, parent: Option<Id>) -> ImportNamed {
    ImportNamed {
        id: id(n),
        name: name.into(),
        name_key: name.to_lowercase(),
        parent_id: parent,
        legacy_id: Some(format!("legacy-{n}")),
        created_at: at(1),
        updated_at: at(2),
    }
}

fn product(n: u128, name: &str, barcode: Option<&str>) -> ImportProduct {
    ImportProduct {
        id: id(n),
        draft: ProductDraft {
            name: name.into(),
            name_key: name.to_lowercase(),
            sku: None,
            price: 1250,
            cost: Some(700),
            tax_rate: 1900,
            category_id: Some(id(2)),
            brand_id: Some(id(3)),
            unit_id: None,
            barcode: barcode.map(str::to_owned),
            alternate_barcodes: vec![],
            units: vec![],
            active: true,
            show_in_quick_products: false,
        },
        pack_ids: vec![],
        stock_milli: 0,
        legacy_id: Some(format!("legacy-{n}")),
        created_at: at(3),
        updated_at: at(4),
        deleted_at: None,
        stock_movement_id: id(n + 1000),
    }
}

fn batch() -> ImportBatch {
    let mut cola = product(10, "Cola 330ml", Some("5449000000996"));
    cola.draft.alternate_barcodes = vec!["05449000000996".into()];
    cola.draft.units =
        vec![Pack { unit_id: id(4), barcode: Some("5449000000997".into()), factor: 24, price: Some(2800) }];
    cola.pack_ids = vec![id(11)];
    cola.stock_milli = 12_500;
    let mut gone = product(20, "Old water", Some("4000000000001"));
    gone.deleted_at = Some(at(5));
    gone.draft.active = false;
    ImportBatch {
        mode: BatchMode::Insert,
        categories: vec![named(1, "Drinks", None), named(2, "Soft drinks", Some(id(1)))],
        brands: vec![named(3, "Coca", None)],
        units: vec![named(4, "Crate", None)],
        products: vec![cola, gone],
        customers: vec![
            ImportCustomer {
                id: id(30),
                name: "Ana".into(),
                name_key: "ana".into(),
                phone: "+4930123456".into(),
                email: None,
                note: None,
                legacy_id: Some("legacy-30".into()),
                created_at: at(6),
                updated_at: at(6),
                deleted_at: None,
            },
            // The legacy duplicate of Ana's phone: kept, deleted, so the phone stays unique.
            ImportCustomer {
                id: id(31),
                name: "Ana B".into(),
                name_key: "ana b".into(),
                phone: "+4930123456".into(),
                email: None,
                note: Some("duplicate".into()),
                legacy_id: Some("legacy-31".into()),
                created_at: at(7),
                updated_at: at(7),
                deleted_at: Some(at(7)),
            },
        ],
        users: vec![ImportUser {
            id: id(40),
            email: "cashier@legacy.test".into(),
            name: "Cashier".into(),
            role: "cashier".into(),
            password_hash: "$2b$04$abcdefghijklmnopqrstuuQ3oZ2cVJ4xTHGKgwjZ6dPQJ2p1l1ZC".into(),
            active: true,
            legacy_id: Some("legacy-40".into()),
            created_at: at(1),
            updated_at: at(1),
            deleted_at: None,
        }],
        sales: vec![ImportSale {
            id: id(50),
            invoice_number: "INV-000123".into(),
            invoice_seq: Some(123),
            status: "completed".into(),
            customer_id: Some(id(31)),
            cashier_id: Some(id(40)),
            note: None,
            subtotal: 2500,
            discount_total: 0,
            tax_total: 475,
            total: 2975,
            paid: 3000,
            change: 25,
            sold_at: at(8),
            created_at: at(8),
            voided_at: None,
            legacy_id: Some("legacy-50".into()),
            lines: vec![
                ImportSaleLine {
                    id: id(51),
                    product_id: Some(id(10)),
                    name: "Cola 330ml".into(),
                    barcode: Some("5449000000996".into()),
                    unit_id: None,
                    factor: 1,
                    quantity_milli: 2000,
                    price: 1250,
                    discount: 0,
                    tax_rate: 1900,
                    tax: 475,
                    total: 2500,
                },
                ImportSaleLine {
                    id: id(52),
                    product_id: Some(id(20)),
                    name: "Old water".into(),
                    barcode: None,
                    unit_id: None,
                    factor: 1,
                    quantity_milli: 0,
                    price: 0,
                    discount: 0,
                    tax_rate: 0,
                    tax: 0,
                    total: 0,
                },
            ],
        }],
        payments: vec![ImportPayment {
            id: id(60),
            sale_id: id(50),
            method: "cash".into(),
            amount: 3000,
            reference: None,
            legacy_id: Some("legacy-60".into()),
            created_at: at(8),
        }],
    }
}

async fn imports_batches_idempotently(ctx: Ctx) {
    let s = &ctx.store;
    let store = sid("legacy-one");
    let new = NewStore {
        id: store.clone(),
        name: "Legacy one".into(),
        currency: "EUR".into(),
        currency_decimals: 2,
        timezone: "UTC".into(),
        prices_include_tax: false,
        invoice_prefix: "INV-".into(),
    };
    assert!(s.import_store(&new).await.unwrap(), "created");
    assert!(!s.import_store(&new).await.unwrap(), "second time: already there");

    let written = s.import_batch(&store, &batch()).await.unwrap();
    assert_eq!(
        written,
        ImportWritten {
            categories: 2,
            brands: 1,
            units: 1,
            products: 2,
            product_units: 1,
            product_barcodes: 3,
            stock_movements: 1,
            customers: 2,
            users: 1,
            sales: 1,
            sale_lines: 2,
            payments: 1,
            updated: 0,
        }
    );
    let again = s.import_batch(&store, &batch()).await.unwrap();
    assert_eq!(again, ImportWritten::default(), "a second write of the same rows changes nothing");

    // The product reads as if the API had written it: read model, barcodes, packs, stock.
    let cola = s.get_product(&store, id(10)).await.unwrap().unwrap();
    assert_eq!(cola.price, 1250);
    assert_eq!(cola.stock_milli, 12_500);
    assert_eq!(cola.alternate_barcodes, vec!["05449000000996".to_owned()]);
    assert_eq!(cola.units.len(), 1);
    assert_eq!(cola.created_at, at(3));
    let by_pack = s.find_by_barcode(&store, "5449000000997").await.unwrap().unwrap();
    assert_eq!(by_pack.product.id, id(10));
    assert_eq!(by_pack.pack.unwrap().factor, 24);
    assert_eq!(s.find_by_barcode(&store, "05449000000996").await.unwrap().unwrap().product.id, id(10));
    let moves = s.list_stock_movements(&store, id(10), None, 10).await.unwrap();
    assert_eq!(moves.len(), 1);
    assert_eq!((moves[0].reason.as_str(), moves[0].delta_milli), ("import", 12_500));

    // The deleted product is gone from reads and scans, and its barcode is free.
    assert!(s.get_product(&store, id(20)).await.unwrap().is_none());
    assert!(s.find_by_barcode(&store, "4000000000001").await.unwrap().is_none());

    // Named records, customers, users, sales.
    let cat = s.get_named(&store, tills_storage::NamedKind::Category, id(2)).await.unwrap().unwrap();
    assert_eq!(cat.parent_id, Some(id(1)));
    assert!(s.get_customer(&store, id(30)).await.unwrap().is_some());
    assert!(s.get_customer(&store, id(31)).await.unwrap().is_none(), "the duplicate is kept deleted");
    let user = s.find_user_by_email(&store, &Email::parse("cashier@legacy.test").unwrap()).await.unwrap().unwrap();
    assert!(user.password_hash.starts_with("$2b$"));
    let sale = s.get_sale_by_invoice(&store, "INV-000123").await.unwrap().unwrap();
    assert_eq!(sale.header.total, 2975);
    assert_eq!(sale.header.customer_id, Some(id(31)));
    assert_eq!(sale.lines.len(), 2);
    assert_eq!(sale.payments.len(), 1);
    assert_eq!(sale.header.sold_at, at(8));

    // Keys for the importer's conflict rules.
    let keys = s.import_existing_keys(&store).await.unwrap();
    assert_eq!(keys.barcodes.len(), 3);
    assert_eq!(keys.phones, vec![("+4930123456".to_owned(), id(30))]);
    assert_eq!(keys.invoice_numbers, vec![("INV-000123".to_owned(), id(50))]);
    assert_eq!(keys.category_names.len(), 2);

    // The counter only goes up.
    assert_eq!(s.raise_invoice_counter(&store, 123).await.unwrap(), 123);
    assert_eq!(s.raise_invoice_counter(&store, 7).await.unwrap(), 123);

    let totals = s.imported_totals(&store).await.unwrap();
    assert_eq!((totals.products, totals.sales, totals.sale_lines, totals.sales_total), (2, 1, 2, 2975));
    assert_eq!((totals.payments, totals.payments_amount, totals.customers, totals.users), (1, 3000, 2, 1));
}
both_backends!(imports_batches_idempotently_story, imports_batches_idempotently);

async fn import_writes_are_scoped_to_their_store(ctx: Ctx) {
    let s = &ctx.store;
    make_store(s, "store-a").await;
    make_store(s, "store-b").await;
    let a = sid("store-a");
    let b: StoreId = sid("store-b");
    s.import_batch(&a, &batch()).await.unwrap();
    assert!(s.get_product(&b, id(10)).await.unwrap().is_none(), "another store sees nothing");
    assert!(s.import_existing_keys(&b).await.unwrap().barcodes.is_empty());
    assert_eq!(s.imported_totals(&b).await.unwrap(), Default::default());
    // The same ids in another store are other rows: a reference to a row of store A fails.
    let orphan = ImportBatch { payments: batch().payments, ..Default::default() };
    let r = s.import_batch(&b, &orphan).await;
    assert!(matches!(r, Err(StorageError::InvalidReference)), "{r:?}");
    assert_eq!(s.imported_totals(&b).await.unwrap().payments, 0, "the failed batch left nothing");
}
both_backends!(import_writes_are_scoped_to_their_store_story, import_writes_are_scoped_to_their_store);

/// What a batch writes is remembered with its fingerprints; a row Tills changes since shows up
/// in `import_state` (an adjusted stock does not count: it is not the product's), and a
/// replacing batch writes over what changed in the legacy system: the product's price, packs
/// and barcodes, its stock by the difference, a sale's status.
async fn remembers_and_replaces(ctx: Ctx) {
    let s = &ctx.store;
    make_store(s, "delta").await;
    let store = sid("delta");
    let b = batch();
    s.import_batch(&store, &b).await.unwrap();
    let state = s.import_state(&store).await.unwrap();
    assert_eq!(state.rows.len(), 11, "every record with a legacy id: {:?}", state.rows);
    assert!(state.changed_in_tills.is_empty(), "{:?}", state.changed_in_tills);
    let tracked = |kind: ImportKind, row: tills_domain::Id| {
        state.rows.iter().find(|r| r.kind == kind && r.row_id == row).cloned().unwrap()
    };
    assert_eq!(tracked(ImportKind::Products, id(10)).fingerprint, b.products[0].fingerprint());
    assert_eq!(tracked(ImportKind::Products, id(10)).amount, Some(12_500), "the legacy stock");
    assert_eq!(tracked(ImportKind::Sales, id(50)).amount, Some(2975));
    assert_eq!(tracked(ImportKind::Customers, id(31)).fingerprint, b.customers[1].fingerprint());

    // Tills changes a customer and voids the sale; a stock take changes no product of the import.
    let input = CustomerInput {
        name: "Ana Tills".into(),
        name_key: "ana tills".into(),
        phone: "+4930123456".into(),
        email: None,
        note: None,
    };
    s.update_customer(&store, id(30), &input).await.unwrap();
    s.void_sale(&store, id(50), None, NewAudit::new("sale.void")).await.unwrap();
    s.adjust_stock(&store, id(10), -500, StockChange::new(StockReason::Stocktake, None)).await.unwrap();
    let state = s.import_state(&store).await.unwrap();
    assert!(matches!(state.changed_in_tills.get(&id(30)), Some(TillsChange::Changed { .. })));
    assert!(matches!(state.changed_in_tills.get(&id(50)), Some(TillsChange::Changed { .. })));
    assert_eq!(state.changed_in_tills.len(), 2, "{:?}", state.changed_in_tills);

    // The legacy system changed the cola: price, pack barcode, stock 12.5 → 15.
    let mut cola = b.products[0].clone();
    cola.draft.price = 1390;
    cola.draft.units[0].barcode = Some("5449000000998".into());
    cola.stock_milli = 15_000;
    cola.updated_at = at(20);
    let replace = ImportBatch { mode: BatchMode::Replace, products: vec![cola.clone()], ..Default::default() };
    let written = s.import_batch(&store, &replace).await.unwrap();
    assert_eq!((written.updated, written.stock_movements, written.product_barcodes, written.products), (1, 1, 3, 0));
    let now = s.get_product(&store, id(10)).await.unwrap().unwrap();
    assert_eq!(now.price, 1390);
    // The opening 12.5, the voided sale's 2 back, the stock take's -0.5, the legacy difference.
    assert_eq!(now.stock_milli, 12_500 + 2_000 - 500 + 2_500, "Tills' movements kept, the legacy difference added");
    assert!(s.find_by_barcode(&store, "5449000000997").await.unwrap().is_none(), "the old pack barcode is free");
    assert_eq!(s.find_by_barcode(&store, "5449000000998").await.unwrap().unwrap().pack.unwrap().factor, 24);
    let state = s.import_state(&store).await.unwrap();
    let row = state.rows.iter().find(|r| r.row_id == id(10)).unwrap();
    assert_eq!((row.fingerprint, row.amount), (cola.fingerprint(), Some(15_000)));
    assert!(!state.changed_in_tills.contains_key(&id(10)), "what the importer wrote is not Tills' change");
    // The same replacement again: nothing moves twice.
    s.import_batch(&store, &replace).await.unwrap();
    assert_eq!(s.get_product(&store, id(10)).await.unwrap().unwrap().stock_milli, 16_500);

    // A legacy sale voided since: only its status changes.
    let mut sale = b.sales[0].clone();
    sale.status = "voided".into();
    sale.voided_at = Some(at(21));
    let replace = ImportBatch { mode: BatchMode::Replace, sales: vec![sale], ..Default::default() };
    assert_eq!(s.import_batch(&store, &replace).await.unwrap().updated, 1);
    assert_eq!(s.get_sale(&store, id(50)).await.unwrap().unwrap().header.status.as_str(), "voided");
    // Payments are never written over.
    let replace = ImportBatch { mode: BatchMode::Replace, payments: b.payments.clone(), ..Default::default() };
    assert!(matches!(s.import_batch(&store, &replace).await, Err(StorageError::Invalid { .. })));

    // Another store sees none of it.
    make_store(s, "other").await;
    assert!(s.import_state(&sid("other")).await.unwrap().rows.is_empty());
}
both_backends!(remembers_and_replaces_story, remembers_and_replaces);

/// `import_rows` is a store table like the others: row-level security shows the server's role
/// only the rows of the store its transaction names.
#[tokio::test]
async fn import_rows_are_behind_row_level_security() {
    use sqlx::Executor;
    let ctx = crate::open(tills_testkit::Backend::Postgres).await;
    make_store(&ctx.store, "rls-import").await;
    ctx.store.import_batch(&sid("rls-import"), &batch()).await.unwrap();
    let pg = tills_storage::PgStore::connect(&ctx.db.url, &tills_storage::PoolConfig::default()).await.unwrap();
    let pool = pg.pool();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM import_rows").fetch_one(pool).await.unwrap();
    assert_eq!(n, 0, "no store named: no rows");
    let mut tx = pool.begin_with("BEGIN; SET LOCAL tills.store_id = 'rls-import'").await.unwrap();
    let rows = tx.fetch_all("SELECT store_id FROM import_rows").await.unwrap();
    assert_eq!(rows.len(), 11);
    tx.rollback().await.unwrap();
    let mut tx = pool.begin_with("BEGIN; SET LOCAL tills.store_id = 'someone-else'").await.unwrap();
    assert!(tx.fetch_all("SELECT store_id FROM import_rows").await.unwrap().is_empty());
}
