//! Cash-drawer shifts: a cashier opens one on a terminal with a float, sells, pays cash in and
//! out, and closes it by counting the drawer (the Z). The X report is the same figures while the
//! shift is open; the Z freezes them, with the count, its difference and the store's next Z
//! number.
//!
//! Expected cash = float + cash taken − change − cash refunded + pay-ins − pay-outs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tills_domain::{CashMovementKind, Conflict, Id, PaymentMethod, SaleStatus, ShiftStatus, new_id};
use tills_storage::{
    CashMovementRecord, Closing, JournalSigner, NewAudit, NewCashMovement, NewShift, ShiftActivity, ShiftClose,
    ShiftFilter, ShiftRecord, StorageError, Store, StoreRecord,
};

use crate::services::{Actor, ServiceError, ServiceResult};

/// A shift's figures, in minor units: what the X report shows while it is open and the Z froze
/// when it closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShiftFigures {
    /// The shift's sales that are not voided.
    pub sales_count: i64,
    /// Σ subtotal (before discounts) of those sales.
    pub gross_sales: i64,
    pub discounts: i64,
    pub tax: i64,
    /// Σ sale totals − refunds.
    pub net_sales: i64,
    /// Refunds made in the shift.
    pub refunds: Tally,
    /// Sales voided in the shift.
    pub voids: Tally,
    /// Per method (`cash`, `card`, `mobile`, `voucher`): taken minus change minus refunds paid out.
    pub by_payment_method: BTreeMap<String, i64>,
    pub cash: CashFigures,
}

/// How many, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tally {
    pub count: i64,
    pub total: i64,
}

/// The drawer: what should be in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CashFigures {
    pub opening_float: i64,
    /// Cash payments of the shift's sales that are not voided.
    pub taken: i64,
    /// Change given back for them.
    pub change: i64,
    /// Cash paid out by the shift's refunds.
    pub refunded: i64,
    pub pay_ins: i64,
    pub pay_outs: i64,
    /// How often the drawer opened without a sale.
    pub no_sales: i64,
    /// float + taken − change − refunded + pay-ins − pay-outs.
    pub expected: i64,
}

/// The figures of a shift's activity.
pub fn figures(shift: &ShiftRecord, a: &ShiftActivity) -> ShiftFigures {
    let live: Vec<_> = a.sales.iter().filter(|s| s.status != SaleStatus::Voided).collect();
    let mut by_method: BTreeMap<String, i64> = PaymentMethod::ALL.iter().map(|m| (m.as_str().to_owned(), 0)).collect();
    for (method, amount) in &a.payments {
        *by_method.entry(method.as_str().to_owned()).or_default() += amount;
    }
    let change: i64 = live.iter().map(|s| s.change).sum();
    *by_method.entry(PaymentMethod::Cash.as_str().to_owned()).or_default() -= change;
    let mut refunded_cash = 0;
    for (_, payouts) in &a.refunds {
        for (method, amount) in payouts {
            *by_method.entry(method.as_str().to_owned()).or_default() -= amount;
            if *method == PaymentMethod::Cash {
                refunded_cash += amount;
            }
        }
    }
    let moved = |kind: CashMovementKind| a.movements.iter().filter(move |m| m.kind == kind);
    let taken = a.payments.iter().filter(|p| p.0 == PaymentMethod::Cash).map(|p| p.1).sum();
    let pay_ins = moved(CashMovementKind::PayIn).map(|m| m.amount).sum();
    let pay_outs = moved(CashMovementKind::PayOut).map(|m| m.amount).sum();
    let refunds = Tally { count: a.refunds.len() as i64, total: a.refunds.iter().map(|r| r.0).sum() };
    ShiftFigures {
        sales_count: live.len() as i64,
        gross_sales: live.iter().map(|s| s.subtotal).sum(),
        discounts: live.iter().map(|s| s.discount_total).sum(),
        tax: live.iter().map(|s| s.tax_total).sum(),
        net_sales: live.iter().map(|s| s.total).sum::<i64>() - refunds.total,
        refunds,
        voids: Tally { count: a.voids.len() as i64, total: a.voids.iter().sum() },
        by_payment_method: by_method,
        cash: CashFigures {
            opening_float: shift.opening_float,
            taken,
            change,
            refunded: refunded_cash,
            pay_ins,
            pay_outs,
            no_sales: moved(CashMovementKind::NoSale).count() as i64,
            expected: shift.opening_float + taken - change - refunded_cash + pay_ins - pay_outs,
        },
    }
}

/// A shift's report: the live X of an open shift, or the frozen Z of a closed one.
#[derive(Debug, Clone)]
pub struct ShiftReport {
    pub shift: ShiftRecord,
    pub figures: ShiftFigures,
    pub movements: Vec<CashMovementRecord>,
}

