//! The daily report: a store's day in its timezone.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use tills_domain::pricing::refund_amount;
use tills_domain::{Id, PaymentMethod, SaleStatus, ShiftStatus};
use tills_storage::{DayActivity, RefundedLine, ShiftFilter, ShiftRecord, Store, StoreId};

type Timestamp = chrono::DateTime<chrono::Utc>;

use crate::services::ServiceResult;

/// The store's day `[from, to)` (its local day): the sales, refunds and payments, and the
/// shifts opened in it.
pub async fn daily_report(
    db: &dyn Store,
    store: &StoreId,
    date: NaiveDate,
    from: Timestamp,
    to: Timestamp,
) -> ServiceResult<DailyReport> {
    let activity = db.day_activity(store, from, to).await?;
    let filter = ShiftFilter { from: Some(from), to: Some(to), limit: 1000, ..ShiftFilter::default() };
    let shifts = db.list_shifts(store, &filter).await?;
    Ok(daily(date, &activity, &shifts))
}

/// API.md's report. Voided sales count only under `voids`; refunds count on the day they were
/// made, their tax too (`tax` is what the day's sales charged less what its refunds gave back);
/// `byPaymentMethod` is what was taken minus change minus refunds paid out.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyReport {
    /// The day, in the store's timezone.
    pub date: NaiveDate,
    pub sales_count: i64,
    /// Σ subtotal (before discounts) of the day's sales.
    pub gross_sales: i64,
    pub discounts: i64,
    /// Σ tax of the day's sales − the tax the day's refunds gave back.
    pub tax: i64,
    pub refunds: i64,
    /// Σ sale totals − refunds.
    pub net_sales: i64,
    /// Per method (`cash`, `card`, `mobile`, `voucher`): taken minus change minus refunds paid out.
    pub by_payment_method: BTreeMap<String, i64>,
    pub voids: Voids,
    /// Lines of offline sales whose price differed from the catalog's.
    pub offline_price_differences: i64,
    pub first_invoice: Option<String>,
    pub last_invoice: Option<String>,
    /// The cash-drawer shifts opened that day, with their count's difference once closed.
    pub shifts: Vec<DayShift>,
}

/// A shift in the daily report.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayShift {
    #[schema(value_type = uuid::Uuid)]
    pub id: Id,
    pub terminal: String,
    #[schema(value_type = uuid::Uuid)]
    pub cashier_id: Id,
    pub status: ShiftStatus,
    pub z_number: Option<i64>,
    pub expected_cash: Option<i64>,
    pub counted_cash: Option<i64>,
    /// Counted − expected: above 0 over, below 0 short.
    pub difference: Option<i64>,
}

impl From<&ShiftRecord> for DayShift {
    fn from(s: &ShiftRecord) -> Self {
        DayShift {
            id: s.id,
            terminal: s.terminal.clone(),
            cashier_id: s.cashier_id,
            status: s.status,
            z_number: s.z_number,
            expected_cash: s.expected_cash,
            counted_cash: s.counted_cash,
            difference: s.difference,
        }
    }
}

/// The day's voided sales: how many, and their total.
#[derive(Debug, Serialize, PartialEq, Default, utoipa::ToSchema)]
pub struct Voids {
    pub count: i64,
    pub total: i64,
}

pub fn daily(date: NaiveDate, a: &DayActivity, shifts: &[ShiftRecord]) -> DailyReport {
    let live: Vec<_> = a.sales.iter().filter(|s| s.status != SaleStatus::Voided).collect();
    let mut by_method: BTreeMap<String, i64> = PaymentMethod::ALL.iter().map(|m| (m.as_str().to_owned(), 0)).collect();
    for (method, amount) in &a.payments {
        *by_method.entry(method.as_str().to_owned()).or_default() += amount;
    }
    *by_method.entry(PaymentMethod::Cash.as_str().to_owned()).or_default() -=
        live.iter().map(|s| s.change).sum::<i64>();
    for (_, payouts) in &a.refunds {
        for (method, amount) in payouts {
            *by_method.entry(method.as_str().to_owned()).or_default() -= amount;
        }
    }
    let refunds: i64 = a.refunds.iter().map(|r| r.0).sum();
    let voided: Vec<_> = a.sales.iter().filter(|s| s.status == SaleStatus::Voided).collect();
    let mut numbered: Vec<_> = a.sales.iter().collect();
    numbered.sort_by(|x, y| (x.invoice_seq, &x.invoice_number).cmp(&(y.invoice_seq, &y.invoice_number)));
    DailyReport {
        date,
        sales_count: live.len() as i64,
        gross_sales: live.iter().map(|s| s.subtotal).sum(),
        discounts: live.iter().map(|s| s.discount_total).sum(),
        tax: live.iter().map(|s| s.tax_total).sum::<i64>() - refunded_tax(&a.refunded_lines),
        refunds,
        net_sales: live.iter().map(|s| s.total).sum::<i64>() - refunds,
        by_payment_method: by_method,
        voids: Voids { count: voided.len() as i64, total: voided.iter().map(|s| s.total).sum() },
        offline_price_differences: a.offline_price_differences,
        first_invoice: numbered.first().map(|s| s.invoice_number.clone()),
        last_invoice: numbered.last().map(|s| s.invoice_number.clone()),
        shifts: shifts.iter().rev().map(DayShift::from).collect(),
    }
}

/// The tax the day's refunds gave back. A refund returns a line's tax in the same proportion as
/// its total (API.md: total × refunded ÷ sold, half up, the refund that completes the line taking
/// what remains), so a line refunded in full gives back exactly the tax it charged. `lines` holds
/// every refund of each line the day touched, oldest first, earlier days' included.
fn refunded_tax(lines: &[RefundedLine]) -> i64 {
    let mut total = 0;
    let mut done: Option<(tills_domain::Id, i64, i64)> = None; // (line, refunded milli, refunded tax)
    for l in lines {
        let (milli, tax) = match done {
            Some((id, m, t)) if id == l.sale_line_id => (m, t),
            _ => (0, 0),
        };
        let back = refund_amount(l.line_tax, l.sold_milli, milli, tax, l.quantity_milli);
        if l.in_day == 1 {
            total += back;
        }
        done = Some((l.sale_line_id, milli + l.quantity_milli, tax + back));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: tills_domain::Id, in_day: bool, quantity_milli: i64) -> RefundedLine {
        RefundedLine { sale_line_id: id, in_day: i32::from(in_day), quantity_milli, sold_milli: 3000, line_tax: 100 }
    }

    #[test]
    fn refunds_give_back_tax_in_proportion_and_the_last_takes_what_remains() {
        let a = tills_domain::new_id();
        // 3 sold with 100 tax: 1 yesterday (33), 1 today (33), the last today (34).
        let lines = [line(a, false, 1000), line(a, true, 1000), line(a, true, 1000)];
        assert_eq!(refunded_tax(&lines), 67);
        assert_eq!(refunded_tax(&lines[..2]), 33);
        let b = tills_domain::new_id();
        assert_eq!(refunded_tax(&[line(a, true, 3000), line(b, true, 1500)]), 150);
    }
}
