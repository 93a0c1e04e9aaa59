//! Checkout: a cart becomes priced lines, totals and payments — the same code for a quote and a
//! sale, so a quote always equals the sale it becomes — and a sale is written exactly once per
//! `clientRef`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use tills_domain::pricing::{self, LineInput, PricingError, Totals};
use tills_domain::{Embedded, Id, Money, PaymentMethod, Quantity, new_id};
use tills_storage::{
    Idempotent, NewAudit, NewPayment, NewSale, NewSaleLine, ProductRecord, SaleRecord, StorageError, Store, StoreRecord,
};

use crate::cache::ProductCache;
use crate::services::{Actor, ServiceError, ServiceResult, scan};

pub const MAX_LINES: usize = 1000;
pub const MAX_PAYMENTS: usize = 20;
/// A line sells at most a million units.
const MAX_QUANTITY_MILLI: i64 = 1_000_000_000;

/// What the cashier rang up.
#[derive(Debug, Clone, Default)]
pub struct Cart {
    pub customer_id: Option<Id>,
    pub note: Option<String>,
    pub lines: Vec<CartLine>,
    /// A discount on the whole sale (manager, admin), spread over the lines by their net.
    pub discount: Option<Money>,
    /// Sold while the server was unreachable: `sold_at` and each line's price as the terminal
    /// showed them are taken as they are.
    pub offline: bool,
    pub sold_at: Option<DateTime<Utc>>,
    /// The shift an offline sale was made in. An online sale belongs to its cashier's open
    /// shift, whatever it says.
    pub shift_id: Option<Id>,
}

/// How a line names what it sells.
#[derive(Debug, Clone)]
pub enum Item {
    /// A product by id, optionally one of its packs.
    Product { id: Id, unit_id: Option<Id> },
    /// A scanned code: a product's, a pack's, or a scale label.
    Barcode(String),
}

#[derive(Debug, Clone)]
pub struct CartLine {
    pub item: Item,
    /// Default 1; packs for a pack; none with a scale label.
    pub quantity: Option<Quantity>,
    /// A price override (manager, admin; anyone's for an offline sale).
    pub price: Option<Money>,
    /// A line discount (manager, admin).
    pub discount: Option<Money>,
}

/// A payment offered for a sale (or paid out by a refund).
#[derive(Debug, Clone)]
pub struct Tender {
    pub method: PaymentMethod,
    pub amount: Money,
    pub reference: Option<String>,
}

/// A `clientRef` and the hash of the request it came with: the same request again answers the
/// same sale.
#[derive(Debug, Clone)]
pub struct ClientRef {
    pub value: String,
    pub request_hash: String,
}

impl ClientRef {
    /// 1-100 printable characters (a UUID from the terminal), trimmed.
    pub fn parse(value: &str, request_hash: String) -> ServiceResult<ClientRef> {
        let value = value.trim();
        if value.is_empty() || value.len() > 100 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ServiceError::invalid("clientRef", "a clientRef is 1-100 printable characters (a UUID)"));
        }
        Ok(ClientRef { value: value.to_owned(), request_hash })
    }
}

/// A line as it will be sold.
#[derive(Debug, Clone)]
pub struct PricedLine {
    pub product: ProductRecord,
    pub barcode: Option<String>,
    pub unit_id: Option<Id>,
    pub factor: i64,
    pub quantity_milli: i64,
    pub price: i64,
    pub catalog_price: i64,
}

#[derive(Debug)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
    pub offline: bool,
    pub sold_at: DateTime<Utc>,
    pub audit: Vec<NewAudit>,
}

/// What a sale request came to.
#[derive(Debug)]
pub enum Sold {
    /// Written now.
    Created(SaleRecord),
    /// This `clientRef`'s sale, written by an earlier request with the same content.
    Replayed(SaleRecord),
}

/// Prices a cart with the catalog as it is now, writing nothing: what [`sell`] would write.
pub async fn quote(
    db: &dyn Store,
    cache: &ProductCache,
    settings: &StoreRecord,
    actor: Actor<'_>,
    cart: &Cart,
) -> ServiceResult<PricedCart> {
    check_customer(db, actor, cart.customer_id).await?;
    price_cart(db, cache, settings, actor, cart).await
}

