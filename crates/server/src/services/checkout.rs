//! Checkout: a cart becomes priced lines, totals and payments — the same code for a quote and a
//! sale, so a quote always equals the sale it becomes.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tills_domain::pricing::{self, LineInput, PricingError, Totals};
use tills_domain::{Embedded, Id, Money, Quantity, new_id};
use tills_storage::{NewAudit, NewPayment, NewSale, NewSaleLine, ProductRecord, StoreId, StoreRecord};

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::from_value_ref;
use crate::services::scan;
use crate::state::AppState;

pub const MAX_LINES: usize = 1000;
pub const MAX_PAYMENTS: usize = 20;
/// A line sells at most a million units.
const MAX_QUANTITY_MILLI: i64 = 1_000_000_000;

/// The body of `POST /sales` and `POST /sales/quote` (a quote ignores `clientRef` and
/// `payments`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaleBody {
    /// A fresh UUID per sale from the terminal: the same `clientRef` again answers the original
    /// sale (`200`), or `409 idempotency_mismatch` when the content differs.
    #[schema(examples("0193a5e2-7c1d-7b3e-9f21-2b8c4d5e6f70"))]
    pub client_ref: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub customer_id: Option<Id>,
    /// At most 500 characters.
    pub note: Option<String>,
    /// 1-1000 lines.
    pub lines: Vec<LineBody>,
    /// A discount on the whole sale (manager, admin), spread over the lines in proportion to
    /// their net.
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub discount: Option<Money>,
    /// A sale made while the server was unreachable, sent later with `soldAt` and each line's
    /// `price` as the terminal showed it.
    pub offline: Option<bool>,
    /// When an offline sale was sold (at most 5 minutes in the future).
    pub sold_at: Option<DateTime<Utc>>,
    /// Must cover the total (`400 insufficient_payment`); non-cash payments may not exceed it;
    /// cash beyond it comes back as `change`.
    pub payments: Option<Vec<PaymentBody>>,
}

