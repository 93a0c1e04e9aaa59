//! The catalog's writes: a product created, changed or deleted, and stock adjusted by hand. Each
//! checks what a product may be given what exists, writes, and then drops the barcodes it
//! touched from the product cache on every instance.

use std::collections::HashSet;

use serde_json::json;
use tills_domain::{AdjustReason, Barcode, Id, Money, Name, Quantity, StockReason, TaxRate, new_id};
use tills_storage::{NewAudit, Pack, ProductDraft, ProductRecord, StockChange, Store};

use crate::cache::ProductCache;
use crate::services::{Actor, ServiceError, ServiceResult};

/// What a create or a change asks for. In a change every field is optional (`None` keeps the
/// current value) and `Some(None)` clears an optional one; a create needs `name` and `price`.
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub barcode: Option<Option<Barcode>>,
    pub sku: Option<Option<String>>,
    pub price: Option<Money>,
    pub cost: Option<Option<Money>>,
    pub tax_rate: Option<TaxRate>,
    pub category_id: Option<Option<Id>>,
    pub brand_id: Option<Option<Id>>,
    pub unit_id: Option<Option<Id>>,
    /// Replaces the packs.
    pub units: Option<Vec<NewPack>>,
    /// Replaces the alternate barcodes.
    pub alternate_barcodes: Option<Vec<Barcode>>,
    /// On create the opening stock; in a change a stocktake (the difference is recorded).
    pub stock: Option<Quantity>,
    pub active: Option<bool>,
    pub show_in_quick_products: Option<bool>,
}

/// A pack as asked for: `factor` base units under its own barcode, at its own price or the
/// product's price × factor.
#[derive(Debug, Clone)]
pub struct NewPack {
    pub unit_id: Id,
    pub barcode: Option<Barcode>,
    pub factor: i64,
    pub price: Option<Money>,
}

/// Creates a product (manager, admin), with its opening stock.
pub async fn create_product(
    db: &dyn Store,
    cache: &ProductCache,
    actor: Actor<'_>,
    mut changes: ProductChanges,
) -> ServiceResult<ProductRecord> {
    actor.require_manager()?;
    let stock = changes.stock.take().map(Quantity::milli).unwrap_or(0);
    let draft = draft(db, actor, None, changes).await?;
    let change = StockChange {
        note: Some("opening stock".into()),
        ..StockChange::new(StockReason::Stocktake, Some(actor.user_id))
    };
    let product = db.create_product(actor.store, new_id(), &draft, stock, Some(change)).await?;
    // New barcodes may be cached as unknown.
    cache.invalidate_product(actor.store, &ProductCache::touched(None, Some(&product))).await;
    Ok(product)
}

/// Changes a product (manager, admin): any field, barcodes included; a `stock` is a stocktake.
/// A new price or a stocktake is audited.
pub async fn update_product(
    db: &dyn Store,
    cache: &ProductCache,
    actor: Actor<'_>,
    id: Id,
    mut changes: ProductChanges,
) -> ServiceResult<ProductRecord> {
    actor.require_manager()?;
    let current = db.get_product(actor.store, id).await?.ok_or(ServiceError::NotFound)?;
    let stocktake = changes.stock.take().map(Quantity::milli);
    let price_before = current.price;
    let draft = draft(db, actor, Some(&current), changes).await?;
    let change = StockChange::new(StockReason::Stocktake, Some(actor.user_id));
    let (before, after) = db.update_product(actor.store, id, &draft, stocktake.map(|s| (s, change))).await?;
    cache.invalidate_product(actor.store, &ProductCache::touched(Some(&before), Some(&after))).await;
    if after.price != price_before || stocktake.is_some() {
        let audit = NewAudit::new(if stocktake.is_some() { "stock.stocktake" } else { "product.price" })
            .by(actor.audit_id(), None)
            .target(id)
            .detail(json!({"priceBefore": price_before, "price": after.price, "stock": Quantity::from_milli(after.stock_milli).ok()}));
        db.append_audit(actor.store, audit).await?;
    }
    Ok(after)
}

/// Deletes a product (manager, admin): gone from reads, lists and scans, its barcodes free again;
/// past sales keep their lines.
pub async fn delete_product(db: &dyn Store, cache: &ProductCache, actor: Actor<'_>, id: Id) -> ServiceResult<()> {
    actor.require_manager()?;
    let before = db.delete_product(actor.store, id).await?;
    cache.invalidate_product(actor.store, &ProductCache::touched(Some(&before), None)).await;
    Ok(())
}

/// Adjusts a product's stock by hand (manager, admin), with the reason and an optional note,
/// audited.
pub async fn adjust_stock(
    db: &dyn Store,
    cache: &ProductCache,
    actor: Actor<'_>,
    id: Id,
    delta: Quantity,
    reason: AdjustReason,
    note: Option<String>,
) -> ServiceResult<ProductRecord> {
    actor.require_manager()?;
    if delta.milli() == 0 {
        return Err(ServiceError::invalid("delta", "delta must not be 0"));
    }
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ServiceError::invalid("note", "at most 500 characters"));
    }
    let change = StockChange { note: note.clone(), ..StockChange::new(reason.into(), Some(actor.user_id)) };
    let product = db.adjust_stock(actor.store, id, delta.milli(), change).await?;
    cache.invalidate_product(actor.store, &ProductCache::touched(None, Some(&product))).await;
    let audit = NewAudit::new("stock.adjust")
        .by(actor.audit_id(), None)
        .target(id)
        .detail(json!({"delta": delta, "reason": reason, "note": note}));
    db.append_audit(actor.store, audit).await?;
    Ok(product)
}