/// Sells a cart: prices it, takes the payments, and writes the sale with its invoice number,
/// stock changes and audit entries in one transaction. With a `clientRef` the sale is written
/// once: the same request again is [`Sold::Replayed`], another one under it
/// `IdempotencyMismatch`. A retry gets its sale even when the catalog changed since and pricing
/// it again fails.
pub async fn sell(
    db: &dyn Store,
    cache: &ProductCache,
    settings: &StoreRecord,
    actor: Actor<'_>,
    cart: &Cart,
    tenders: &[Tender],
    client_ref: Option<ClientRef>,
) -> ServiceResult<Sold> {
    let sold = async {
        if let (true, Some(shift)) = (cart.offline, cart.shift_id)
            && db.get_shift(actor.store, shift).await?.is_none()
        {
            return Err(ServiceError::invalid("shiftId", "no such shift in this store"));
        }
        let priced = quote(db, cache, settings, actor, cart).await?;
        let (payments, paid, change) = take_payments(priced.totals.total, tenders)?;
        let mut sale = new_sale(actor, cart, client_ref.clone(), priced, payments, paid, change)?;
        sale.require_shift = settings.require_shift;
        Ok::<_, ServiceError>(db.create_sale(actor.store, sale).await?)
    }
    .await;
    match sold {
        Ok(Idempotent::Created(sale)) => Ok(Sold::Created(sale)),
        Ok(Idempotent::Replayed { existing, same_request: true }) => Ok(Sold::Replayed(existing)),
        Ok(Idempotent::Replayed { .. }) => Err(ServiceError::IdempotencyMismatch("sale")),
        // The lookup is paid only by requests that fail (create_sale finds the others' twins).
        Err(e) => {
            let Some(client_ref) = &client_ref else { return Err(e) };
            match db.find_client_ref(actor.store, &client_ref.value).await? {
                Some((kind, hash, id)) if kind == "sale" && hash == client_ref.request_hash => {
                    let sale = db.get_sale(actor.store, id).await?.ok_or(ServiceError::NotFound)?;
                    Ok(Sold::Replayed(sale))
                }
                Some(_) => Err(ServiceError::IdempotencyMismatch("sale")),
                None => Err(e),
            }
        }
    }
}