/// Opens a shift on `terminal` for the actor, with `opening_float` in the drawer.
pub async fn open(db: &dyn Store, actor: Actor<'_>, terminal: &str, opening_float: i64) -> ServiceResult<ShiftRecord> {
    let terminal = terminal.trim();
    if terminal.is_empty() || terminal.chars().count() > 40 || terminal.chars().any(char::is_control) {
        return Err(ServiceError::invalid("terminal", "a terminal is named by 1-40 characters"));
    }
    let id = new_id();
    let shift = NewShift {
        id,
        terminal: terminal.to_owned(),
        cashier_id: actor.user_id,
        opening_float,
        audit: NewAudit::new("shift.open")
            .by(actor.audit_id(), None)
            .target(id)
            .detail(json!({"terminal": terminal, "openingFloat": opening_float})),
    };
    Ok(db.open_shift(actor.store, shift).await?)
}

/// A shift the actor may see: their own, or any of the store's for a manager.
pub async fn get(db: &dyn Store, actor: Actor<'_>, id: Id) -> ServiceResult<ShiftRecord> {
    let shift = db.get_shift(actor.store, id).await?.ok_or(ServiceError::NotFound)?;
    if shift.cashier_id != actor.user_id && !actor.is_manager() {
        return Err(ServiceError::Forbidden("this is another cashier's shift"));
    }
    Ok(shift)
}

/// The actor's open shift.
pub async fn current(db: &dyn Store, actor: Actor<'_>) -> ServiceResult<ShiftRecord> {
    db.open_shift_of(actor.store, actor.user_id).await?.ok_or(ServiceError::NotFound)
}

/// The store's shifts, newest first; a cashier sees only their own.
pub async fn list(db: &dyn Store, actor: Actor<'_>, mut filter: ShiftFilter) -> ServiceResult<Vec<ShiftRecord>> {
    if !actor.is_manager() {
        filter.cashier_id = Some(actor.user_id);
    }
    Ok(db.list_shifts(actor.store, &filter).await?)
}

/// A pay-in, pay-out or no-sale in an open shift, with its reason, audited.
pub async fn move_cash(
    db: &dyn Store,
    actor: Actor<'_>,
    shift: Id,
    kind: CashMovementKind,
    amount: i64,
    reason: &str,
) -> ServiceResult<CashMovementRecord> {
    get(db, actor, shift).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ServiceError::invalid("reason", "a reason is 1-200 characters"));
    }
    match kind {
        CashMovementKind::NoSale if amount != 0 => {
            return Err(ServiceError::invalid("amount", "a no-sale moves no cash: its amount is 0"));
        }
        CashMovementKind::PayIn | CashMovementKind::PayOut if amount <= 0 => {
            return Err(ServiceError::invalid("amount", "a pay-in or pay-out is above 0"));
        }
        _ => {}
    }
    let id = new_id();
    let movement = NewCashMovement {
        id,
        kind,
        amount,
        reason: reason.to_owned(),
        created_by: actor.audit_id(),
        approved_by: None,
        audit: NewAudit::new("shift.cash_movement")
            .by(actor.audit_id(), None)
            .target(shift)
            .detail(json!({"movement": id, "kind": kind, "amount": amount, "reason": reason})),
    };
    Ok(db.add_cash_movement(actor.store, shift, movement).await?)
}

/// The X report of an open shift, or the Z of a closed one.
pub async fn report(db: &dyn Store, actor: Actor<'_>, id: Id) -> ServiceResult<ShiftReport> {
    let shift = get(db, actor, id).await?;
    let activity = db.shift_activity(actor.store, id).await?;
    let figures = match (&shift.status, &shift.report) {
        (ShiftStatus::Closed, Some(frozen)) => serde_json::from_value(frozen.clone())
            .map_err(|e| ServiceError::Storage(StorageError::corrupt(format!("shift report: {e}"))))?,
        _ => figures(&shift, &activity),
    };
    Ok(ShiftReport { shift, figures, movements: activity.movements })
}

/// What the cashier counted.
#[derive(Debug, Clone)]
pub struct Count {
    pub counted_cash: i64,
    /// Count per denomination (in minor units: `"5000": 2` is two 50.00 notes), when given: they
    /// must add up to `counted_cash`.
    pub denominations: Option<BTreeMap<String, i64>>,
    pub note: Option<String>,
}

/// Closes a shift with the drawer's count (its cashier, or a manager for anyone's): the figures
/// are read while the shift's row is held, so no sale joins it meanwhile; a difference beyond the
/// store's `cashTolerance` needs a manager. The shift gets the store's next Z number and its
/// figures never change again.
pub async fn close(
    db: &dyn Store,
    settings: &StoreRecord,
    actor: Actor<'_>,
    id: Id,
    count: Count,
    signer: &dyn JournalSigner,
) -> ServiceResult<ShiftRecord> {
    get(db, actor, id).await?;
    if count.counted_cash < 0 {
        return Err(ServiceError::invalid("countedCash", "the count is 0 or more"));
    }
    if let Some(d) = &count.denominations {
        check_denominations(d, count.counted_cash)?;
    }
    let note = count.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ServiceError::invalid("note", "at most 500 characters"));
    }
    let manager = actor.may_act_as_manager();
    let tolerance = settings.cash_tolerance;
    let counted = count.counted_cash;
    let rule = move |shift: &ShiftRecord, activity: &ShiftActivity| {
        let figures = figures(shift, activity);
        if (counted - figures.cash.expected).abs() > tolerance && !manager {
            return Err(StorageError::Conflict(Conflict::DifferenceNeedsManager));
        }
        let report = serde_json::to_value(&figures).map_err(StorageError::corrupt)?;
        Ok(Closing { expected_cash: figures.cash.expected, report })
    };
    let close = ShiftClose {
        closed_by: actor.audit_id(),
        counted_cash: counted,
        denominations: count.denominations.map(|d| json!(d)),
        note,
        approved_by: None,
        audit: NewAudit::new("shift.close")
            .by(actor.audit_id(), None)
            .target(id)
            .detail(json!({"countedCash": counted})),
    };
    Ok(db.close_shift(actor.store, id, close, &rule, signer).await?)
}