/// A line names its product by `productId` (optionally with a `unitId` pack) or by `barcode`
/// (a pack's barcode sells that pack; a scale label carries its quantity or price).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineBody {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub product_id: Option<Id>,
    pub barcode: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub unit_id: Option<Id>,
    /// Default 1; counts packs for a pack. Not with a scale label.
    #[schema(value_type = Option<crate::openapi::Quantity>)]
    pub quantity: Option<Quantity>,
    /// A price override (manager, admin; any role for an offline sale).
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub price: Option<Money>,
    /// A line discount (manager, admin).
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub discount: Option<Money>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PaymentBody {
    #[schema(value_type = crate::openapi::PaymentMethod)]
    pub method: String,
    /// Above 0.
    #[schema(value_type = crate::openapi::Money)]
    pub amount: Money,
    /// At most 100 characters.
    pub reference: Option<String>,
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

/// The request body parsed, and its normalized form's hash (keys sorted, `clientRef` and any
/// store id left out): the same content always hashes the same.
pub fn parse_sale(raw: &[u8]) -> ApiResult<(SaleBody, String)> {
    let mut value = crate::extract::parse_value(raw)?;
    if let Value::Object(map) = &mut value {
        map.remove("storeId");
        map.remove("store_id");
    }
    let body: SaleBody = from_value_ref(&value)?;
    if let Value::Object(map) = &mut value {
        map.remove("clientRef");
    }
    Ok((body, content_hash(&value)?))
}

/// The SHA-256 (hex) of a request's content: its compact JSON, written straight into the hash.
/// serde_json keeps an object's keys in a sorted map (its `preserve_order` feature is off in
/// this build, which a test checks), so the same content hashes the same whatever order its keys
/// came in, and as it did when the keys were sorted by hand.
pub fn content_hash(value: &Value) -> ApiResult<String> {
    let mut hasher = Sha256::new();
    serde_json::to_writer(&mut hasher, value).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Prices a cart with the catalog as it is now. Checks roles (overrides and discounts need a
/// manager, offline prices excepted), products (this store's, active) and quantities.
pub async fn price_cart(
    state: &AppState,
    caller: &StoreCaller,
    settings: &StoreRecord,
    body: &SaleBody,
) -> ApiResult<PricedCart> {
    if body.lines.is_empty() {
        return Err(ApiError::invalid("lines", "a sale has at least one line"));
    }
    if body.lines.len() > MAX_LINES {
        return Err(ApiError::invalid("lines", format!("a sale has at most {MAX_LINES} lines")));
    }
    let offline = body.offline.unwrap_or(false);
    let now = tills_domain::now();
    let sold_at = match (offline, body.sold_at) {
        (true, Some(t)) if t > now + chrono::Duration::minutes(5) => {
            return Err(ApiError::invalid("soldAt", "soldAt is in the future"));
        }
        (true, Some(t)) => t,
        _ => now,
    };
    let manager = caller.role.is_manager_or_above();
    let mut audit = Vec::new();
    let mut lines = Vec::with_capacity(body.lines.len());
    let mut inputs = Vec::with_capacity(body.lines.len());
    for (i, l) in body.lines.iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        let (product, pack, embedded, barcode, product_field) = match (&l.product_id, &l.barcode) {
            (Some(id), None) => {
                let p = state.store.get_product(&caller.store, *id).await?;
                let p = p.ok_or_else(|| ApiError::invalid(at("productId"), "no such product in this store"))?;
                let pack = match l.unit_id {
                    Some(u) => Some(
                        p.units
                            .iter()
                            .find(|x| x.unit_id == u)
                            .cloned()
                            .ok_or_else(|| ApiError::invalid(at("unitId"), "this product has no such pack"))?,
                    ),
                    None => None,
                };
                (p, pack, None, None, at("productId"))
            }
            (None, Some(code)) => {
                if l.unit_id.is_some() {
                    return Err(ApiError::invalid(at("unitId"), "a barcode names its pack itself"));
                }
                let found = match scan::scan(state, &caller.store, settings, code).await {
                    Ok(s) => s,
                    Err(ApiError::NotFound) => {
                        return Err(ApiError::invalid(at("barcode"), "no product with this barcode in this store"));
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
            _ => {
                return Err(ApiError::invalid(
                    format!("lines[{i}]"),
                    "a line names its product by productId or by barcode",
                ));
            }
        };
        if !product.active {
            return Err(ApiError::invalid(product_field, format!("{} is inactive and cannot be sold", product.name)));
        }
        let (factor, catalog_price) = match &pack {
            Some(p) => (p.factor, p.price.unwrap_or_else(|| product.price.saturating_mul(p.factor))),
            None => (1, product.price),
        };
        let mut gross_override = None;
        let quantity_milli = match (embedded, l.quantity) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(at("quantity"), "a scale label carries its own quantity"));
            }
            (Some(Embedded::Weight(q)), None) => q.milli(),
            (Some(Embedded::Price(p)), None) => {
                if l.price.is_some() {
                    return Err(ApiError::invalid(at("price"), "a price label carries its own price"));
                }
                gross_override = Some(p.minor());
                pricing::quantity_for_price_label(p.minor(), catalog_price)
            }
            (None, Some(q)) => q.milli(),
            (None, None) => 1000,
        };
        if quantity_milli <= 0 {
            return Err(ApiError::invalid(at("quantity"), "quantity must be above 0"));
        }
        if quantity_milli > MAX_QUANTITY_MILLI {
            return Err(ApiError::invalid(at("quantity"), "quantity is too large"));
        }
        let price = match l.price {
            Some(p) if p.minor() != catalog_price => {
                if offline {
                    audit.push(
                        NewAudit::new("sale.offline_price")
                            .by(caller.actor(), None)
                            .target(product.id)
                            .detail(json!({"line": i, "catalogPrice": catalog_price, "price": p.minor()})),
                    );
                } else if !manager {
                    return Err(ApiError::Forbidden("price overrides need a manager or an admin"));
                } else {
                    audit.push(
                        NewAudit::new("sale.price_override")
                            .by(caller.actor(), None)
                            .target(product.id)
                            .detail(json!({"line": i, "catalogPrice": catalog_price, "price": p.minor()})),
                    );
                }
                p.minor()
            }
            _ => catalog_price,
        };
        let discount = l.discount.map(Money::minor).unwrap_or(0);
        if discount > 0 && !manager {
            return Err(ApiError::Forbidden("discounts need a manager or an admin"));
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
    let sale_discount = body.discount.map(Money::minor).unwrap_or(0);
    if sale_discount > 0 && !manager {
        return Err(ApiError::Forbidden("discounts need a manager or an admin"));
    }
    let totals = pricing::price(&inputs, sale_discount, settings.prices_include_tax).map_err(|e| match e {
        PricingError::LineDiscountTooLarge { line } => {
            ApiError::invalid(format!("lines[{line}].discount"), "the discount is above the line's amount")
        }
        PricingError::SaleDiscountTooLarge => ApiError::invalid("discount", "the discount is above the sale's amount"),
        PricingError::TooLarge => ApiError::invalid("lines", "the amounts are too large"),
    })?;
    if totals.discount_total > 0 {
        audit.push(
            NewAudit::new("sale.discount")
                .by(caller.actor(), None)
                .detail(json!({"saleDiscount": sale_discount, "discountTotal": totals.discount_total})),
        );
    }
    Ok(PricedCart { lines, totals, offline, sold_at, audit })
}

/// Checks the payments against the total: they must cover it, non-cash ones may not exceed it,
/// and cash beyond it comes back as change. Returns (payments, paid, change).
pub fn take_payments(total: i64, payments: &[PaymentBody]) -> ApiResult<(Vec<NewPayment>, i64, i64)> {
    if payments.len() > MAX_PAYMENTS {
        return Err(ApiError::invalid("payments", format!("at most {MAX_PAYMENTS} payments")));
    }
    let mut out = Vec::with_capacity(payments.len());
    let (mut paid, mut non_cash) = (0i64, 0i64);
    for (i, p) in payments.iter().enumerate() {
        let method = p.method.trim().to_lowercase();
        if !["cash", "card", "mobile", "voucher"].contains(&method.as_str()) {
            return Err(ApiError::invalid(format!("payments[{i}].method"), "method is cash, card, mobile or voucher"));
        }
        if p.amount.minor() == 0 {
            return Err(ApiError::invalid(format!("payments[{i}].amount"), "a payment's amount is above 0"));
        }
        let reference = p.reference.as_ref().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if reference.as_ref().is_some_and(|r| r.chars().count() > 100) {
            return Err(ApiError::invalid(format!("payments[{i}].reference"), "at most 100 characters"));
        }
        paid += p.amount.minor();
        if method != "cash" {
            non_cash += p.amount.minor();
        }
        out.push(NewPayment { id: new_id(), method, amount: p.amount.minor(), reference });
    }
    if paid < total {
        return Err(ApiError::InsufficientPayment(format!("the payments come to {paid}, the sale to {total}")));
    }
    if non_cash > total {
        return Err(ApiError::invalid("payments", "card, mobile and voucher payments may not exceed the total"));
    }
    Ok((out, paid, paid - total))
}

/// Everything the sale will store.
pub fn new_sale(
    caller: &StoreCaller,
    body: &SaleBody,
    hash: String,
    cart: PricedCart,
    payments: Vec<NewPayment>,
    paid: i64,
    change: i64,
) -> ApiResult<NewSale> {
    let client_ref = match &body.client_ref {
        Some(c) => Some((valid_client_ref(c)?, hash)),
        None => None,
    };
    let note = body.note.as_ref().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ApiError::invalid("note", "at most 500 characters"));
    }
    let lines = cart
        .lines
        .iter()
        .zip(&cart.totals.lines)
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
        client_ref,
        customer_id: body.customer_id,
        cashier_id: Some(caller.actor().unwrap_or(caller.user_id)),
        note,
        subtotal: cart.totals.subtotal,
        discount_total: cart.totals.discount_total,
        tax_total: cart.totals.tax_total,
        total: cart.totals.total,
        paid,
        change,
        offline: cart.offline,
        sold_at: cart.sold_at,
        lines,
        payments,
        audit: cart.audit,
    })
}

