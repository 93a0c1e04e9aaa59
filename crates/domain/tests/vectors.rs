//! The shared test vectors (tests/vectors/money-and-barcodes.json): API.md's money rules and
//! scale labels as the server computes them. The terminal's copies of the same rules
//! (crates/server/web/pricing.js and barcode.js) are run against the same file by
//! e2e/vectors.test.mjs, so a till offline shows the totals the server will book.

use serde_json::Value;
use tills_domain::pricing::{LineInput, PricingError, price, quantity_for_price_label, refund_amount};
use tills_domain::{Embedded, ScaleFormat, decode_scale_label};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/money-and-barcodes.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the vectors file")).expect("the vectors are JSON")
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("an integer: {v}"))
}

#[test]
fn carts_price_as_the_vectors_say() {
    let v = vectors();
    let cases = v["pricing"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let lines: Vec<LineInput> = case["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| LineInput {
                price: int(&l["price"]),
                quantity_milli: int(&l["quantityMilli"]),
                discount: int(&l["discount"]),
                tax_rate: int(&l["taxRate"]),
                gross_override: l["grossOverride"].as_i64(),
            })
            .collect();
        let got = price(&lines, int(&case["saleDiscount"]), case["pricesIncludeTax"].as_bool().unwrap());
        match (&case["error"], got) {
            (Value::String(code), Err(e)) => {
                let ours = match e {
                    PricingError::LineDiscountTooLarge { .. } => "line_discount_too_large",
                    PricingError::SaleDiscountTooLarge => "sale_discount_too_large",
                    PricingError::TooLarge => "too_large",
                };
                assert_eq!(ours, code, "{name}");
            }
            (Value::Null, Ok(t)) => {
                let e = &case["expect"];
                let lines: Vec<[i64; 5]> =
                    t.lines.iter().map(|l| [l.gross, l.discount, l.net, l.tax, l.total]).collect();
                let want: Vec<[i64; 5]> = e["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| [int(&l["gross"]), int(&l["discount"]), int(&l["net"]), int(&l["tax"]), int(&l["total"])])
                    .collect();
                assert_eq!(lines, want, "{name}: lines");
                assert_eq!(
                    [t.subtotal, t.discount_total, t.tax_total, t.total],
                    [int(&e["subtotal"]), int(&e["discountTotal"]), int(&e["taxTotal"]), int(&e["total"])],
                    "{name}: totals"
                );
                let bands: Vec<[i64; 3]> = t.tax_breakdown.iter().map(|b| [b.rate, b.base, b.tax]).collect();
                let want: Vec<[i64; 3]> = e["taxBreakdown"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| [int(&b["rate"]), int(&b["base"]), int(&b["tax"])])
                    .collect();
                assert_eq!(bands, want, "{name}: tax breakdown");
            }
            (want, got) => panic!("{name}: the vectors say {want}, the server says {got:?}"),
        }
    }
}

#[test]
fn refunds_and_price_labels_as_the_vectors_say() {
    let v = vectors();
    for case in v["refunds"].as_array().unwrap() {
        let a: Vec<i64> = case["args"].as_array().unwrap().iter().map(int).collect();
        assert_eq!(refund_amount(a[0], a[1], a[2], a[3], a[4]), int(&case["expect"]), "refund {a:?}");
    }
    for case in v["priceLabels"].as_array().unwrap() {
        let a: Vec<i64> = case["args"].as_array().unwrap().iter().map(int).collect();
        assert_eq!(quantity_for_price_label(a[0], a[1]), int(&case["expect"]), "label {a:?}");
    }
}

#[test]
fn scale_labels_decode_as_the_vectors_say() {
    let v = vectors();
    for case in v["scaleLabels"].as_array().unwrap() {
        let formats: Vec<ScaleFormat> = serde_json::from_value(case["formats"].clone()).unwrap();
        let code = case["code"].as_str().unwrap();
        let decimals = u8::try_from(int(&case["currencyDecimals"])).unwrap();
        let got = decode_scale_label(&formats, code, decimals).map(|m| {
            let embedded = match m.embedded {
                Embedded::Weight(q) => serde_json::json!({"kind": "weight", "quantityMilli": q.milli()}),
                Embedded::Price(p) => serde_json::json!({"kind": "price", "price": p.minor()}),
            };
            serde_json::json!({"itemCode": m.item_code.as_str(), "embedded": embedded})
        });
        assert_eq!(got.unwrap_or(Value::Null), case["expect"], "{code} ({decimals} decimals)");
    }
}
