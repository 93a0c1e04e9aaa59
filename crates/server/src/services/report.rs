//! The daily report: a store's day in its timezone.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use tills_domain::{Id, PaymentMethod, SaleStatus, ShiftStatus};
use tills_storage::{DayActivity, ShiftFilter, ShiftRecord, Store, StoreId};

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
/// made; `byPaymentMethod` is what was taken minus change minus refunds paid out.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyReport {
    /// The day, in the store's timezone.
    pub date: NaiveDate,
    pub sales_count: i64,
    /// Σ subtotal (before discounts) of the day's sales.
    pub gross_sales: i64,
    pub discounts: i64,
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
        tax: live.iter().map(|s| s.tax_total).sum(),
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
