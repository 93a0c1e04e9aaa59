//! One error type for the HTTP layer: every failure maps to the status and code of API.md.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tills_storage::{StorageError, UniqueKey};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{message}")]
    InvalidInput { field: Option<String>, message: String },
    #[error("{0}")]
    InsufficientPayment(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the request body is larger than 1 MiB")]
    PayloadTooLarge,
    #[error("too many attempts; try again later")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the database is unavailable; retry")]
    Unavailable,
    /// Logged with its cause; the client sees an opaque message.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl ToString) -> Self {
        ApiError::InvalidInput { field: Some(field.into()), message: message.to_string() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict { code, message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::InvalidInput { .. } | ApiError::InsufficientPayment(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidInput { .. } => "invalid_input",
            ApiError::InsufficientPayment(_) => "insufficient_payment",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict { code, .. } => code,
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => ApiError::NotFound,
            StorageError::Unique(key) => match key {
                UniqueKey::Email => ApiError::conflict("email_taken", "this email is already used in this store"),
                UniqueKey::Name => ApiError::conflict("name_taken", "this name is already used in this store"),
                UniqueKey::Barcode => {
                    ApiError::conflict("barcode_taken", "this barcode already names a product in this store")
                }
                UniqueKey::Phone => {
                    ApiError::conflict("phone_taken", "this phone number is already used in this store")
                }
                UniqueKey::StoreId => ApiError::conflict("conflict", "a store with this id exists"),
                UniqueKey::ClientRef => ApiError::conflict("idempotency_mismatch", "this clientRef is taken"),
                UniqueKey::InvoiceNumber | UniqueKey::Other => {
                    ApiError::conflict("conflict", "the record conflicts with another")
                }
            },
            StorageError::BarcodeTaken(code) => {
                ApiError::conflict("barcode_taken", format!("barcode {code} already names a product in this store"))
            }
            StorageError::Invalid { field, message } => ApiError::InvalidInput { field: Some(field), message },
            StorageError::InvalidReference => ApiError::InvalidInput {
                field: None,
                message: "a referenced record does not exist in this store".into(),
            },
            StorageError::Conflict("last_admin") => {
                ApiError::conflict("conflict", "the store must keep at least one active admin")
            }
            StorageError::Conflict("already_voided") => ApiError::conflict("conflict", "this sale is already voided"),
            StorageError::Conflict("has_refunds") => {
                ApiError::conflict("conflict", "a sale with refunds cannot be voided; refund the rest instead")
            }
            StorageError::Conflict("voided") => ApiError::conflict("conflict", "this sale is voided"),
            StorageError::Conflict("client_ref_of_refund" | "client_ref_taken") => {
                ApiError::conflict("idempotency_mismatch", "this clientRef was used for another request")
            }
            StorageError::Conflict("in_use") => ApiError::conflict("in_use", "it is still in use by a product"),
            StorageError::Conflict(what) => ApiError::conflict("conflict", what),
            StorageError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::Unavailable
            }
            StorageError::TenantViolation(cause) => {
                metrics::counter!("tills_tenant_violations_total", "kind" => "rls_write").increment(1);
                ApiError::Internal(format!("row-level security refused a write: {cause}"))
            }
            StorageError::Corrupt(cause) | StorageError::Other(cause) => ApiError::Internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "something went wrong on our side; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({"error": {"code": self.code(), "message": message}});
        if let ApiError::InvalidInput { field: Some(field), .. } = &self {
            body["error"]["field"] = json!(field);
        }
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
