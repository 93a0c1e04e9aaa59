//! The rules behind the handlers: what a product may be, how a scan resolves.

pub mod catalog;
pub mod checkout;
pub mod report;
pub mod scan;
