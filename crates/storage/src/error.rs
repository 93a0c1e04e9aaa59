use std::fmt;

use tills_domain::Conflict;

/// Which uniqueness rule a write broke. Each maps to one `409` code of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueKey {
    StoreId,
    Email,
    Name,
    Barcode,
    Phone,
    InvoiceNumber,
    ClientRef,
    Other,
}

/// What went wrong in storage, said in the terms of the service (atuin's style), not of the
/// driver that failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    #[error("unique rule broken: {0:?}")]
    Unique(UniqueKey),
    /// The barcode already names another product of the store.
    #[error("barcode {0} is taken")]
    BarcodeTaken(String),
    /// The request does not fit what is stored (checked inside the transaction).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("a referenced record does not exist in this store")]
    InvalidReference,
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The database cannot be reached (down, restarting, pool exhausted): retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Row-level security refused a write: a bug in the caller, never the user's fault.
    #[error("row-level security refused a write: {0}")]
    TenantViolation(String),
    #[error("stored data is not what it should be: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

impl StorageError {
    pub fn corrupt(what: impl fmt::Display) -> Self {
        StorageError::Corrupt(what.to_string())
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match err {
            sqlx::Error::RowNotFound => StorageError::NotFound,
            // A database that is down, restarting, or hanging up mid-handshake (seen as a
            // protocol error) is unavailable, not an internal error.
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StorageError::Unavailable(err.to_string()),
            sqlx::Error::Database(ref db) => {
                let message = db.message().to_owned();
                // PostgreSQL: 42501 insufficient_privilege covers "new row violates row-level
                // security policy".
                if db.code().as_deref() == Some("42501") || message.contains("row-level security") {
                    return StorageError::TenantViolation(message);
                }
                // Connection-level failures PostgreSQL reports as errors (admin shutdown,
                // cannot connect now, too many connections).
                if matches!(db.code().as_deref(), Some("57P01" | "57P02" | "57P03" | "53300" | "08006" | "08001")) {
                    return StorageError::Unavailable(message);
                }
                match db.kind() {
                    ErrorKind::UniqueViolation => StorageError::Unique(unique_key(db.constraint(), &message)),
                    ErrorKind::ForeignKeyViolation => StorageError::InvalidReference,
                    _ => StorageError::Other(message),
                }
            }
            other => StorageError::Other(other.to_string()),
        }
    }
}

/// Names the rule from PostgreSQL's constraint name or SQLite's "UNIQUE constraint failed:
/// table.column, …" message.
fn unique_key(constraint: Option<&str>, message: &str) -> UniqueKey {
    let hay = constraint.unwrap_or(message);
    let pairs: [(&[&str], UniqueKey); 7] = [
        (&["product_barcodes"], UniqueKey::Barcode),
        (&["users_store_email", "users.email", "platform_admins"], UniqueKey::Email),
        (&["customers_store_phone", "customers.phone"], UniqueKey::Phone),
        (&["_store_name", ".name_key"], UniqueKey::Name),
        (&["sales_store_invoice", "sales.invoice_number"], UniqueKey::InvoiceNumber),
        (&["idempotency_keys"], UniqueKey::ClientRef),
        (&["stores_pkey", "stores.id"], UniqueKey::StoreId),
    ];
    pairs
        .iter()
        .find(|(needles, _)| needles.iter().any(|n| hay.contains(n)))
        .map(|(_, key)| *key)
        .unwrap_or(UniqueKey::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unique_rules_of_both_backends() {
        assert_eq!(unique_key(Some("users_store_email"), ""), UniqueKey::Email);
        assert_eq!(unique_key(None, "UNIQUE constraint failed: users.store_id, users.email"), UniqueKey::Email);
        assert_eq!(unique_key(Some("product_barcodes_pkey"), ""), UniqueKey::Barcode);
        assert_eq!(
            unique_key(None, "UNIQUE constraint failed: product_barcodes.store_id, product_barcodes.barcode"),
            UniqueKey::Barcode
        );
        assert_eq!(unique_key(Some("brands_store_name"), ""), UniqueKey::Name);
        assert_eq!(unique_key(None, "UNIQUE constraint failed: stores.id"), UniqueKey::StoreId);
    }
}
