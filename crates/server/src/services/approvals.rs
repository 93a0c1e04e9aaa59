//! A manager's approval at a cashier's terminal: the manager proves who they are there (the
//! HTTP layer checks their password or PIN), and the cashier's next request for that one action
//! goes through as if a manager made it — once, within two minutes, audited with both users.

use std::future::Future;

use serde_json::json;
use tills_domain::{ApprovalAction, Id, new_id};
use tills_storage::{NewApproval, NewAudit, Store, UserRecord};

use crate::services::{Actor, ServiceError, ServiceResult};

/// How long an approval waits for the request it approves.
pub const APPROVAL_TTL: chrono::Duration = chrono::Duration::minutes(2);

/// An approval granted: its id (the `X-Approval` header of the request it approves) and when it
/// expires.
#[derive(Debug, Clone)]
pub struct Granted {
    pub id: Id,
    pub action: ApprovalAction,
    pub approved_by: Id,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Records `manager`'s approval of `action` for the actor. The manager's credentials were
/// checked by the caller; here the manager must be an active manager or admin of the store.
pub async fn grant(
    db: &dyn Store,
    actor: Actor<'_>,
    manager: &UserRecord,
    action: ApprovalAction,
) -> ServiceResult<Granted> {
    if !manager.active || !manager.role.is_manager_or_above() {
        return Err(ServiceError::Forbidden("only an active manager or admin of this store can approve"));
    }
    let id = new_id();
    let expires_at = tills_domain::now() + APPROVAL_TTL;
    let approval = NewApproval {
        id,
        action: action.as_str(),
        requested_by: actor.user_id,
        approved_by: manager.id,
        expires_at,
        audit: NewAudit::new("approval.granted")
            .by(Some(manager.id), Some(&manager.email))
            .target(id)
            .detail(json!({"action": action, "requestedBy": actor.user_id, "approvedBy": manager.id})),
    };
    db.create_approval(actor.store, approval).await?;
    Ok(Granted { id, action, approved_by: manager.id, expires_at })
}

const UNUSABLE: ServiceError = ServiceError::Forbidden("this approval was used, expired, or is for another action");

/// Runs `f` as the actor, approved by the manager behind `approval` for `action` when there is
/// one (a manager needs none; theirs is left unused). The approval is used up by this request,
/// and given back when `f` fails, so a failed request changes nothing.
pub async fn with_approval<'a, T, F, Fut>(
    db: &dyn Store,
    actor: Actor<'a>,
    action: ApprovalAction,
    approval: Option<Id>,
    f: F,
) -> ServiceResult<T>
where
    F: FnOnce(Actor<'a>) -> Fut,
    Fut: Future<Output = ServiceResult<T>>,
{
    let Some(approval) = approval.filter(|_| !actor.is_manager()) else { return f(actor).await };
    let now = tills_domain::now();
    let approver = db.consume_approval(actor.store, approval, action.as_str(), actor.user_id, now).await?;
    let approver = approver.ok_or(UNUSABLE)?;
    let result = f(Actor { approved_by: Some(approver), ..actor }).await;
    if result.is_err() {
        db.release_approval(actor.store, approval).await?;
    }
    result
}

/// The actor as approved by `approval` without using it up: a quote shows what the sale will be.
pub async fn peek<'a>(
    db: &dyn Store,
    actor: Actor<'a>,
    action: ApprovalAction,
    approval: Option<Id>,
) -> ServiceResult<Actor<'a>> {
    let Some(approval) = approval.filter(|_| !actor.is_manager()) else { return Ok(actor) };
    let approver = db.peek_approval(actor.store, approval, action.as_str(), actor.user_id, tills_domain::now()).await?;
    Ok(Actor { approved_by: Some(approver.ok_or(UNUSABLE)?), ..actor })
}
