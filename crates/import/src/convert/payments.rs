//! Payments (`{prefix}_payments`): each belongs to a sale of the store (one whose sale is gone is
//! skipped, its amount in the report); an unknown method imported as `voucher` with the legacy
//! method as its reference.

use std::collections::HashMap;

use tills_domain::{Id, Money};
use tills_storage::ImportPayment;

use super::{Conv, LegacyDoc, Num, Refs, field, reference, text, uid, unique};
use crate::decimal;
use crate::report::{Action, Kind, Reason};

/// Converts the payments of the store's sales (`sale_refs`: legacy id → row id); returns what
/// each sale was paid, which its `paid` is.
pub(super) fn convert(c: &mut Conv<'_>, payment_docs: &[LegacyDoc], sale_refs: &Refs) -> HashMap<Id, i64> {
    let payments = unique(c, payment_docs, Kind::Payments, Some("amount"));
    let mut paid: HashMap<Id, i64> = HashMap::new();
    for s in &payments {
        let kind = Kind::Payments;
        let d = &s.doc.doc;
        let legacy_amount = field(d, "amount")
            .and_then(|v| decimal::scale_bson(v, c.decimals, Money::MAX).ok())
            .map(|x| x.value)
            .unwrap_or(0);
        let sale_id = match reference(d, "saleId") {
            Some(k) => match sale_refs.get(&k) {
                Some(id) => *id,
                None => {
                    c.entry_with(
                        s,
                        kind,
                        Action::Skipped,
                        Reason::OrphanReference,
                        format!(
                            "saleId {k} names no sale of this store: a payment must belong to a sale; \
                             not imported (amount {legacy_amount}, method {:?})",
                            text(d, "method").unwrap_or_default()
                        ),
                        Some(-legacy_amount),
                    );
                    continue;
                }
            },
            None => {
                c.entry_with(
                    s,
                    kind,
                    Action::Skipped,
                    Reason::MissingField,
                    format!(
                        "saleId is missing: a payment must belong to a sale; not imported (amount {legacy_amount})"
                    ),
                    Some(-legacy_amount),
                );
                continue;
            }
        };
        let amount = match c.money(s, kind, d, "amount", "0") {
            Num::Value(v) if v >= 0 => v,
            Num::Value(v) => {
                c.entry_with(
                    s,
                    kind,
                    Action::Skipped,
                    Reason::InvalidField,
                    format!("amount {v} is negative (payments are amounts taken); not imported"),
                    Some(-v),
                );
                continue;
            }
            Num::Missing => {
                c.entry(s, kind, Action::Altered, Reason::MissingField, "amount is missing; imported as 0".into());
                0
            }
            Num::Invalid => 0,
        };
        let raw_method = text(d, "method");
        let (method, reference) = match raw_method.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some(m @ ("cash" | "card" | "mobile" | "voucher")) => (m.to_owned(), None),
            Some(_) => {
                let raw = raw_method.clone().unwrap_or_default();
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("method {raw:?} is not cash, card, mobile or voucher; imported as voucher, reference \"legacy method: {raw}\""),
                );
                ("voucher".to_owned(), Some(format!("legacy method: {raw}")))
            }
            None => {
                c.entry(s, kind, Action::Altered, Reason::MissingField, "method is missing; imported as cash".into());
                ("cash".to_owned(), None)
            }
        };
        *paid.entry(sale_id).or_default() += amount;
        c.out.payments.push(ImportPayment {
            id: uid(c.store, "payments", &s.key),
            sale_id,
            method,
            amount,
            reference,
            legacy_id: Some(s.key.clone()),
            created_at: s.created,
        });
    }

    paid
}
