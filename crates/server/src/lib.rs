//! Tills server: the HTTP layer (axum), the services behind it, and the `tills` command.
//!
//! A request flows: middleware (request id, metrics, body limit, storeId sanitizing) →
//! an auth extractor ([`auth::StoreCaller`], the only source of a `StoreId`) → a handler in
//! [`http`] (parse, call, render) → a use case in [`services`] → the product cache and storage
//! ([`tills_storage::Store`]). Layers point inward; see docs/ARCHITECTURE.md.

pub mod app;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod client_addr;
pub mod demo;
pub mod error;
pub mod extract;
pub mod http;
pub mod import;
pub mod isolation;
pub mod openapi;
pub mod redis_conn;
pub mod services;
pub mod state;
pub mod telemetry;
pub mod time;
pub mod web;
