//! The JSON rows a batch sends (one array per table, unpacked by the database, written as
//! `crate::json_rows` says), and the fingerprints `import_rows` keeps of them.

use serde::Serialize;
use sha2::{Digest, Sha256};
use tills_domain::Id;

use super::{
    Fingerprint, ImportCustomer, ImportKind, ImportNamed, ImportPayment, ImportProduct, ImportSale, ImportUser,
};
use crate::json_rows::{ser_id, ser_opt_id, ser_opt_ts, ser_ts};
use crate::{Result, StorageError, Timestamp};

#[derive(Serialize)]
pub(super) struct NamedRow<'a> {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    pub(super) name: &'a str,
    pub(super) name_key: &'a str,
    #[serde(serialize_with = "ser_opt_id")]
    pub(super) parent_id: Option<Id>,
    pub(super) legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    pub(super) created_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub(super) updated_at: Timestamp,
}

#[derive(Serialize)]
pub(super) struct ProductRow<'a> {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    pub(super) name: &'a str,
    pub(super) name_key: &'a str,
    pub(super) sku: Option<&'a str>,
    pub(super) price: i64,
    pub(super) cost: Option<i64>,
    pub(super) tax_rate: i32,
    #[serde(serialize_with = "ser_opt_id")]
    pub(super) category_id: Option<Id>,
    #[serde(serialize_with = "ser_opt_id")]
    pub(super) brand_id: Option<Id>,
    #[serde(serialize_with = "ser_opt_id")]
    pub(super) unit_id: Option<Id>,
    pub(super) stock_milli: i64,
    pub(super) status: &'static str,
    pub(super) show_in_quick_products: bool,
    pub(super) barcode: Option<&'a str>,
    pub(super) alternate_barcodes: String,
    pub(super) units: String,
    pub(super) legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    pub(super) created_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub(super) updated_at: Timestamp,
    #[serde(serialize_with = "ser_opt_ts")]
    pub(super) deleted_at: Option<Timestamp>,
}

#[derive(Serialize)]
pub(super) struct PackRow {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    #[serde(serialize_with = "ser_id")]
    pub(super) product_id: Id,
    #[serde(serialize_with = "ser_id")]
    pub(super) unit_id: Id,
    pub(super) factor: i64,
    pub(super) price: Option<i64>,
    pub(super) position: i32,
}

#[derive(Serialize)]
pub(super) struct BarcodeRow<'a> {
    pub(super) barcode: &'a str,
    #[serde(serialize_with = "ser_id")]
    pub(super) product_id: Id,
    pub(super) kind: &'static str,
    #[serde(serialize_with = "ser_opt_id")]
    pub(super) product_unit_id: Option<Id>,
    pub(super) position: i32,
}

#[derive(Serialize)]
pub(super) struct MovementRow {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    #[serde(serialize_with = "ser_id")]
    pub(super) product_id: Id,
    pub(super) delta_milli: i64,
    pub(super) note: &'static str,
    #[serde(serialize_with = "ser_ts")]
    pub(super) created_at: Timestamp,
}

#[derive(Serialize)]
pub(super) struct CustomerRow<'a> {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    pub(super) name: &'a str,
    pub(super) name_key: &'a str,
    pub(super) phone: &'a str,
    pub(super) email: Option<&'a str>,
    pub(super) note: Option<&'a str>,
    pub(super) legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    pub(super) created_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub(super) updated_at: Timestamp,
    #[serde(serialize_with = "ser_opt_ts")]
    pub(super) deleted_at: Option<Timestamp>,
}

#[derive(Serialize)]
pub(super) struct UserRow<'a> {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    pub(super) email: &'a str,
    pub(super) name: &'a str,
    pub(super) role: &'a str,
    pub(super) password_hash: &'a str,
    pub(super) active: bool,
    pub(super) legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    pub(super) created_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub(super) updated_at: Timestamp,
    #[serde(serialize_with = "ser_opt_ts")]
    pub(super) deleted_at: Option<Timestamp>,
}

#[derive(Serialize)]
pub(super) struct SaleRow<'a> {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    pub(super) invoice_number: &'a str,
    pub(super) invoice_seq: Option<i64>,
    pub(super) status: &'a str,
    #[serde(serialize_with = "ser_opt_id")]
    pub(super) customer_id: Option<Id>,
    #[serde(serialize_with = "ser_opt_id")]
    pub(super) cashier_id: Option<Id>,
    pub(super) note: Option<&'a str>,
    pub(super) subtotal: i64,
    pub(super) discount_total: i64,
    pub(super) tax_total: i64,
    pub(super) total: i64,
    pub(super) paid: i64,
    pub(super) change: i64,
    #[serde(serialize_with = "ser_ts")]
    pub(super) sold_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub(super) created_at: Timestamp,
    #[serde(serialize_with = "ser_opt_ts")]
    pub(super) voided_at: Option<Timestamp>,
    pub(super) legacy_id: Option<&'a str>,
}

