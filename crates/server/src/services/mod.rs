//! The rules behind the handlers: what a product may be, how a scan resolves, how a product search finds its page.

pub mod catalog;
pub mod checkout;
pub mod report;
pub mod scan;
pub mod search;
