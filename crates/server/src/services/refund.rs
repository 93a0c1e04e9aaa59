//! Refunding some of a sale: each line returns its total × refunded ÷ sold quantity, rounded half
//! up (the last refund of a line takes what remains), paid out by the methods given.

use tills_domain::{Id, Quantity, new_id};
use tills_storage::{Idempotent, NewAudit, RefundRecord, RefundRequest, SaleRecord, Store};

use crate::services::checkout::{self, ClientRef, MAX_LINES, Tender};
use crate::services::{Actor, ServiceError, ServiceResult};

/// What to refund.
#[derive(Debug, Clone)]
pub struct Refund {
    pub client_ref: Option<ClientRef>,
    /// The refunded quantities go back to stock.
    pub restock: bool,
    /// (a line of the sale, how much of it), in request order.
    pub lines: Vec<(Id, Quantity)>,
    /// Must come to the refund's total.
    pub payouts: Vec<Tender>,
}

/// A refund and the sale as it is after it.
pub type Refunded = (SaleRecord, RefundRecord);

/// Refunds some of `sale` (manager, admin). The same `clientRef` with the same request answers
/// the original refund (`Replayed`); with another, `IdempotencyMismatch`. A voided sale is a
/// `Conflict(Voided)`; more than was sold, or payouts that do not come to the total, are invalid.
pub async fn refund(db: &dyn Store, actor: Actor<'_>, sale: Id, refund: Refund) -> ServiceResult<Idempotent<Refunded>> {
    actor.require_manager()?;
    if refund.lines.is_empty() {
        return Err(ServiceError::invalid("lines", "a refund has at least one line"));
    }
    if refund.lines.len() > MAX_LINES {
        return Err(ServiceError::invalid("lines", "too many lines"));
    }
    for (i, (_, quantity)) in refund.lines.iter().enumerate() {
        if quantity.milli() <= 0 {
            return Err(ServiceError::invalid(format!("lines[{i}].quantity"), "quantity must be above 0"));
        }
    }
    // The same method rules as a sale, with the refund's total known only inside the
    // transaction: here each payout is checked, there the sum.
    let total_paid: i64 = refund.payouts.iter().map(|p| p.amount.minor()).sum();
    let (payments, _, _) = checkout::take_payments(total_paid, &refund.payouts)?;
    let request = RefundRequest {
        id: new_id(),
        client_ref: refund.client_ref.map(|c| (c.value, c.request_hash)),
        restock: refund.restock,
        lines: refund.lines.iter().map(|(line, q)| (*line, q.milli())).collect(),
        payments,
        created_by: actor.audit_id(),
        audit: NewAudit::new("sale.refund")
            .by(actor.audit_id(), None)
            .target(sale)
            .detail(serde_json::json!({"approvedBy": actor.approved_by})),
    };
    match db.create_refund(actor.store, sale, request).await? {
        Idempotent::Replayed { same_request: false, .. } => Err(ServiceError::IdempotencyMismatch("refund")),
        done => Ok(done),
    }
}
