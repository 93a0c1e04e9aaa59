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
