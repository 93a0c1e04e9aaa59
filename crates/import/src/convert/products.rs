//! Products (`{prefix}_products`) and their packs (`units[]`): money in minor units, tax in basis
//! points, stock in thousandths; a barcode an earlier product holds is dropped (the product
//! imported inactive); a deleted product imported deleted, its barcodes free.
use std::collections::{HashMap, HashSet};

use bson::{Bson, Document};
use tills_domain::{Barcode, Id, Quantity, name_key};
use tills_storage::{ExistingKeys, ImportProduct, Pack, ProductDraft};

use super::{
    Claims, Conv, NameTable, Num, Refs, Sorted, boolean, clean_name, date, field, reference, resolve, short, text, uid,
    units,
};
use crate::decimal;
use crate::report::{Action, Kind, Reason};

/// What a sale line needs of its product.
pub(super) struct ProductInfo {
    pub(super) id: Id,
    pub(super) name: String,
    pub(super) tax_rate: i32,
    /// Packs by barcode: (unit id, factor).
    pub(super) packs: HashMap<String, (Id, i64)>,
}

pub(super) fn convert(
    c: &mut Conv<'_>,
    docs: &[Sorted<'_>],
    categories: &Refs,
    brands: &NameTable,
    units: &mut NameTable,
    existing: &ExistingKeys,
) -> HashMap<String, ProductInfo> {
    let ours: HashSet<Id> = docs.iter().map(|s| uid(c.store, "products", &s.key)).collect();
    let mut barcodes = Claims::new(&existing.barcodes, &ours, &existing.held_by_tills);
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
    units: &mut NameTable,
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
            let why = match &unit_ref {
                Some(k) => format!("unitId {k} names no unit of this store"),
                None => "the pack names no unit".to_owned(),
            };
            let id = units::for_pack(c, s, units, &name);
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