fn check_denominations(d: &BTreeMap<String, i64>, counted: i64) -> ServiceResult<()> {
    if d.len() > 40 {
        return Err(ServiceError::invalid("denominations", "at most 40 denominations"));
    }
    let mut sum: i64 = 0;
    for (value, count) in d {
        let face: i64 = value.parse().ok().filter(|v| *v > 0 && *v <= 100_000_000).ok_or_else(|| {
            ServiceError::invalid(
                format!("denominations.{value}"),
                "a denomination is a positive amount in minor units",
            )
        })?;
        if !(0..=1_000_000).contains(count) {
            return Err(ServiceError::invalid(format!("denominations.{value}"), "a count is 0 to 1,000,000"));
        }
        sum = sum.saturating_add(face.saturating_mul(*count));
    }
    if sum != counted {
        return Err(ServiceError::invalid(
            "denominations",
            format!("the denominations come to {sum}, the count to {counted}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tills_storage::DaySale;

    fn sale(status: SaleStatus, total: i64, change: i64) -> DaySale {
        DaySale {
            invoice_number: "T-1".into(),
            invoice_seq: Some(1),
            status,
            subtotal: total,
            discount_total: 0,
            tax_total: total / 10,
            total,
            change,
        }
    }

    fn movement(kind: CashMovementKind, amount: i64) -> CashMovementRecord {
        CashMovementRecord {
            id: new_id(),
            shift_id: new_id(),
            kind,
            amount,
            reason: "r".into(),
            created_by: None,
            approved_by: None,
            created_at: tills_domain::now(),
        }
    }

    #[test]
    fn expected_cash_is_float_plus_cash_less_change_refunds_and_pay_outs() {
        let shift = ShiftRecord {
            id: new_id(),
            terminal: "till-1".into(),
            cashier_id: new_id(),
            opening_float: 10_000,
            opened_at: tills_domain::now(),
            status: ShiftStatus::Open,
            closed_at: None,
            closed_by: None,
            z_number: None,
            expected_cash: None,
            counted_cash: None,
            difference: None,
            denominations: None,
            note: None,
            approved_by: None,
            report: None,
        };
        let activity = ShiftActivity {
            // 2218 paid 2500 cash (282 change); 1000 by card; a voided one counts nowhere here.
            sales: vec![
                sale(SaleStatus::Completed, 2218, 282),
                sale(SaleStatus::PartiallyRefunded, 1000, 0),
                sale(SaleStatus::Voided, 500, 0),
            ],
            payments: vec![(PaymentMethod::Cash, 2500), (PaymentMethod::Card, 1000)],
            refunds: vec![(300, vec![(PaymentMethod::Cash, 300)])],
            voids: vec![500],
            movements: vec![
                movement(CashMovementKind::PayIn, 5000),
                movement(CashMovementKind::PayOut, 1200),
                movement(CashMovementKind::NoSale, 0),
            ],
        };
        let f = figures(&shift, &activity);
        assert_eq!(f.sales_count, 2);
        assert_eq!(f.gross_sales, 3218);
        assert_eq!(f.net_sales, 3218 - 300);
        assert_eq!(f.refunds, Tally { count: 1, total: 300 });
        assert_eq!(f.voids, Tally { count: 1, total: 500 });
        assert_eq!(f.by_payment_method["cash"], 2500 - 282 - 300);
        assert_eq!(f.by_payment_method["card"], 1000);
        assert_eq!(f.cash.no_sales, 1);
        assert_eq!(f.cash.expected, 10_000 + 2500 - 282 - 300 + 5000 - 1200);
    }

    #[test]
    fn denominations_must_add_up_to_the_count() {
        let d: BTreeMap<String, i64> = [("5000".into(), 2), ("100".into(), 3)].into();
        assert!(check_denominations(&d, 10_300).is_ok());
        assert!(
            matches!(check_denominations(&d, 10_301), Err(ServiceError::Invalid { field, .. }) if field == "denominations")
        );
        let bad: BTreeMap<String, i64> = [("fifty".into(), 1)].into();
        assert!(
            matches!(check_denominations(&bad, 50), Err(ServiceError::Invalid { field, .. }) if field == "denominations.fifty")
        );
        let negative: BTreeMap<String, i64> = [("100".into(), -1)].into();
        assert!(check_denominations(&negative, -100).is_err());
    }
}
