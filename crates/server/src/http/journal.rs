//! The tamper-evident journal (docs/journal.md): `GET /journal/public-key` (public),
//! `GET /journal/verify` and `GET /journal/export` (admin), `POST /journal/day-close` (manager).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tills_storage::{JournalClosure, JournalEntry, JournalRange, JournalSigner, hex};

use crate::auth::StoreCaller;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::openapi::{AdminOnly, ErrorBody, ManagerOnly};
use crate::services::journal::{self, Verification};
use crate::state::AppState;
use crate::time;

/// The key closures are signed with.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyView {
    /// Always `Ed25519`.
    algorithm: &'static str,
    /// The 32-byte public key, 64 hex digits.
    public_key: String,
    /// The key's id, as closures name it: the public key's first 8 bytes in hex.
    key_id: String,
}

/// The journal's public key
///
/// The Ed25519 public key that verifies every closure's signature (docs/journal.md). Public: an
/// auditor needs no account.
#[utoipa::path(
    get,
    path = "/api/v1/journal/public-key",
    operation_id = "journalPublicKey",
    tag = "journal",
    security(()),
    responses((status = 200, description = "The public key", body = PublicKeyView))
)]
pub async fn public_key(State(state): State<AppState>) -> Json<PublicKeyView> {
    Json(PublicKeyView { algorithm: "Ed25519", public_key: state.journal.public_hex(), key_id: state.journal.key_id() })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// From (inclusive): a local day `YYYY-MM-DD` or an RFC 3339 instant. Default: the start.
    from: Option<String>,
    /// To: a local day `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
    to: Option<String>,
}

/// Verify the journal (admin)
///
/// Recomputes the store's chain from its entries and from the sale, refund, return, cash and
/// shift rows they describe, and checks every closure's signature and sealed head. Answers
/// `intact` with the count checked, or the first entry where anything disagrees (a changed row,
/// a missing entry, a reordered one, a bad signature). Without `from` and `to` it also looks for
/// money rows that have no entry.
#[utoipa::path(
    get,
    path = "/api/v1/journal/verify",
    operation_id = "verifyJournal",
    tag = "journal",
    params(RangeQuery),
    responses(
        (status = 200, description = "What the verification found", body = Verification),
        AdminOnly,
        (status = 400, description = "`invalid_input`: a bad `from` or `to`", body = ErrorBody),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Verification>> {
    caller.require_admin()?;
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), caller.timezone())?;
    let keys = [state.journal.public_key()];
    Ok(Json(journal::verify(&*state.store, &caller.store, &JournalRange { from, to }, &keys).await?))
}

/// A closure as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClosureView {
    seq: i64,
    /// `z` (a shift's close) or `day`.
    kind: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    shift_id: Option<uuid::Uuid>,
    z_number: Option<i64>,
    head_seq: i64,
    /// 64 hex digits.
    head_hash: String,
    closed_at: chrono::DateTime<chrono::Utc>,
    key_id: String,
    /// 128 hex digits.
    signature: String,
}

impl From<&JournalClosure> for ClosureView {
    fn from(c: &JournalClosure) -> Self {
        ClosureView {
            seq: c.seq,
            kind: c.kind.clone(),
            shift_id: c.shift_id,
            z_number: c.z_number,
            head_seq: c.head_seq,
            head_hash: hex(&c.head_hash),
            closed_at: c.closed_at,
            key_id: c.key_id.clone(),
            signature: hex(&c.signature),
        }
    }
}

