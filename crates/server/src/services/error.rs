//! What a use case answers when it refuses: said in the domain's terms. `crate::error` maps each
//! to API.md's status and code.

use tills_domain::Conflict;
use tills_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// An input that does not fit, with the field it came in (`lines[2].quantity`).
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Nothing of that id in the actor's store.
    #[error("not found")]
    NotFound,
    /// The payments do not cover the sale (amounts in minor units).
    #[error("the payments come to {paid}, the sale to {total}")]
    InsufficientPayment { paid: i64, total: i64 },
    /// A `clientRef` already used for something else.
    #[error("this clientRef was used for a different {0}")]
    IdempotencyMismatch(&'static str),
    /// A product that names one barcode twice (its own, an alternate, a pack's).
    #[error("barcode {code} is used twice in this product ({field})")]
    BarcodeTwice { code: String, field: String },
    /// Refused by what exists (a voided sale, the last admin, ...).
    #[error("{0}")]
    Conflict(Conflict),
    #[error(transparent)]
    Storage(StorageError),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl ToString) -> Self {
        ServiceError::Invalid { field: field.into(), message: message.to_string() }
    }
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => ServiceError::NotFound,
            StorageError::Conflict(c) => ServiceError::Conflict(c),
            other => ServiceError::Storage(other),
        }
    }
}
