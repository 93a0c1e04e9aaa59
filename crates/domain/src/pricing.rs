//! API.md's "Money rules", in one pure module: the only place a sale's totals are computed.
//!
//! For each line: gross = round_half_up(price × quantity); net = gross − line discount. A sale
//! discount is spread over the lines in proportion to their net, the largest remainders taking
//! the leftover minor units. Line tax, per the line's rate in basis points:
//! round_half_up(net × rate ÷ (10000 + rate)) when prices include tax, else
//! round_half_up(net × rate ÷ 10000). A line's total is its net, plus its tax when prices exclude
//! tax. Halves round away from zero. Everything in integers (i128 inside, so nothing overflows).

use std::collections::BTreeMap;

/// Rounds `num / den` to the nearest integer, halves away from zero. `den > 0`.
pub fn div_round_half_up(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den { q + num.signum() } else { q }
}

/// One line to price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInput {
    /// Unit price (per base unit, or per pack) in minor units.
    pub price: i64,
    /// Quantity in thousandths.
    pub quantity_milli: i64,
    /// The line's own discount in minor units.
    pub discount: i64,
    /// Basis points.
    pub tax_rate: i64,
    /// A scale label that prints the line's price fixes the gross.
    pub gross_override: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTotals {
    pub gross: i64,
    /// The line's own discount plus its share of the sale discount.
    pub discount: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxBand {
    pub rate: i64,
    /// What the tax is levied on (net of tax).
    pub base: i64,
    pub tax: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub lines: Vec<LineTotals>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub tax_breakdown: Vec<TaxBand>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricingError {
    /// The line's discount is above its gross.
    LineDiscountTooLarge { line: usize },
    /// The sale discount is above what the lines come to.
    SaleDiscountTooLarge,
    /// A figure beyond what Tills accepts (10^13 minor units).
    TooLarge,
}

const LIMIT: i128 = 10_000_000_000_000;

fn fits(v: i128) -> Result<i64, PricingError> {
    if v.abs() > LIMIT { Err(PricingError::TooLarge) } else { Ok(v as i64) }
}

/// Prices a cart.
pub fn price(lines: &[LineInput], sale_discount: i64, prices_include_tax: bool) -> Result<Totals, PricingError> {
    let mut gross = Vec::with_capacity(lines.len());
    let mut net = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let g = match l.gross_override {
            Some(g) => i128::from(g),
            None => div_round_half_up(i128::from(l.price) * i128::from(l.quantity_milli), 1000),
        };
        let g = fits(g)?;
        if l.discount > g {
            return Err(PricingError::LineDiscountTooLarge { line: i });
        }
        gross.push(g);
        net.push(g - l.discount);
    }
    let net_sum: i128 = net.iter().map(|&n| i128::from(n)).sum();
    if i128::from(sale_discount) > net_sum {
        return Err(PricingError::SaleDiscountTooLarge);
    }
    let shares = spread(sale_discount, &net);
    let mut out = Vec::with_capacity(lines.len());
    let mut bands: BTreeMap<i64, (i128, i128)> = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        let n = net[i] - shares[i];
        let rate = i128::from(l.tax_rate);
        let tax = if prices_include_tax {
            div_round_half_up(i128::from(n) * rate, 10_000 + rate)
        } else {
            div_round_half_up(i128::from(n) * rate, 10_000)
        };
        let tax = fits(tax)?;
        let total = if prices_include_tax { n } else { fits(i128::from(n) + i128::from(tax))? };
        let base = if prices_include_tax { n - tax } else { n };
        let band = bands.entry(l.tax_rate).or_default();
        band.0 += i128::from(base);
        band.1 += i128::from(tax);
        out.push(LineTotals { gross: gross[i], discount: l.discount + shares[i], net: n, tax, total });
    }
    let sum = |f: fn(&LineTotals) -> i64| fits(out.iter().map(|l| i128::from(f(l))).sum());
    Ok(Totals {
        subtotal: sum(|l| l.gross)?,
        discount_total: sum(|l| l.discount)?,
        tax_total: sum(|l| l.tax)?,
        total: sum(|l| l.total)?,
        tax_breakdown: bands
            .into_iter()
            .map(|(rate, (base, tax))| Ok(TaxBand { rate, base: fits(base)?, tax: fits(tax)? }))
            .collect::<Result<_, _>>()?,
        lines: out,
    })
}

