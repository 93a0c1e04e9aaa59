//! Tills domain types.
//!
//! Every value that comes from outside (a request, a file, a legacy dump) is parsed once into
//! one of these types; a value of the type is valid by construction, so later code never checks
//! it again. Nothing here does IO or knows about HTTP, SQL or Redis.

mod barcode;
mod closed;
mod currency;
mod error;
mod money;
pub mod pricing;
mod role;
mod store_id;
mod text;

pub use barcode::{Barcode, Embedded, ScaleFormat, ScaleKind, ScaleMatch, decode_scale_label, ean13, is_valid_ean13};
pub use closed::{
    AdjustReason, ApprovalAction, CashMovementKind, Conflict, PaymentMethod, ProductStatus, SaleStatus, ShiftStatus,
    StockReason,
};
pub use currency::Currency;
pub use error::InvalidValue;
pub use money::{Money, Quantity, TaxRate};
pub use role::Role;
pub use store_id::StoreId;
pub use text::{Email, Name, NewPassword, Phone, name_key};

/// Entity ids are UUIDs (v7, so they sort by creation time).
pub type Id = uuid::Uuid;

/// A fresh entity id.
pub fn new_id() -> Id {
    uuid::Uuid::now_v7()
}

/// The current time, truncated to microseconds: what both databases store exactly.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta, Utc};
    let now = Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now)
}
