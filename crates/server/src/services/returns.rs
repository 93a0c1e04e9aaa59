//! Returns without a receipt (a manager's, or with a manager's approval): goods taken back at
//! the catalog's price now unless a price is given, paid out by the methods given, counted
//! under refunds in every report.

use serde_json::json;
use tills_domain::pricing::{self, LineInput, PricingError};
use tills_domain::{Embedded, Money, Quantity, new_id};
use tills_storage::{Idempotent, NewAudit, NewPayment, NewReturn, NewReturnLine, ReturnRecord, Store, StoreRecord};

use crate::cache::ProductCache;
use crate::services::checkout::{ClientRef, Item, MAX_LINES, Tender};
use crate::services::{Actor, ServiceError, ServiceResult, scan};

/// A line brought back.
#[derive(Debug, Clone)]
pub struct ReturnLine {
    pub item: Item,
    /// Default 1; packs for a pack; none with a scale label.
    pub quantity: Option<Quantity>,
    /// The price to give back for each; default the catalog's price now.
    pub price: Option<Money>,
}

#[derive(Debug, Clone)]
pub struct GoodsBack {
    pub client_ref: Option<ClientRef>,
    /// Why (1-200 characters).
    pub reason: String,
    /// The goods go back to stock.
    pub restock: bool,
    pub lines: Vec<ReturnLine>,
    /// Must come to the return's total.
    pub payouts: Vec<Tender>,
}

#[derive(Debug)]
pub enum Returned {
    Created(ReturnRecord),
    /// The return this `clientRef` already names.
    Replayed(ReturnRecord),
}

pub async fn take_back(
    db: &dyn Store,
    cache: &ProductCache,
    settings: &StoreRecord,
    actor: Actor<'_>,
    goods: GoodsBack,
) -> ServiceResult<Returned> {
    actor.require_manager()?;
    let reason = goods.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ServiceError::invalid("reason", "a reason is 1-200 characters"));
    }
    if goods.lines.is_empty() || goods.lines.len() > MAX_LINES {
        return Err(ServiceError::invalid("lines", "a return has 1 to 1000 lines"));
    }
    let mut inputs = Vec::with_capacity(goods.lines.len());
    let mut lines = Vec::with_capacity(goods.lines.len());
    for (i, l) in goods.lines.iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        let (product, pack, embedded, barcode) = match &l.item {
            Item::Product { id, unit_id } => {
                let p = db.get_product(actor.store, *id).await?;
                let p = p.ok_or_else(|| ServiceError::invalid(at("productId"), "no such product in this store"))?;
                let pack = match unit_id {
                    Some(u) => Some(
                        p.units
                            .iter()
                            .find(|x| x.unit_id == *u)
                            .cloned()
                            .ok_or_else(|| ServiceError::invalid(at("unitId"), "this product has no such pack"))?,
                    ),
                    None => None,
                };
                (p, pack, None, None)
            }
            Item::Barcode(code) => match scan::scan(cache, actor.store, settings, code).await {
                Ok(s) => (s.found.product.clone(), s.found.pack.clone(), s.embedded, Some(code.clone())),
                Err(ServiceError::NotFound) => {
                    return Err(ServiceError::invalid(at("barcode"), "no product with this barcode in this store"));
                }
                Err(e) => return Err(e),
            },
        };
        let (factor, catalog_price) = match &pack {
            Some(p) => (p.factor, p.price.unwrap_or_else(|| product.price.saturating_mul(p.factor))),
            None => (1, product.price),
        };
        let price = l.price.map_or(catalog_price, Money::minor);
        let mut gross_override = None;
        let quantity_milli = match (embedded, l.quantity) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::invalid(at("quantity"), "a scale label carries its own quantity"));
            }
            (Some(Embedded::Weight(q)), None) => q.milli(),
            (Some(Embedded::Price(p)), None) => {
                gross_override = Some(p.minor());
                pricing::quantity_for_price_label(p.minor(), catalog_price)
            }
            (None, Some(q)) => q.milli(),
            (None, None) => 1000,
        };
        if quantity_milli <= 0 || quantity_milli > 1_000_000_000 {
            return Err(ServiceError::invalid(at("quantity"), "quantity must be above 0 (at most a million)"));
        }
        inputs.push(LineInput {
            price,
            quantity_milli,
            discount: 0,
            tax_rate: i64::from(product.tax_rate),
            gross_override,
        });
        lines.push((product, barcode, factor, quantity_milli, price));
    }
    let totals = pricing::price(&inputs, 0, settings.prices_include_tax).map_err(|e| match e {
        PricingError::TooLarge => ServiceError::invalid("lines", "the amounts are too large"),
        _ => ServiceError::invalid("lines", "the return cannot be priced"),
    })?;
    let paid: i64 = goods.payouts.iter().map(|p| p.amount.minor()).sum();
    if paid != totals.total || goods.payouts.is_empty() && totals.total > 0 {
        return Err(ServiceError::invalid(
            "payments",
            format!("the payouts come to {paid}, the return to {}", totals.total),
        ));
    }
    let mut payouts = Vec::with_capacity(goods.payouts.len());
    for (i, p) in goods.payouts.iter().enumerate() {
        if p.amount.minor() == 0 {
            return Err(ServiceError::invalid(format!("payments[{i}].amount"), "a payout's amount is above 0"));
        }
        let reference = p.reference.as_ref().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if reference.as_ref().is_some_and(|r| r.chars().count() > 100) {
            return Err(ServiceError::invalid(format!("payments[{i}].reference"), "at most 100 characters"));
        }
        payouts.push(NewPayment { id: new_id(), method: p.method, amount: p.amount.minor(), reference });
    }
    let id = new_id();
    let new = NewReturn {
        id,
        client_ref: goods.client_ref.map(|c| (c.value, c.request_hash)),
        reason: reason.to_owned(),
        restock: goods.restock,
        subtotal: totals.subtotal,
        tax_total: totals.tax_total,
        total: totals.total,
        created_by: actor.audit_id(),
        approved_by: actor.approved_by,
        lines: lines
            .into_iter()
            .zip(&totals.lines)
            .map(|((product, barcode, factor, quantity_milli, price), t)| NewReturnLine {
                id: new_id(),
                product_id: product.id,
                name: product.name,
                barcode: barcode.or(product.barcode),
                quantity_milli: quantity_milli.saturating_mul(factor),
                price,
                tax_rate: product.tax_rate,
                tax: t.tax,
                total: t.total,
            })
            .collect(),
        payouts,
        audit: NewAudit::new("return.create").by(actor.audit_id(), None).target(id).detail(json!({
            "reason": reason, "total": totals.total, "restock": goods.restock, "approvedBy": actor.approved_by,
        })),
    };
    match db.create_return(actor.store, new).await? {
        Idempotent::Created(r) => Ok(Returned::Created(r)),
        Idempotent::Replayed { existing, same_request: true } => Ok(Returned::Replayed(existing)),
        Idempotent::Replayed { .. } => Err(ServiceError::IdempotencyMismatch("return")),
    }
}
