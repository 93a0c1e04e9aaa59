//! Sales (`{prefix}_sales`) and their lines: invoice numbers kept (a later duplicate gets `-2`),
//! the store's counter continues after the highest; references resolved within the store (a line
//! whose product is gone keeps its name and prices); the sale's tax spread over its lines.

use std::collections::{BTreeMap, HashMap, HashSet};

use bson::Bson;
use tills_domain::pricing::{div_round_half_up, spread};
use tills_domain::{Id, Money, Quantity};
use tills_storage::{ExistingKeys, ImportSale, ImportSaleLine};

use super::products::ProductInfo;
use super::{
    Claims, Conv, LegacyDoc, Num, Refs, Sorted, clean_name, date, field, reference, resolve, text, uid, unique,
};
use crate::decimal;
use crate::report::{Action, Kind, Reason};

/// The trailing number of an invoice (`INV-000123` → 123) and what precedes it.
pub fn split_invoice(invoice: &str) -> (&str, Option<i64>) {
    let digits = invoice.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (prefix, number) = invoice.split_at(invoice.len() - digits);
    (prefix, if digits == 0 || digits > 18 { None } else { number.parse().ok() })
}

/// The store's sales in creation order, each `_id` once, with their row ids (payments refer to
/// them).
pub(super) fn ordered<'d>(c: &mut Conv<'_>, sale_docs: &'d [LegacyDoc]) -> (Vec<Sorted<'d>>, Refs) {
    let sales = unique(c, sale_docs, Kind::Sales, Some("total"));
    let sale_refs: Refs = sales.iter().map(|s| (s.key.clone(), uid(c.store, "sales", &s.key))).collect();
    (sales, sale_refs)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn convert(
    c: &mut Conv<'_>,
    (sales, sale_refs): &(Vec<Sorted<'_>>, Refs),
    paid: &HashMap<Id, i64>,
    products: &HashMap<String, ProductInfo>,
    customers: &Refs,
    users: &Refs,
    existing: &ExistingKeys,
) {
    let ours: HashSet<Id> = sale_refs.values().copied().collect();
    let mut invoices = Claims::new(&existing.invoice_numbers, &ours, &existing.held_by_tills);
    let mut prefixes: BTreeMap<String, u64> = BTreeMap::new();
    for s in sales.iter() {
        let kind = Kind::Sales;
        let d = &s.doc.doc;
        let legacy_total = field(d, "total")
            .and_then(|v| decimal::scale_bson(v, c.decimals, Money::MAX).ok())
            .map(|x| x.value)
            .unwrap_or(0);
        let id = sale_refs[&s.key];

        // Lines.
        let mut lines = Vec::new();
        let items: &[Bson] = match field(d, "items") {
            Some(Bson::Array(items)) => items,
            Some(other) => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("items is not an array ({}); imported without lines", decimal::describe(other)),
                );
                &[]
            }
            None => &[],
        };
        for (i, item) in items.iter().enumerate() {
            let Some(it) = item.as_document() else {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("items[{i}] is not a document ({}); not imported", decimal::describe(item)),
                );
                continue;
            };
            let product = match reference(it, "productId") {
                Some(k) => match products.get(&k) {
                    Some(p) => Some(p),
                    None => {
                        c.entry(
                            s,
                            kind,
                            Action::Altered,
                            Reason::OrphanReference,
                            format!("items[{i}].productId {k} names no product of this store; the line keeps its name"),
                        );
                        None
                    }
                },
                None => None,
            };
            let barcode = text(it, "barcode");
            let name = match text(it, "name").map(|n| clean_name(&n)).filter(|n| !n.is_empty()) {
                Some(n) => n,
                None => {
                    let n = product.map(|p| p.name.clone()).unwrap_or_else(|| "(unknown item)".to_owned());
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::MissingField,
                        format!("items[{i}].name is missing; imported as {n:?}"),
                    );
                    n
                }
            };
            let quantity_milli = match c.number(s, kind, it, "quantity", 3, Quantity::MAX_MILLI, "1") {
                Num::Value(q) => q,
                Num::Missing => {
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::MissingField,
                        format!("items[{i}].quantity is missing; imported as 1"),
                    );
                    1000
                }
                Num::Invalid => 1000,
            };
            let price = c.money(s, kind, it, "price", "0").or(0);
            let discount = c.money(s, kind, it, "discount", "0").or(0);
            let total = match c.money(s, kind, it, "total", "price × quantity − discount") {
                Num::Value(t) => t,
                other => {
                    let t = div_round_half_up(i128::from(price) * i128::from(quantity_milli), 1000) as i64 - discount;
                    if matches!(other, Num::Missing) {
                        c.entry(
                            s,
                            kind,
                            Action::Altered,
                            Reason::MissingField,
                            format!("items[{i}].total is missing; imported as price × quantity − discount = {t}"),
                        );
                    }
                    t
                }
            };
            let pack = product.and_then(|p| barcode.as_ref().and_then(|b| p.packs.get(b)));
            lines.push(ImportSaleLine {
                id: uid(c.store, "sale_lines", &format!("{}/{i}", s.key)),
                product_id: product.map(|p| p.id),
                name,
                barcode,
                unit_id: pack.map(|p| p.0),
                factor: pack.map(|p| p.1).unwrap_or(1),
                quantity_milli,
                price,
                discount,
                tax_rate: product.map(|p| p.tax_rate).unwrap_or(0),
                tax: 0,
                total,
            });
        }

        // The header, as the legacy system recorded it.
        let line_gross: i64 = lines.iter().map(|l| l.total + l.discount).sum();
        let subtotal = match c.money(s, kind, d, "subtotal", "the lines' sum") {
            Num::Value(v) => v,
            other => {
                if matches!(other, Num::Missing) {
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::MissingField,
                        format!("subtotal is missing; imported as the lines' sum {line_gross}"),
                    );
                }
                line_gross
            }
        };
        let discount = c.money(s, kind, d, "discount", "0").or(0);
        let tax = c.money(s, kind, d, "tax", "0").or(0);
        let total = match c.money(s, kind, d, "total", "subtotal − discount + tax") {
            Num::Value(v) => v,
            _ => {
                let t = subtotal - discount + tax;
                c.entry_with(
                    s,
                    kind,
                    Action::Altered,
                    Reason::MissingField,
                    format!("total is missing or unusable; imported as subtotal − discount + tax = {t}"),
                    Some(t - legacy_total),
                );
                t
            }
        };
        // Line taxes: the sale's tax spread over the lines by their totals (legacy lines had none).
        let weights: Vec<i64> = lines.iter().map(|l| l.total.max(0)).collect();
        if weights.iter().sum::<i64>() > 0 && tax >= 0 {
            for (l, t) in lines.iter_mut().zip(spread(tax, &weights)) {
                l.tax = t;
            }
        } else if let Some(first) = lines.first_mut() {
            first.tax = tax;
        }

        let status = match text(d, "status").map(|t| t.to_ascii_lowercase()).as_deref() {
            Some(st @ ("completed" | "voided" | "refunded" | "partially_refunded")) => st.to_owned(),
            other => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    if other.is_some() { Reason::InvalidField } else { Reason::MissingField },
                    format!(
                        "status {:?} is not completed, voided or refunded; imported as completed",
                        other.unwrap_or("")
                    ),
                );
                "completed".to_owned()
            }
        };
        let customer_id = resolve(c, s, kind, "customerId", customers, "customer");
        let cashier_id = resolve(c, s, kind, "cashierId", users, "user");

        let raw_invoice = text(d, "invoiceNumber");
        let base = match &raw_invoice {
            Some(inv) => inv.clone(),
            None => {
                let inv = format!("LEGACY-{}", s.key);
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::MissingField,
                    format!("invoiceNumber is missing; imported as {inv}"),
                );
                inv
            }
        };
        let mut invoice = base.clone();
        let mut seq = raw_invoice.as_deref().and_then(|inv| split_invoice(inv).1);
        if let Err(holder) = invoices.claim(&invoice, id, || format!("sale {}", s.key)) {
            let mut n = 2;
            loop {
                invoice = format!("{base}-{n}");
                if invoices.claim(&invoice, id, || format!("sale {}", s.key)).is_ok() {
                    break;
                }
                n += 1;
            }
            c.entry(
                s,
                kind,
                Action::Altered,
                Reason::DuplicateInvoice,
                format!("invoice number {base} is {}'s too; imported as {invoice}", holder.what),
            );
            seq = None;
        }
        if let Some(inv) = &raw_invoice {
            let (prefix, number) = split_invoice(inv);
            if number.is_some() {
                *prefixes.entry(prefix.to_owned()).or_default() += 1;
            }
        }
        if let Some(n) = seq {
            c.out.max_invoice_seq = Some(c.out.max_invoice_seq.map_or(n, |m| m.max(n)));
        }
        let sale_paid = paid.get(&id).copied().unwrap_or(0);
        let updated = date(d.get("updatedAt")).unwrap_or(s.created);
        c.out.sales.push(ImportSale {
            id,
            invoice_number: invoice,
            invoice_seq: seq,
            voided_at: (status == "voided").then_some(updated),
            status,
            customer_id,
            cashier_id,
            note: None,
            subtotal,
            discount_total: discount,
            tax_total: tax,
            total,
            paid: sale_paid,
            change: (sale_paid - total).max(0),
            sold_at: s.created,
            created_at: s.created,
            legacy_id: Some(s.key.clone()),
            lines,
        });
    }
    // The commonest prefix; ties go to the alphabetically first, so every run picks the same.
    c.out.invoice_prefix =
        prefixes.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))).map(|(p, _)| p.clone());
}
