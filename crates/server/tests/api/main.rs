//! HTTP tests: a real server on 127.0.0.1:0 over a real database (SQLite and PostgreSQL),
//! driven with reqwest as a terminal would. One test binary for the crate.

mod helpers;

mod cache;
mod carts_and_approvals;
mod catalog;
mod catalog_changes;
mod citus;
mod contract_gaps;
mod crash;
mod import;
mod journal;
mod layers;
mod openapi;
mod sales;
mod search;
mod shifts;
mod smoke;

mod audit;
mod auth;
mod bench;
mod cross_store;
mod errors;
mod ops;
mod outage;
mod platform;
mod redis_cluster;
mod roles;
mod store_settings;
mod tokens;
mod users;
