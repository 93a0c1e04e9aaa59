//! Parked carts: a cart put aside (a customer fetching something) and resumed on any terminal
//! of the store. Parking takes no stock and no invoice number; resuming is exactly-once.

use serde_json::json;
use tills_domain::{Id, new_id};
use tills_storage::{NewAudit, NewParkedCart, ParkedCartRecord, Resumed, Store, StoreRecord};

use crate::services::{Actor, ServiceError, ServiceResult};

/// What to park: the lines as the terminal holds them (a JSON array of sale lines, checked by
/// the caller), a label the cashier will recognize, and the customer.
#[derive(Debug, Clone)]
pub struct Park {
    pub label: String,
    pub customer_id: Option<Id>,
    pub note: Option<String>,
    pub lines: serde_json::Value,
}

pub async fn park(
    db: &dyn Store,
    settings: &StoreRecord,
    actor: Actor<'_>,
    cart: Park,
) -> ServiceResult<ParkedCartRecord> {
    let label = cart.label.trim();
    if label.is_empty() || label.chars().count() > 80 || label.chars().any(char::is_control) {
        return Err(ServiceError::invalid("label", "a label is 1-80 characters"));
    }
    let note = cart.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ServiceError::invalid("note", "at most 500 characters"));
    }
    if let Some(c) = cart.customer_id
        && db.get_customer(actor.store, c).await?.is_none()
    {
        return Err(ServiceError::invalid("customerId", "no such customer in this store"));
    }
    let id = new_id();
    let expires_at = tills_domain::now() + chrono::Duration::hours(i64::from(settings.parked_cart_hours));
    let parked = NewParkedCart {
        id,
        label: label.to_owned(),
        customer_id: cart.customer_id,
        note,
        lines: cart.lines,
        created_by: actor.audit_id(),
        expires_at,
        audit: NewAudit::new("cart.park").by(actor.audit_id(), None).target(id).detail(json!({"label": label})),
    };
    Ok(db.park_cart(actor.store, parked).await?)
}

/// The carts waiting in the store, newest first.
pub async fn waiting(db: &dyn Store, actor: Actor<'_>) -> ServiceResult<Vec<ParkedCartRecord>> {
    Ok(db.waiting_carts(actor.store, tills_domain::now(), 200).await?)
}

/// Takes a parked cart for this terminal: of two terminals resuming one cart at once, exactly
/// one gets it; the other is told it was taken (`Conflict`), an expired one is `NotFound`.
pub async fn resume(db: &dyn Store, actor: Actor<'_>, id: Id) -> ServiceResult<ParkedCartRecord> {
    match db.resume_cart(actor.store, id, actor.audit_id(), tills_domain::now()).await? {
        Resumed::Taken(cart) => Ok(cart),
        Resumed::AlreadyTaken => Err(ServiceError::Conflict(tills_domain::Conflict::CartTaken)),
        Resumed::Expired => Err(ServiceError::NotFound),
    }
}