/// The products of a cart's lines, all looked up at once: the lines by barcode through the
/// product cache, the lines by id through the same entries when the product's own barcode is
/// known, and the rest in one storage call (one round trip on PostgreSQL, however many lines).
/// Each line by id used to be a transaction of its own, one after the other: five lines from the
/// terminal were fifteen round trips before the sale was written. `scans[i]` is line `i`'s scan.
async fn read_products(
    db: &dyn Store,
    cache: &ProductCache,
    settings: &StoreRecord,
    actor: Actor<'_>,
    cart: &Cart,
) -> ServiceResult<(HashMap<Id, ProductRecord>, Vec<Option<ServiceResult<scan::Scanned>>>)> {
    let mut ids: Vec<Id> = cart
        .lines
        .iter()
        .filter_map(|l| match l.item {
            Item::Product { id, .. } => Some(id),
            Item::Barcode(_) => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let by_id = async {
        let cached = futures_util::future::join_all(ids.iter().map(|&id| cache.product_by_id(actor.store, id))).await;
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for (id, cached) in ids.iter().zip(cached) {
            match cached? {
                Some(p) => found.push(p),
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            for p in db.get_products(actor.store, &missing).await? {
                cache.note_own_barcode(&p);
                found.push(p);
            }
        }
        Ok::<_, StorageError>(found)
    };
    let scans = futures_util::future::join_all(cart.lines.iter().map(|l| async move {
        match &l.item {
            Item::Barcode(code) => Some(scan::scan(cache, actor.store, settings, code).await),
            Item::Product { .. } => None,
        }
    }));
    let (by_id, scans) = tokio::join!(by_id, scans);
    Ok((by_id?.into_iter().map(|p| (p.id, p)).collect(), scans))
}

/// Prices a cart with the catalog as it is now. Checks roles (overrides and discounts need a
/// manager, offline prices excepted), products (this store's, active) and quantities.
async fn price_cart(
    db: &dyn Store,
    cache: &ProductCache,
    settings: &StoreRecord,
    actor: Actor<'_>,
    cart: &Cart,
) -> ServiceResult<PricedCart> {
    if cart.lines.is_empty() {
        return Err(ServiceError::invalid("lines", "a sale has at least one line"));
    }
    if cart.lines.len() > MAX_LINES {
        return Err(ServiceError::invalid("lines", format!("a sale has at most {MAX_LINES} lines")));
    }
    let offline = cart.offline;
    let now = tills_domain::now();
    let sold_at = match (offline, cart.sold_at) {
        (true, Some(t)) if t > now + chrono::Duration::minutes(5) => {
            return Err(ServiceError::invalid("soldAt", "soldAt is in the future"));
        }
        (true, Some(t)) => t,
        _ => now,
    };
    let manager = actor.may_act_as_manager();
    let approved_by = actor.approved_by;
    let mut audit = Vec::new();
    let mut lines = Vec::with_capacity(cart.lines.len());
    let mut inputs = Vec::with_capacity(cart.lines.len());
    let (by_id, mut scans) = read_products(db, cache, settings, actor, cart).await?;
    for (i, l) in cart.lines.iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        let (product, pack, embedded, barcode, product_field) = match &l.item {
            Item::Product { id, unit_id } => {
                // A product on two lines: the second line gets a copy.
                let p = by_id.get(id).cloned();
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
                (p, pack, None, None, at("productId"))
            }
            Item::Barcode(code) => {
                let scanned = scans[i].take().unwrap_or(Err(ServiceError::NotFound));
                let found = match scanned {
                    Ok(s) => s,
                    Err(ServiceError::NotFound) => {
                        return Err(ServiceError::invalid(at("barcode"), "no product with this barcode in this store"));
                    }
                    Err(e) => return Err(e),
                };
                (
                    found.found.product.clone(),
                    found.found.pack.clone(),
                    found.embedded,
                    Some(code.clone()),
                    at("barcode"),
                )
            }
        };
        if !product.active {
            return Err(ServiceError::invalid(
                product_field,
                format!("{} is inactive and cannot be sold", product.name),
            ));
        }
        let (factor, catalog_price) = match &pack {
            Some(p) => (p.factor, p.price.unwrap_or_else(|| product.price.saturating_mul(p.factor))),
            None => (1, product.price),
        };
        let mut gross_override = None;
        let quantity_milli = match (embedded, l.quantity) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::invalid(at("quantity"), "a scale label carries its own quantity"));
            }
            (Some(Embedded::Weight(q)), None) => q.milli(),
            (Some(Embedded::Price(p)), None) => {
                if l.price.is_some() {
                    return Err(ServiceError::invalid(at("price"), "a price label carries its own price"));
                }
                gross_override = Some(p.minor());
                pricing::quantity_for_price_label(p.minor(), catalog_price)
            }
            (None, Some(q)) => q.milli(),
            (None, None) => 1000,
        };
        if quantity_milli <= 0 {
            return Err(ServiceError::invalid(at("quantity"), "quantity must be above 0"));
        }
        if quantity_milli > MAX_QUANTITY_MILLI {
            return Err(ServiceError::invalid(at("quantity"), "quantity is too large"));
        }
        let price = match l.price {
            Some(p) if p.minor() != catalog_price => {
                let kind = if offline {
                    "sale.offline_price"
                } else if manager {
                    "sale.price_override"
                } else {
                    return Err(ServiceError::Forbidden("price overrides need a manager or an admin"));
                };
                audit.push(NewAudit::new(kind).by(actor.audit_id(), None).target(product.id).detail(
                    json!({"line": i, "catalogPrice": catalog_price, "price": p.minor(), "approvedBy": approved_by}),
                ));
                p.minor()
            }
            _ => catalog_price,
        };
        let discount = l.discount.map(Money::minor).unwrap_or(0);
        if discount > 0 && !manager {
            return Err(ServiceError::Forbidden("discounts need a manager or an admin"));
        }
        inputs.push(LineInput {
            price,
            quantity_milli,
            discount,
            tax_rate: i64::from(product.tax_rate),
            gross_override,
        });
        lines.push(PricedLine {
            barcode: barcode.or_else(|| product.barcode.clone()),
            unit_id: pack.map(|p| p.unit_id),
            factor,
            quantity_milli,
            price,
            catalog_price,
            product,
        });
    }
    let sale_discount = cart.discount.map(Money::minor).unwrap_or(0);
    if sale_discount > 0 && !manager {
        return Err(ServiceError::Forbidden("discounts need a manager or an admin"));
    }
    let totals = pricing::price(&inputs, sale_discount, settings.prices_include_tax).map_err(|e| match e {
        PricingError::LineDiscountTooLarge { line } => {
            ServiceError::invalid(format!("lines[{line}].discount"), "the discount is above the line's amount")
        }
        PricingError::SaleDiscountTooLarge => {
            ServiceError::invalid("discount", "the discount is above the sale's amount")
        }
        PricingError::TooLarge => ServiceError::invalid("lines", "the amounts are too large"),
    })?;
    if totals.discount_total > 0 {
        audit.push(NewAudit::new("sale.discount").by(actor.audit_id(), None).detail(
            json!({"saleDiscount": sale_discount, "discountTotal": totals.discount_total, "approvedBy": approved_by}),
        ));
    }
    Ok(PricedCart { lines, totals, offline, sold_at, audit })
}