pub fn valid_client_ref(c: &str) -> ApiResult<String> {
    let c = c.trim();
    if c.is_empty() || c.len() > 100 || !c.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid("clientRef", "a clientRef is 1-100 printable characters (a UUID)"));
    }
    Ok(c.to_owned())
}

/// The sale's customer must be one of this store's.
pub async fn check_customer(state: &AppState, store: &StoreId, customer: Option<Id>) -> ApiResult<()> {
    if let Some(c) = customer
        && state.store.get_customer(store, c).await?.is_none()
    {
        return Err(ApiError::invalid("customerId", "no such customer in this store"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How the hash's text was built before `content_hash`: keys sorted by hand, recursively.
    fn sorted_by_hand(v: &Value) -> String {
        match v {
            Value::Object(map) => {
                let sorted: std::collections::BTreeMap<&String, String> =
                    map.iter().map(|(k, v)| (k, sorted_by_hand(v))).collect();
                let inner: Vec<String> =
                    sorted.into_iter().map(|(k, v)| format!("{}:{v}", Value::String(k.clone()))).collect();
                format!("{{{}}}", inner.join(","))
            }
            Value::Array(items) => format!("[{}]", items.iter().map(sorted_by_hand).collect::<Vec<_>>().join(",")),
            other => other.to_string(),
        }
    }

    #[test]
    fn a_sale_hashes_as_before_whatever_the_order_of_its_keys() {
        let body = br#"{"payments":[{"method":"cash","amount":500}],"clientRef":"r-1","storeId":"other",
            "note":"T\u00fcr \"A\"","lines":[{"quantity":2,"barcode":"4006000001005"}]}"#;
        let reordered = br#"{"lines":[{"barcode":"4006000001005","quantity":2}],"note":"T\u00fcr \"A\"",
            "payments":[{"amount":500,"method":"cash"}],"clientRef":"r-2"}"#;
        let (sale, hash) = parse_sale(body).unwrap();
        assert_eq!(sale.client_ref.as_deref(), Some("r-1"));
        assert_eq!(parse_sale(reordered).unwrap().1, hash, "key order, clientRef and storeId do not count");
        // Pinned: a retry sent before this build must still find its sale (sha256 of the sorted
        // compact JSON, computed independently).
        assert_eq!(hash, "23bf5065994228974ad0ab646ea87b8a34a0667e9013d02b78b04a49aace3319");
        let different =
            br#"{"lines":[{"barcode":"4006000001005","quantity":3}],"payments":[{"amount":500,"method":"cash"}]}"#;
        assert_ne!(parse_sale(different).unwrap().1, hash);
    }

    #[test]
    fn content_hash_is_the_hash_of_the_keys_sorted_by_hand() {
        for text in [
            r#"{"b":1,"a":[{"z":null,"y":true}],"c":{"e":-1.5,"d":"x\ny"}}"#,
            r#"[1,"two",{"B":3,"A":4,"a":5}]"#,
            r#"{"€":"snowman ☃","":0,"\u0001":"\t"}"#,
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            let by_hand = hex::encode(Sha256::digest(sorted_by_hand(&v).as_bytes()));
            assert_eq!(content_hash(&v).unwrap(), by_hand, "{text}");
        }
    }
}