/// Close the day (manager, admin)
///
/// Seals the chain's head as it is now with a signed `day` closure: the daily close of a store
/// that works without shifts (a Z close seals the head by itself).
#[utoipa::path(
    post,
    path = "/api/v1/journal/day-close",
    operation_id = "closeJournalDay",
    tag = "journal",
    responses(
        (status = 201, description = "The closure", body = ClosureView),
        ManagerOnly,
    )
)]
pub async fn day_close(State(state): State<AppState>, caller: StoreCaller) -> ApiResult<Response> {
    caller.require_manager()?;
    let closure = state.store.journal_close_day(&caller.store, &*state.journal).await?;
    Ok((axum::http::StatusCode::CREATED, Json(ClosureView::from(&closure))).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// From (inclusive): a local day `YYYY-MM-DD` or an RFC 3339 instant.
    from: Option<String>,
    /// To: a local day `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
    to: Option<String>,
    /// `jsonl` (default) or `csv`.
    #[param(inline)]
    format: Option<ExportFormat>,
}

/// The export's format: JSON Lines or CSV (docs/journal.md describes both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

/// Export the journal (admin)
///
/// The entries and closures of a period, streamed, with the public key: JSON Lines (one object a
/// line: a `header`, then each `entry` in sequence order, then each `closure`) or CSV (the same
/// records, one a row). docs/journal.md describes both, and has a script that verifies an export
/// without Tills.
#[utoipa::path(
    get,
    path = "/api/v1/journal/export",
    operation_id = "exportJournal",
    tag = "journal",
    params(ExportQuery),
    responses(
        (status = 200, description = "JSON Lines (`application/x-ndjson`, the default) or CSV (`text/csv`, `format=csv`)", content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
        )),
        AdminOnly,
        (status = 400, description = "`invalid_input`: a bad `from`, `to` or `format`", body = ErrorBody),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    caller.require_admin()?;
    let csv = q.format == Some(ExportFormat::Csv);
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), caller.timezone())?;
    let range = JournalRange { from, to };
    let store = caller.store.clone();
    let db = state.store.clone();
    let public_key = state.journal.public_hex();
    let key_id = state.journal.key_id();
    // Read before the stream starts: an error answers as an error, not as a cut export.
    let closures = db.journal_closures(&store, &range).await?;
    const PAGE: i64 = 500;
    let stream = async_stream(move |tx| async move {
        let head = if csv {
            format!(
                "record,seq,kind,ref,at,prev_hash,hash,content,shift,z_number,head_seq,head_hash,key_id,signature\n\
                 key,,Ed25519,,,,,{public_key},,,,,{key_id},\nstore,,,,,,,{},,,,,,\n",
                store.as_str()
            )
        } else {
            let header = serde_json::json!({
                "type": "header", "format": "tills-journal-1", "store": store.as_str(), "algorithm": "Ed25519",
                "publicKey": public_key, "keyId": key_id, "hash": "sha256",
                "from": range.from, "to": range.to,
            });
            format!("{header}\n")
        };
        if tx.send(Ok(Bytes::from(head))).await.is_err() {
            return;
        }
        let mut after = 0;
        loop {
            let page = match db.journal_entries(&store, &range, after, PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "journal export failed mid-stream");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            let mut chunk = String::with_capacity(page.len() * 400);
            for e in &page {
                chunk.push_str(&if csv { entry_csv(e) } else { entry_json(e) });
            }
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = last.seq,
                _ => break,
            }
        }
        let mut chunk = String::new();
        for c in &closures {
            chunk.push_str(&if csv { closure_csv(c) } else { closure_json(c) });
        }
        let _ = tx.send(Ok(Bytes::from(chunk))).await;
    });
    let (content_type, name) =
        if csv { ("text/csv; charset=utf-8", "journal.csv") } else { ("application/x-ndjson", "journal.jsonl") };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

fn micros(t: &chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

fn entry_json(e: &JournalEntry) -> String {
    let v = serde_json::json!({
        "type": "entry", "seq": e.seq, "kind": e.kind, "ref": e.ref_id.map(|r| r.simple().to_string()),
        "recordedAt": micros(&e.recorded_at), "prevHash": hex(&e.prev_hash), "hash": hex(&e.hash),
        "content": e.content,
    });
    format!("{v}\n")
}

fn closure_json(c: &JournalClosure) -> String {
    let v = serde_json::json!({
        "type": "closure", "seq": c.seq, "kind": c.kind, "shift": c.shift_id.map(|s| s.simple().to_string()),
        "zNumber": c.z_number, "headSeq": c.head_seq, "headHash": hex(&c.head_hash),
        "closedAt": micros(&c.closed_at), "keyId": c.key_id, "signature": hex(&c.signature),
    });
    format!("{v}\n")
}

fn entry_csv(e: &JournalEntry) -> String {
    csv_row(&[
        "entry",
        &e.seq.to_string(),
        &e.kind,
        &e.ref_id.map(|r| r.simple().to_string()).unwrap_or_default(),
        &micros(&e.recorded_at).to_string(),
        &hex(&e.prev_hash),
        &hex(&e.hash),
        &e.content,
        "",
        "",
        "",
        "",
        "",
        "",
    ])
}

fn closure_csv(c: &JournalClosure) -> String {
    csv_row(&[
        "closure",
        &c.seq.to_string(),
        &c.kind,
        "",
        &micros(&c.closed_at).to_string(),
        "",
        "",
        "",
        &c.shift_id.map(|s| s.simple().to_string()).unwrap_or_default(),
        &c.z_number.map(|z| z.to_string()).unwrap_or_default(),
        &c.head_seq.to_string(),
        &hex(&c.head_hash),
        &c.key_id,
        &hex(&c.signature),
    ])
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. Nothing
/// else is changed (the content must hash as it is).
fn csv_row(fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
    out
}

/// A stream fed by a task through a small channel (back-pressure: at most a few pages ahead).
fn async_stream<F, Fut>(f: F) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(f(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