#[derive(Serialize)]
pub(super) struct LineRow<'a> {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    #[serde(serialize_with = "ser_id")]
    pub(super) sale_id: Id,
    pub(super) position: i32,
    #[serde(serialize_with = "ser_opt_id")]
    pub(super) product_id: Option<Id>,
    pub(super) name: &'a str,
    pub(super) barcode: Option<&'a str>,
    #[serde(serialize_with = "ser_opt_id")]
    pub(super) unit_id: Option<Id>,
    pub(super) factor: i64,
    pub(super) quantity_milli: i64,
    pub(super) price: i64,
    pub(super) discount: i64,
    pub(super) tax_rate: i32,
    pub(super) tax: i64,
    pub(super) total: i64,
}

#[derive(Serialize)]
pub(super) struct PaymentRow<'a> {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    #[serde(serialize_with = "ser_id")]
    pub(super) sale_id: Id,
    pub(super) method: &'a str,
    pub(super) amount: i64,
    pub(super) reference: Option<&'a str>,
    pub(super) legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    pub(super) created_at: Timestamp,
}

pub(super) fn named_rows(rows: &[ImportNamed]) -> Vec<NamedRow<'_>> {
    rows.iter()
        .map(|r| NamedRow {
            id: r.id,
            name: &r.name,
            name_key: &r.name_key,
            parent_id: r.parent_id,
            legacy_id: r.legacy_id.as_deref(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect()
}

/// A product's rows: itself (with the read model `ProductRepo` keeps), its packs, its barcodes
/// (own first, then alternates, then packs', positions in that order, as `ProductRepo` writes
/// them) and its opening stock.
#[derive(Default)]
pub(super) struct ProductRows<'a> {
    pub(super) packs: Vec<PackRow>,
    pub(super) barcodes: Vec<BarcodeRow<'a>>,
    pub(super) movements: Vec<MovementRow>,
}

/// Checks what the rows of a product need: one pack id for each pack.
pub(super) fn check_packs(rows: &[ImportProduct]) -> Result<()> {
    match rows.iter().find(|p| p.pack_ids.len() != p.draft.units.len()) {
        Some(p) => Err(StorageError::Invalid {
            field: "pack_ids".into(),
            message: format!("{} pack ids for {} packs", p.pack_ids.len(), p.draft.units.len()),
        }),
        None => Ok(()),
    }
}

pub(super) fn product_row(p: &ImportProduct) -> Result<ProductRow<'_>> {
    let d = &p.draft;
    let live = p.deleted_at.is_none();
    Ok(ProductRow {
        id: p.id,
        name: &d.name,
        name_key: &d.name_key,
        sku: d.sku.as_deref(),
        price: d.price,
        cost: d.cost,
        tax_rate: d.tax_rate,
        category_id: d.category_id,
        brand_id: d.brand_id,
        unit_id: d.unit_id,
        stock_milli: p.stock_milli,
        status: if d.active { "active" } else { "inactive" },
        show_in_quick_products: live && d.show_in_quick_products,
        barcode: if live { d.barcode.as_deref() } else { None },
        alternate_barcodes: if live {
            serde_json::to_string(&d.alternate_barcodes).map_err(StorageError::corrupt)?
        } else {
            "[]".to_owned()
        },
        units: if live { serde_json::to_string(&d.units).map_err(StorageError::corrupt)? } else { "[]".to_owned() },
        legacy_id: p.legacy_id.as_deref(),
        created_at: p.created_at,
        updated_at: p.updated_at,
        deleted_at: p.deleted_at,
    })
}

impl<'a> ProductRows<'a> {
    /// The packs and barcodes of a product (none when it is deleted).
    pub(super) fn add_codes(&mut self, p: &'a ImportProduct) {
        if p.deleted_at.is_some() {
            return;
        }
        let d = &p.draft;
        let mut position = 0;
        let mut code = |barcodes: &mut Vec<BarcodeRow<'a>>, barcode: &'a str, kind: &'static str, unit: Option<Id>| {
            barcodes.push(BarcodeRow { barcode, product_id: p.id, kind, product_unit_id: unit, position });
            position += 1;
        };
        if let Some(b) = &d.barcode {
            code(&mut self.barcodes, b, "primary", None);
        }
        for b in &d.alternate_barcodes {
            code(&mut self.barcodes, b, "alternate", None);
        }
        for (i, (pack, pack_id)) in d.units.iter().zip(&p.pack_ids).enumerate() {
            self.packs.push(PackRow {
                id: *pack_id,
                product_id: p.id,
                unit_id: pack.unit_id,
                factor: pack.factor,
                price: pack.price,
                position: i as i32,
            });
            if let Some(b) = &pack.barcode {
                code(&mut self.barcodes, b, "unit", Some(*pack_id));
            }
        }
    }

    /// Its opening stock, as a movement (reason `import`), when it is not 0.
    pub(super) fn add_opening_stock(&mut self, p: &ImportProduct) {
        if p.stock_milli != 0 {
            self.movements.push(MovementRow {
                id: p.stock_movement_id,
                product_id: p.id,
                delta_milli: p.stock_milli,
                note: "opening stock from the legacy system",
                created_at: p.updated_at,
            });
        }
    }
}