/// Builds the product a create (no `current`) or a change asks for, and checks that every id it
/// references belongs to the actor's store.
async fn draft(
    db: &dyn Store,
    actor: Actor<'_>,
    current: Option<&ProductRecord>,
    changes: ProductChanges,
) -> ServiceResult<ProductDraft> {
    let name = match (&changes.name, current) {
        (Some(n), _) => Name::parse(n).map_err(|e| ServiceError::invalid("name", e))?,
        (None, Some(c)) => Name::parse(&c.name).map_err(|e| ServiceError::invalid("name", e))?,
        (None, None) => return Err(ServiceError::invalid("name", "name is required")),
    };
    let price = match (changes.price, current) {
        (Some(p), _) => p.minor(),
        (None, Some(c)) => c.price,
        (None, None) => {
            return Err(ServiceError::invalid("price", "price is required (in minor units: 150 for 1.50)"));
        }
    };
    let sku = pick(changes.sku, current.map(|c| c.sku.clone())).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if sku.as_ref().is_some_and(|s| s.chars().count() > 64 || s.chars().any(char::is_control)) {
        return Err(ServiceError::invalid("sku", "a sku is at most 64 characters"));
    }
    let units: Vec<Pack> = match changes.units {
        Some(packs) => packs
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                if p.factor < 1 || p.factor > 1_000_000 {
                    return Err(ServiceError::invalid(format!("units[{i}].factor"), "factor is a whole number from 1"));
                }
                Ok(Pack {
                    unit_id: p.unit_id,
                    barcode: p.barcode.map(|b| b.as_str().to_owned()),
                    factor: p.factor,
                    price: p.price.map(Money::minor),
                })
            })
            .collect::<ServiceResult<_>>()?,
        None => current.map(|c| c.units.clone()).unwrap_or_default(),
    };
    let mut seen_units = HashSet::new();
    for (i, p) in units.iter().enumerate() {
        if !seen_units.insert(p.unit_id) {
            return Err(ServiceError::invalid(format!("units[{i}].unitId"), "a product has at most one pack per unit"));
        }
    }
    let draft = ProductDraft {
        name_key: name.key(),
        name: name.into_string(),
        sku,
        price,
        cost: pick(changes.cost, current.map(|c| c.cost.and_then(|v| Money::new(v).ok()))).map(Money::minor),
        tax_rate: changes.tax_rate.map(|t| t.basis_points() as i32).or(current.map(|c| c.tax_rate)).unwrap_or(0),
        category_id: pick(changes.category_id, current.map(|c| c.category_id)),
        brand_id: pick(changes.brand_id, current.map(|c| c.brand_id)),
        unit_id: pick(changes.unit_id, current.map(|c| c.unit_id)),
        barcode: pick(changes.barcode.map(|b| b.map(|b| b.as_str().to_owned())), current.map(|c| c.barcode.clone())),
        alternate_barcodes: match changes.alternate_barcodes {
            Some(codes) => codes.into_iter().map(|b| b.as_str().to_owned()).collect(),
            None => current.map(|c| c.alternate_barcodes.clone()).unwrap_or_default(),
        },
        units,
        active: changes.active.or(current.map(|c| c.active)).unwrap_or(true),
        show_in_quick_products: changes
            .show_in_quick_products
            .or(current.map(|c| c.show_in_quick_products))
            .unwrap_or(false),
    };
    check_barcodes_distinct(&draft)?;
    check_refs(db, actor, &draft).await?;
    Ok(draft)
}

/// A change's field: absent keeps the current value, `Some(None)` clears it.
fn pick<T>(change: Option<Option<T>>, current: Option<Option<T>>) -> Option<T> {
    match change {
        Some(v) => v,
        None => current.flatten(),
    }
}

/// One barcode may appear once among the product's own, its alternates and its packs'.
fn check_barcodes_distinct(d: &ProductDraft) -> ServiceResult<()> {
    let mut seen = HashSet::new();
    let fields = d
        .barcode
        .iter()
        .map(|b| ("barcode".to_owned(), b))
        .chain(d.alternate_barcodes.iter().enumerate().map(|(i, b)| (format!("alternateBarcodes[{i}]"), b)))
        .chain(
            d.units
                .iter()
                .enumerate()
                .filter_map(|(i, u)| u.barcode.as_ref().map(|b| (format!("units[{i}].barcode"), b))),
        );
    for (field, code) in fields {
        if !seen.insert(code.clone()) {
            return Err(ServiceError::BarcodeTwice { code: code.clone(), field });
        }
    }
    Ok(())
}

async fn check_refs(db: &dyn Store, actor: Actor<'_>, d: &ProductDraft) -> ServiceResult<()> {
    let mut unit_ids: Vec<Id> = d.units.iter().map(|u| u.unit_id).collect();
    unit_ids.extend(d.unit_id);
    let missing = db.missing_refs(actor.store, d.category_id, d.brand_id, &unit_ids).await?;
    if missing.category {
        return Err(ServiceError::invalid("categoryId", "no such category in this store"));
    }
    if missing.brand {
        return Err(ServiceError::invalid("brandId", "no such brand in this store"));
    }
    if d.unit_id.is_some_and(|u| missing.units.contains(&u)) {
        return Err(ServiceError::invalid("unitId", "no such unit in this store"));
    }
    if let Some(i) = d.units.iter().position(|p| missing.units.contains(&p.unit_id)) {
        return Err(ServiceError::invalid(format!("units[{i}].unitId"), "no such unit in this store"));
    }
    Ok(())
}
