//! One error type for the HTTP layer: every failure maps to the status and code of API.md, and
//! answers the one error body ([`ErrorBody`]) the OpenAPI document describes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tills_domain::Conflict;
use tills_storage::{StorageError, UniqueKey};
use utoipa::ToSchema;

use crate::services::ServiceError;

/// Every error answer: `{"error": {"code": "snake_case", "message": "human sentence", "field": "name"?}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// A sentence for people; its wording may change.
    pub message: String,
    /// With `invalid_input`: the input that failed (`name`, `lines[2].productId`, `limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
}

/// The error codes of API.md, by status: 400 `malformed_json`, `invalid_input`,
/// `insufficient_payment`; 401 `unauthorized`; 403 `forbidden`; 404 `not_found`; 405
/// `method_not_allowed`; 409 `barcode_taken`, `name_taken`, `phone_taken`, `email_taken`,
/// `in_use`, `idempotency_mismatch`, `shift_required`, `conflict`; 413 `payload_too_large`; 429
/// `too_many_requests`; 503 `unavailable`; 500 `internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedJson,
    InvalidInput,
    InsufficientPayment,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    BarcodeTaken,
    NameTaken,
    PhoneTaken,
    EmailTaken,
    InUse,
    IdempotencyMismatch,
    ShiftRequired,
    Conflict,
    PayloadTooLarge,
    TooManyRequests,
    Unavailable,
    Internal,
}

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
    #[error("this path does not take this method")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
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

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
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
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::MalformedJson(_) => ErrorCode::MalformedJson,
            ApiError::InvalidInput { .. } => ErrorCode::InvalidInput,
            ApiError::InsufficientPayment(_) => ErrorCode::InsufficientPayment,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::Conflict { code, .. } => *code,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::TooManyRequests { .. } => ErrorCode::TooManyRequests,
            ApiError::Unavailable => ErrorCode::Unavailable,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => ApiError::NotFound,
            StorageError::Unique(key) => match key {
                UniqueKey::Email => {
                    ApiError::conflict(ErrorCode::EmailTaken, "this email is already used in this store")
                }
                UniqueKey::Name => ApiError::conflict(ErrorCode::NameTaken, "this name is already used in this store"),
                UniqueKey::Barcode => {
                    ApiError::conflict(ErrorCode::BarcodeTaken, "this barcode already names a product in this store")
                }
                UniqueKey::Phone => {
                    ApiError::conflict(ErrorCode::PhoneTaken, "this phone number is already used in this store")
                }
                UniqueKey::StoreId => ApiError::conflict(ErrorCode::Conflict, "a store with this id exists"),
                UniqueKey::ClientRef => ApiError::conflict(ErrorCode::IdempotencyMismatch, "this clientRef is taken"),
                UniqueKey::InvoiceNumber | UniqueKey::Other => {
                    ApiError::conflict(ErrorCode::Conflict, "the record conflicts with another")
                }
            },
            StorageError::BarcodeTaken(code) => ApiError::conflict(
                ErrorCode::BarcodeTaken,
                format!("barcode {code} already names a product in this store"),
            ),
            StorageError::Invalid { field, message } => ApiError::InvalidInput { field: Some(field), message },
            StorageError::InvalidReference => ApiError::InvalidInput {
                field: None,
                message: "a referenced record does not exist in this store".into(),
            },
            StorageError::Conflict(c) => conflict(c),
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

/// A write refused by what exists: its `409` code and sentence.
fn conflict(c: Conflict) -> ApiError {
    let (code, message) = match c {
        Conflict::LastAdmin => (ErrorCode::Conflict, "the store must keep at least one active admin"),
        Conflict::AlreadyVoided => (ErrorCode::Conflict, "this sale is already voided"),
        Conflict::HasRefunds => (ErrorCode::Conflict, "a sale with refunds cannot be voided; refund the rest instead"),
        Conflict::Voided => (ErrorCode::Conflict, "this sale is voided"),
        Conflict::ClientRefOfRefund | Conflict::ClientRefTaken => {
            (ErrorCode::IdempotencyMismatch, "this clientRef was used for another request")
        }
        Conflict::InUse => (ErrorCode::InUse, "it is still in use by a product"),
        Conflict::TerminalHasOpenShift => (ErrorCode::Conflict, "a shift is already open on this terminal"),
        Conflict::CashierHasOpenShift => (ErrorCode::Conflict, "you already have an open shift; close it first"),
        Conflict::ShiftClosed => (ErrorCode::Conflict, "this shift is closed"),
        Conflict::CartTaken => (ErrorCode::Conflict, "another terminal resumed this cart first"),
        Conflict::ShiftRequired => (ErrorCode::ShiftRequired, "this store sells only in an open shift: open one first"),
        Conflict::DifferenceNeedsManager => {
            return ApiError::Forbidden(
                "the count is over or short beyond the store's cash tolerance: a manager must close this shift",
            );
        }
    };
    ApiError::conflict(code, message)
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid { field, message } => ApiError::InvalidInput { field: Some(field), message },
            ServiceError::Forbidden(why) => ApiError::Forbidden(why),
            ServiceError::NotFound => ApiError::NotFound,
            e @ ServiceError::InsufficientPayment { .. } => ApiError::InsufficientPayment(e.to_string()),
            e @ ServiceError::IdempotencyMismatch(_) => {
                ApiError::conflict(ErrorCode::IdempotencyMismatch, e.to_string())
            }
            e @ ServiceError::BarcodeTwice { .. } => ApiError::conflict(ErrorCode::BarcodeTaken, e.to_string()),
            ServiceError::Conflict(c) => conflict(c),
            ServiceError::Storage(e) => ApiError::from(e),
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
        let field = match &self {
            ApiError::InvalidInput { field, .. } => field.clone(),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: self.code(), message, field } };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