/// A product written over: what the replacing statements need besides its row.
#[derive(Serialize)]
pub(super) struct StockRow {
    #[serde(serialize_with = "ser_id")]
    pub(super) id: Id,
    /// The movement that brings a changed legacy stock across (the difference).
    #[serde(serialize_with = "ser_id")]
    pub(super) stock_movement_id: Id,
    pub(super) stock_milli: i64,
    #[serde(serialize_with = "ser_ts")]
    pub(super) updated_at: Timestamp,
}

pub(super) fn customer_row(c: &ImportCustomer) -> CustomerRow<'_> {
    CustomerRow {
        id: c.id,
        name: &c.name,
        name_key: &c.name_key,
        phone: &c.phone,
        email: c.email.as_deref(),
        note: c.note.as_deref(),
        legacy_id: c.legacy_id.as_deref(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        deleted_at: c.deleted_at,
    }
}

pub(super) fn user_row(u: &ImportUser) -> UserRow<'_> {
    UserRow {
        id: u.id,
        email: &u.email,
        name: &u.name,
        role: &u.role,
        password_hash: &u.password_hash,
        active: u.active,
        legacy_id: u.legacy_id.as_deref(),
        created_at: u.created_at,
        updated_at: u.updated_at,
        deleted_at: u.deleted_at,
    }
}

pub(super) fn sale_row(s: &ImportSale) -> SaleRow<'_> {
    SaleRow {
        id: s.id,
        invoice_number: &s.invoice_number,
        invoice_seq: s.invoice_seq,
        status: &s.status,
        customer_id: s.customer_id,
        cashier_id: s.cashier_id,
        note: s.note.as_deref(),
        subtotal: s.subtotal,
        discount_total: s.discount_total,
        tax_total: s.tax_total,
        total: s.total,
        paid: s.paid,
        change: s.change,
        sold_at: s.sold_at,
        created_at: s.created_at,
        voided_at: s.voided_at,
        legacy_id: s.legacy_id.as_deref(),
    }
}

pub(super) fn line_rows(s: &ImportSale) -> impl Iterator<Item = LineRow<'_>> {
    s.lines.iter().enumerate().map(move |(i, l)| LineRow {
        id: l.id,
        sale_id: s.id,
        position: i as i32,
        product_id: l.product_id,
        name: &l.name,
        barcode: l.barcode.as_deref(),
        unit_id: l.unit_id,
        factor: l.factor,
        quantity_milli: l.quantity_milli,
        price: l.price,
        discount: l.discount,
        tax_rate: l.tax_rate,
        tax: l.tax,
        total: l.total,
    })
}

pub(super) fn payment_row(p: &ImportPayment) -> PaymentRow<'_> {
    PaymentRow {
        id: p.id,
        sale_id: p.sale_id,
        method: &p.method,
        amount: p.amount,
        reference: p.reference.as_deref(),
        legacy_id: p.legacy_id.as_deref(),
        created_at: p.created_at,
    }
}

// ---------------------------------------------------------------------------------------------
// Fingerprints. `source` is of every row the importer writes for a record (its own row with its
// times and stock, a product's packs and barcodes, a sale's lines): equal fingerprints, equal
// rows. `row` is of what Tills can change of the record, built from the same values whether
// they come from the rows written (here) or from the database (`views` in `mod.rs`).

/// The first 8 bytes of the SHA-256 of the value's JSON.
pub(super) fn hash<T: Serialize + ?Sized>(v: &T) -> i64 {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// A JSON text column as a value, so that the same content gives the same fingerprint however
/// it was spaced.
pub(super) fn json_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

/// What Tills can change of a category, brand or unit.
#[derive(Serialize)]
pub(super) struct NamedView<'a> {
    pub(super) name: &'a str,
    pub(super) parent_id: Option<Id>,
}

