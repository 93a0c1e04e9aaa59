//! The bodies of `POST /sales`, `POST /sales/quote` and `POST /sales/{id}/refunds`: parsed once,
//! hashed for idempotency, and turned into the checkout's and the refund's domain inputs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tills_domain::{Id, Money, PaymentMethod, Quantity};

use crate::error::{ApiError, ApiResult};
use crate::extract::{from_value_ref, parse_value};
use crate::services::checkout::{Cart, CartLine, ClientRef, Item, Tender};
use crate::services::refund::Refund;

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
    /// The shift an offline sale was made in (one of this store's). An online sale belongs to
    /// its cashier's open shift; this is ignored then.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub shift_id: Option<Id>,
    /// Must cover the total (`400 insufficient_payment`); non-cash payments may not exceed it;
    /// cash beyond it comes back as `change`.
    pub payments: Option<Vec<PaymentBody>>,
}

/// A line names its product by `productId` (optionally with a `unitId` pack) or by `barcode`
/// (a pack's barcode sells that pack; a scale label carries its quantity or price).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub product_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub unit_id: Option<Id>,
    /// Default 1; counts packs for a pack. Not with a scale label.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::Quantity>)]
    pub quantity: Option<Quantity>,
    /// A price override (manager, admin; any role for an offline sale).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub price: Option<Money>,
    /// A line discount (manager, admin).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub discount: Option<Money>,
}

/// A payment of a sale, or a payout of a refund.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PaymentBody {
    pub method: PaymentMethod,
    /// Above 0.
    #[schema(value_type = crate::openapi::Money)]
    pub amount: Money,
    /// At most 100 characters.
    pub reference: Option<String>,
}

impl SaleBody {
    /// The cart the checkout prices: each line names its product by id or by barcode, not both.
    pub fn cart(&self) -> ApiResult<Cart> {
        let lines = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let item = match (&l.product_id, &l.barcode) {
                    (Some(id), None) => Item::Product { id: *id, unit_id: l.unit_id },
                    (None, Some(_)) if l.unit_id.is_some() => {
                        return Err(ApiError::invalid(format!("lines[{i}].unitId"), "a barcode names its pack itself"));
                    }
                    (None, Some(code)) => Item::Barcode(code.clone()),
                    _ => {
                        return Err(ApiError::invalid(
                            format!("lines[{i}]"),
                            "a line names its product by productId or by barcode",
                        ));
                    }
                };
                Ok(CartLine { item, quantity: l.quantity, price: l.price, discount: l.discount })
            })
            .collect::<ApiResult<_>>()?;
        Ok(Cart {
            customer_id: self.customer_id,
            note: self.note.clone(),
            lines,
            discount: self.discount,
            offline: self.offline.unwrap_or(false),
            sold_at: self.sold_at,
            shift_id: self.shift_id,
        })
    }

    pub fn tenders(&self) -> Vec<Tender> {
        self.payments.as_deref().unwrap_or(&[]).iter().map(PaymentBody::tender).collect()
    }
}

impl PaymentBody {
    fn tender(&self) -> Tender {
        Tender { method: self.method, amount: self.amount, reference: self.reference.clone() }
    }
}

/// The request body parsed, and its normalized form's hash (keys sorted, `clientRef` and any
/// store id left out): the same content always hashes the same.
pub fn parse_sale(raw: &[u8]) -> ApiResult<(SaleBody, String)> {
    let mut value = parse_value(raw)?;
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

/// A `clientRef` with its request's hash, when the body has one.
pub fn client_ref(value: Option<&str>, hash: &str) -> ApiResult<Option<ClientRef>> {
    Ok(value.map(|c| ClientRef::parse(c, hash.to_owned())).transpose()?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundBody {
    /// The same `clientRef` again answers the original refund (`200`).
    client_ref: Option<String>,
    /// Default true: the refunded quantities go back to stock.
    restock: Option<bool>,
    lines: Vec<RefundLineBody>,
    /// Must equal the refund's total.
    #[serde(default)]
    payments: Vec<RefundPaymentBody>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundLineBody {
    /// A line of this sale.
    #[schema(value_type = uuid::Uuid)]
    line_id: Id,
    /// Above 0; with earlier refunds at most what was sold.
    #[schema(value_type = crate::openapi::Quantity)]
    quantity: Quantity,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RefundPaymentBody {
    method: PaymentMethod,
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
    reference: Option<String>,
}

/// The refund a body asks for: parsed once, hashed without its `clientRef`.
pub fn parse_refund(raw: &[u8]) -> ApiResult<Refund> {
    let mut value = parse_value(raw)?;
    let body: RefundBody = from_value_ref(&value)?;
    let client_ref = match &body.client_ref {
        Some(c) => {
            if let Value::Object(m) = &mut value {
                m.remove("clientRef");
            }
            client_ref(Some(c), &content_hash(&value)?)?
        }
        None => None,
    };
    Ok(Refund {
        client_ref,
        restock: body.restock.unwrap_or(true),
        lines: body.lines.iter().map(|l| (l.line_id, l.quantity)).collect(),
        payouts: body
            .payments
            .into_iter()
            .map(|p| Tender { method: p.method, amount: p.amount, reference: p.reference })
            .collect(),
    })
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
