//! The JSON rows the database unpacks: many rows travel as one JSON array in one statement
//! (`json_to_recordset` on PostgreSQL, `json_each` on SQLite), for a sale's lines, payments and
//! stock and for the importer's batches. Ids are 32 hex digits (PostgreSQL's uuid input takes
//! them, SQLite's unhex() turns them into the 16-byte BLOBs sqlx writes); timestamps are RFC 3339
//! as sqlx writes them to SQLite (so text comparisons hold), which PostgreSQL parses as well.

use chrono::SecondsFormat;
use serde::{Serialize, Serializer};
use tills_domain::Id;

use crate::{Result, StorageError, Timestamp};

pub(crate) fn ser_id<S: Serializer>(id: &Id, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&id.simple())
}

pub(crate) fn ser_opt_id<S: Serializer>(id: &Option<Id>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(&id.simple()),
        None => s.serialize_none(),
    }
}

pub(crate) fn ser_ts<S: Serializer>(t: &Timestamp, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

pub(crate) fn ser_opt_ts<S: Serializer>(t: &Option<Timestamp>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_ts(t, s),
        None => s.serialize_none(),
    }
}

/// The rows as one JSON array.
pub(crate) fn json<T: Serialize>(rows: &[T]) -> Result<String> {
    serde_json::to_string(rows).map_err(StorageError::corrupt)
}