#[derive(Serialize)]
pub(super) struct ProductView<'a> {
    pub(super) name: &'a str,
    pub(super) sku: Option<&'a str>,
    pub(super) price: i64,
    pub(super) cost: Option<i64>,
    pub(super) tax_rate: i32,
    pub(super) category_id: Option<Id>,
    pub(super) brand_id: Option<Id>,
    pub(super) unit_id: Option<Id>,
    pub(super) status: &'a str,
    pub(super) show_in_quick_products: bool,
    pub(super) barcode: Option<&'a str>,
    pub(super) alternate_barcodes: serde_json::Value,
    pub(super) units: serde_json::Value,
    pub(super) deleted: bool,
}

#[derive(Serialize)]
pub(super) struct CustomerView<'a> {
    pub(super) name: &'a str,
    pub(super) phone: &'a str,
    pub(super) email: Option<&'a str>,
    pub(super) note: Option<&'a str>,
    pub(super) deleted: bool,
}

#[derive(Serialize)]
pub(super) struct UserView<'a> {
    pub(super) email: &'a str,
    pub(super) name: &'a str,
    pub(super) role: &'a str,
    pub(super) password_hash: &'a str,
    pub(super) active: bool,
    pub(super) deleted: bool,
}

/// What Tills can change of a sale: its status (void, refund).
#[derive(Serialize)]
pub(super) struct SaleView<'a> {
    pub(super) status: &'a str,
    pub(super) voided: bool,
}

impl ImportNamed {
    pub fn fingerprint(&self) -> Fingerprint {
        let row = named_rows(std::slice::from_ref(self));
        Fingerprint { source: hash(&row), row: hash(&NamedView { name: &self.name, parent_id: self.parent_id }) }
    }
}

impl ImportProduct {
    pub fn fingerprint(&self) -> Fingerprint {
        let Ok(row) = product_row(self) else { return Fingerprint { source: 0, row: 0 } };
        let mut rows = ProductRows::default();
        rows.add_codes(self);
        let view = ProductView {
            name: row.name,
            sku: row.sku,
            price: row.price,
            cost: row.cost,
            tax_rate: row.tax_rate,
            category_id: row.category_id,
            brand_id: row.brand_id,
            unit_id: row.unit_id,
            status: row.status,
            show_in_quick_products: row.show_in_quick_products,
            barcode: row.barcode,
            alternate_barcodes: json_value(&row.alternate_barcodes),
            units: json_value(&row.units),
            deleted: row.deleted_at.is_some(),
        };
        Fingerprint { source: hash(&(&row, &rows.packs, &rows.barcodes)), row: hash(&view) }
    }
}

impl ImportCustomer {
    pub fn fingerprint(&self) -> Fingerprint {
        let view = CustomerView {
            name: &self.name,
            phone: &self.phone,
            email: self.email.as_deref(),
            note: self.note.as_deref(),
            deleted: self.deleted_at.is_some(),
        };
        Fingerprint { source: hash(&customer_row(self)), row: hash(&view) }
    }
}

impl ImportUser {
    pub fn fingerprint(&self) -> Fingerprint {
        let view = UserView {
            email: &self.email,
            name: &self.name,
            role: &self.role,
            password_hash: &self.password_hash,
            active: self.active,
            deleted: self.deleted_at.is_some(),
        };
        Fingerprint { source: hash(&user_row(self)), row: hash(&view) }
    }
}

impl ImportSale {
    /// `source` leaves the status out: a sale is written once, and only its status may change
    /// (a legacy sale voided since), which `row` tells.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut row = sale_row(self);
        row.status = "";
        row.voided_at = None;
        let lines: Vec<LineRow<'_>> = line_rows(self).collect();
        Fingerprint {
            source: hash(&(&row, &lines)),
            row: hash(&SaleView { status: &self.status, voided: self.voided_at.is_some() }),
        }
    }
}

impl ImportPayment {
    /// A payment never changes in Tills: `row` is 0.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint { source: hash(&payment_row(self)), row: 0 }
    }
}

/// A row of `import_rows` to write (insert, or replace what an earlier run wrote).
#[derive(Serialize)]
pub(super) struct TrackRow<'a> {
    pub(super) kind: &'static str,
    #[serde(serialize_with = "ser_id")]
    pub(super) row_id: Id,
    pub(super) legacy_id: &'a str,
    pub(super) source_hash: i64,
    pub(super) row_hash: i64,
    #[serde(serialize_with = "ser_opt_ts")]
    pub(super) written_at: Option<Timestamp>,
    pub(super) amount: Option<i64>,
}

impl<'a> TrackRow<'a> {
    pub(super) fn new(
        kind: ImportKind,
        row_id: Id,
        legacy_id: &'a str,
        f: Fingerprint,
        written_at: Option<Timestamp>,
        amount: Option<i64>,
    ) -> TrackRow<'a> {
        TrackRow { kind: kind.as_str(), row_id, legacy_id, source_hash: f.source, row_hash: f.row, written_at, amount }
    }
}
