//! Voiding a sale: its stock comes back, its invoice number stays taken.

use tills_domain::Id;
use tills_storage::{NewAudit, SaleRecord, Store};

use crate::services::{Actor, ServiceResult};

/// Voids `sale` (manager, admin). A sale already voided, or with refunds, is a
/// `Conflict(AlreadyVoided | HasRefunds)`.
pub async fn void(db: &dyn Store, actor: Actor<'_>, sale: Id) -> ServiceResult<SaleRecord> {
    actor.require_manager()?;
    let audit = NewAudit::new("sale.void")
        .by(actor.audit_id(), None)
        .target(sale)
        .detail(serde_json::json!({"approvedBy": actor.approved_by}));
    Ok(db.void_sale(actor.store, sale, actor.audit_id(), audit).await?)
}