/// Spreads `amount` over `weights` in proportion, largest remainders first (ties: the earlier
/// line). Σ shares = amount; no share above its weight when amount ≤ Σ weights.
pub fn spread(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    if amount == 0 || total == 0 {
        return vec![0; weights.len()];
    }
    let mut shares: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = i128::from(amount) * i128::from(w);
        shares.push((exact / total) as i64);
        remainders.push((exact % total, i));
    }
    let mut left = amount - shares.iter().sum::<i64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
}

/// The quantity a price label sells: round_half_up(label price × 1000 / product price), in
/// thousandths; 1 when the product has no price.
pub fn quantity_for_price_label(label_price: i64, unit_price: i64) -> i64 {
    if unit_price <= 0 {
        return 1000;
    }
    div_round_half_up(i128::from(label_price) * 1000, i128::from(unit_price)) as i64
}

/// A refunded line returns its total × refunded ÷ sold, rounded half up; the refund that
/// completes the line takes exactly what remains.
pub fn refund_amount(
    line_total: i64,
    sold_milli: i64,
    already_refunded_milli: i64,
    already_refunded_amount: i64,
    refund_milli: i64,
) -> i64 {
    if already_refunded_milli + refund_milli >= sold_milli {
        return line_total - already_refunded_amount;
    }
    div_round_half_up(i128::from(line_total) * i128::from(refund_milli), i128::from(sold_milli)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(price: i64, qty_milli: i64, rate: i64) -> LineInput {
        LineInput { price, quantity_milli: qty_milli, discount: 0, tax_rate: rate, gross_override: None }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round_half_up(5, 10), 1);
        assert_eq!(div_round_half_up(4, 10), 0);
        assert_eq!(div_round_half_up(-5, 10), -1);
        assert_eq!(div_round_half_up(15, 10), 2);
        assert_eq!(div_round_half_up(25, 10), 3);
    }

    #[test]
    fn weighed_line_0_535_kg_at_1999() {
        // 1999 × 0.535 = 1069.465 → 1069
        let t = price(&[line(1999, 535, 0)], 0, false).unwrap();
        assert_eq!(t.lines[0].gross, 1069);
        assert_eq!(t.total, 1069);
    }

    #[test]
    fn sale_discount_of_100_over_three_equal_lines() {
        let t = price(&[line(500, 1000, 0), line(500, 1000, 0), line(500, 1000, 0)], 100, false).unwrap();
        let d: Vec<i64> = t.lines.iter().map(|l| l.discount).collect();
        assert_eq!(d, [34, 33, 33], "the leftover unit goes to the first of equal remainders");
        assert_eq!(t.discount_total, 100);
        assert_eq!(t.total, 1400);
    }

    #[test]
    fn discount_spreads_by_net_with_largest_remainders() {
        assert_eq!(spread(10, &[1, 1, 1]), [4, 3, 3]);
        assert_eq!(spread(7, &[100, 200, 700]), [1, 1, 5]);
        assert_eq!(spread(1, &[0, 5]), [0, 1]);
        assert_eq!(spread(0, &[3, 4]), [0, 0]);
    }

    #[test]
    fn tax_inclusive_and_exclusive() {
        // 19 % included in 1190: tax = 1190 × 1900 / 11900 = 190.
        let inc = price(&[line(1190, 1000, 1900)], 0, true).unwrap();
        assert_eq!((inc.lines[0].tax, inc.total), (190, 1190));
        assert_eq!(inc.tax_breakdown, [TaxBand { rate: 1900, base: 1000, tax: 190 }]);
        // 19 % on top of 1000.
        let exc = price(&[line(1000, 1000, 1900)], 0, false).unwrap();
        assert_eq!((exc.lines[0].tax, exc.total), (190, 1190));
        assert_eq!(exc.tax_breakdown, [TaxBand { rate: 1900, base: 1000, tax: 190 }]);
        // Two rates, two bands; 7 % of 150 = 10.5 → 11.
        let two = price(&[line(150, 1000, 700), line(1000, 1000, 1900)], 0, false).unwrap();
        assert_eq!(two.tax_breakdown.len(), 2);
        assert_eq!(two.tax_breakdown[0], TaxBand { rate: 700, base: 150, tax: 11 });
    }

    #[test]
    fn zero_decimal_currency() {
        // JPY: 398 yen × 3, 10 % on top, 50 yen off the sale.
        let t = price(&[line(398, 3000, 1000)], 50, false).unwrap();
        assert_eq!(t.subtotal, 1194);
        assert_eq!(t.lines[0].net, 1144);
        assert_eq!(t.tax_total, 114); // 114.4
        assert_eq!(t.total, 1258);
    }

    #[test]
    fn discounts_cannot_exceed_what_they_discount() {
        let mut l = line(100, 1000, 0);
        l.discount = 101;
        assert_eq!(price(&[l], 0, false), Err(PricingError::LineDiscountTooLarge { line: 0 }));
        assert_eq!(price(&[line(100, 1000, 0)], 101, false), Err(PricingError::SaleDiscountTooLarge));
        assert_eq!(price(&[line(10_000_000_000_000, 1_000_000_000, 0)], 0, false), Err(PricingError::TooLarge));
    }

    #[test]
    fn price_labels_and_refunds() {
        assert_eq!(quantity_for_price_label(1234, 1999), 617); // 0.6173 kg
        assert_eq!(quantity_for_price_label(500, 0), 1000);
        // 3 of 7 refunded, then the remaining 4 take what is left.
        let first = refund_amount(1000, 7000, 0, 0, 3000);
        assert_eq!(first, 429);
        assert_eq!(refund_amount(1000, 7000, 3000, first, 4000), 571);
    }

    proptest! {
        #[test]
        fn totals_always_add_up(
            raw in prop::collection::vec((0i64..1_000_000, 1i64..100_000, 0i64..=10_000, 0i64..1000), 1..30),
            discount_pct in 0i64..=100,
            inclusive in any::<bool>(),
        ) {
            let lines: Vec<LineInput> = raw.iter().map(|&(p, q, r, d)| {
                let gross = div_round_half_up(i128::from(p) * i128::from(q), 1000) as i64;
                LineInput { price: p, quantity_milli: q, discount: d.min(gross), tax_rate: r, gross_override: None }
            }).collect();
            let net: i64 = lines.iter().map(|l| div_round_half_up(i128::from(l.price) * i128::from(l.quantity_milli), 1000) as i64 - l.discount).sum();
            let sale_discount = net * discount_pct / 100;
            let t = price(&lines, sale_discount, inclusive).unwrap();
            prop_assert_eq!(t.lines.iter().map(|l| l.total).sum::<i64>(), t.total);
            prop_assert_eq!(t.lines.iter().map(|l| l.discount).sum::<i64>(), t.discount_total);
            prop_assert_eq!(t.lines.iter().map(|l| l.tax).sum::<i64>(), t.tax_total);
            prop_assert_eq!(t.tax_breakdown.iter().map(|b| b.tax).sum::<i64>(), t.tax_total);
            prop_assert!(t.lines.iter().all(|l| l.net >= 0 && l.total >= 0 && l.tax >= 0));
            prop_assert_eq!(t.subtotal - t.discount_total + if inclusive { 0 } else { t.tax_total }, t.total);
            // The same cart prices the same way every time (quote = sale).
            prop_assert_eq!(price(&lines, sale_discount, inclusive).unwrap(), t);
        }

        #[test]
        fn spread_is_exact_and_bounded(amount_pct in 0i64..=100, weights in prop::collection::vec(0i64..1_000_000, 1..50)) {
            let total: i64 = weights.iter().sum();
            let amount = total * amount_pct / 100;
            let shares = spread(amount, &weights);
            prop_assert_eq!(shares.iter().sum::<i64>(), amount);
            prop_assert!(shares.iter().zip(&weights).all(|(s, w)| *s >= 0 && s <= w));
        }
    }
}