/// Checks the payments against the total: they must cover it, non-cash ones may not exceed it,
/// and cash beyond it comes back as change. Returns (payments, paid, change).
pub fn take_payments(total: i64, tenders: &[Tender]) -> ServiceResult<(Vec<NewPayment>, i64, i64)> {
    if tenders.len() > MAX_PAYMENTS {
        return Err(ServiceError::invalid("payments", format!("at most {MAX_PAYMENTS} payments")));
    }
    let mut out = Vec::with_capacity(tenders.len());
    let (mut paid, mut non_cash) = (0i64, 0i64);
    for (i, p) in tenders.iter().enumerate() {
        if p.amount.minor() == 0 {
            return Err(ServiceError::invalid(format!("payments[{i}].amount"), "a payment's amount is above 0"));
        }
        let reference = p.reference.as_ref().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if reference.as_ref().is_some_and(|r| r.chars().count() > 100) {
            return Err(ServiceError::invalid(format!("payments[{i}].reference"), "at most 100 characters"));
        }
        paid += p.amount.minor();
        if p.method != PaymentMethod::Cash {
            non_cash += p.amount.minor();
        }
        out.push(NewPayment { id: new_id(), method: p.method, amount: p.amount.minor(), reference });
    }
    if paid < total {
        return Err(ServiceError::InsufficientPayment { paid, total });
    }
    if non_cash > total {
        return Err(ServiceError::invalid("payments", "card, mobile and voucher payments may not exceed the total"));
    }
    Ok((out, paid, paid - total))
}

/// Everything the sale will store.
fn new_sale(
    actor: Actor<'_>,
    cart: &Cart,
    client_ref: Option<ClientRef>,
    priced: PricedCart,
    payments: Vec<NewPayment>,
    paid: i64,
    change: i64,
) -> ServiceResult<NewSale> {
    let note = cart.note.as_ref().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ServiceError::invalid("note", "at most 500 characters"));
    }
    let lines = priced
        .lines
        .iter()
        .zip(&priced.totals.lines)
        .map(|(l, t)| NewSaleLine {
            id: new_id(),
            product_id: l.product.id,
            name: l.product.name.clone(),
            barcode: l.barcode.clone(),
            unit_id: l.unit_id,
            factor: l.factor,
            quantity_milli: l.quantity_milli,
            price: l.price,
            catalog_price: (l.price != l.catalog_price).then_some(l.catalog_price),
            discount: t.discount,
            tax_rate: l.product.tax_rate,
            tax: t.tax,
            total: t.total,
        })
        .collect();
    Ok(NewSale {
        id: new_id(),
        client_ref: client_ref.map(|c| (c.value, c.request_hash)),
        customer_id: cart.customer_id,
        cashier_id: actor.audit_id(),
        note,
        subtotal: priced.totals.subtotal,
        discount_total: priced.totals.discount_total,
        tax_total: priced.totals.tax_total,
        total: priced.totals.total,
        paid,
        change,
        offline: priced.offline,
        sold_at: priced.sold_at,
        shift_id: if priced.offline { cart.shift_id } else { None },
        require_shift: false,
        lines,
        payments,
        audit: priced.audit,
    })
}

/// The sale's customer must be one of this store's.
async fn check_customer(db: &dyn Store, actor: Actor<'_>, customer: Option<Id>) -> ServiceResult<()> {
    if let Some(c) = customer
        && db.get_customer(actor.store, c).await?.is_none()
    {
        return Err(ServiceError::invalid("customerId", "no such customer in this store"));
    }
    Ok(())
}
