//! The use cases behind the handlers, one module each: a sale and its quote (`checkout`), a
//! refund (`refund`), a void (`void`), the catalog's writes (`catalog`), a scan (`scan`), a
//! product search (`search`), the daily figures (`report`), cash-drawer shifts and their X and Z
//! reports (`shifts`).
//!
//! A service takes domain values (`tills_domain`, `tills_storage`'s records) and answers a
//! [`ServiceError`]; it knows nothing of HTTP. Request bodies, JSON and the mapping to API.md's
//! status codes live in `crate::http`. The rule is checked: `tests/api/layers.rs` fails when a
//! file here names `crate::http`, `crate::openapi`, `crate::extract`, `crate::error`,
//! `crate::auth`, `crate::state` or `axum`.

pub mod approvals;
pub mod carts;
pub mod catalog;
pub mod checkout;
mod error;
pub mod journal;
pub mod refund;
pub mod report;
pub mod returns;
pub mod scan;
pub mod search;
pub mod shifts;
pub mod void;

use tills_domain::{Id, Role, StoreId};

pub use self::error::{ServiceError, ServiceResult};

/// Who acts, in which store: the signed-in user and their role, and the platform admin behind a
/// support token. The HTTP layer makes it from the verified token only.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub store: &'a StoreId,
    pub user_id: Id,
    pub role: Role,
    pub support_by: Option<Id>,
    /// A manager who approved, at this actor's terminal, the one action this request makes
    /// (`services::approvals`).
    pub approved_by: Option<Id>,
}

impl Actor<'_> {
    /// Managers and admins override prices, give discounts, void and refund.
    pub fn is_manager(&self) -> bool {
        self.role.is_manager_or_above()
    }

    /// A manager, or someone a manager approved for this request.
    pub fn may_act_as_manager(&self) -> bool {
        self.is_manager() || self.approved_by.is_some()
    }

    /// Refuses the action unless the actor is a manager or an admin, or a manager approved it.
    pub fn require_manager(&self) -> ServiceResult<()> {
        if self.may_act_as_manager() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("this needs a manager or an admin (or a manager's approval)"))
        }
    }

    /// Who the audit log names: the user, or the platform admin behind a support token.
    pub fn audit_id(&self) -> Option<Id> {
        Some(self.support_by.unwrap_or(self.user_id))
    }
}
