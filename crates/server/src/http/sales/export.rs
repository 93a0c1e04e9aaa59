//! `GET /sales/export.csv`: one row per sale line, streamed in pages.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tills_domain::Quantity;

use crate::auth::StoreCaller;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::openapi::{ErrorBody, ManagerOnly};
use crate::state::AppState;
use crate::time;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// From (inclusive): a local day `YYYY-MM-DD` or an RFC 3339 instant.
    from: Option<String>,
    /// To: a local day `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
    to: Option<String>,
}

/// Export sales as CSV (manager, admin)
///
/// `GET /sales/export.csv` (manager, admin): one row per line, streamed in pages so a month of
/// a busy store never sits in memory.
#[utoipa::path(
    get,
    path = "/api/v1/sales/export.csv",
    operation_id = "exportSalesCsv",
    tag = "sales",
    params(ExportQuery),
    responses(
        (status = 200, description = "One row per sale line: invoiceNumber, status, soldAt, offline, line, productId, name, barcode, factor, quantity, price, discount, taxRate, tax, total", body = String, content_type = "text/csv"),
        ManagerOnly,
        (status = 400, description = "`invalid_input`: a bad `from` or `to`", body = ErrorBody),
    )
)]
pub async fn export_csv(
    State(state): State<AppState>,
    caller: StoreCaller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    caller.require_manager()?;
    let (from, to) = time::range(q.from.as_deref(), q.to.as_deref(), caller.timezone())?;
    let store = caller.store.clone();
    let db = state.store.clone();
    const PAGE: i64 = 500;
    let header = "invoiceNumber,status,soldAt,offline,line,productId,name,barcode,factor,quantity,price,discount,taxRate,tax,total\n";
    let stream = async_stream(move |tx| async move {
        let _ = tx.send(Ok(Bytes::from_static(header.as_bytes()))).await;
        let mut after = None;
        loop {
            let rows = match db.export_lines(&store, from, to, after, PAGE).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "export failed mid-stream");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            let mut chunk = String::with_capacity(rows.len() * 120);
            for r in &rows {
                chunk.push_str(&csv_row(&[
                    &r.invoice_number,
                    r.status.as_str(),
                    &r.sold_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    if r.offline { "true" } else { "false" },
                    &(r.position + 1).to_string(),
                    &r.product_id.map(|p| p.to_string()).unwrap_or_default(),
                    &r.name,
                    r.barcode.as_deref().unwrap_or(""),
                    &r.factor.to_string(),
                    &Quantity::from_milli(r.quantity_milli).unwrap_or_default().to_string(),
                    &r.price.to_string(),
                    &r.discount.to_string(),
                    &r.tax_rate.to_string(),
                    &r.tax.to_string(),
                    &r.total.to_string(),
                ]));
            }
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == PAGE => after = Some((last.sold_at, last.sale_id, last.position)),
                _ => return,
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"sales.csv\""),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A CSV line, quoting fields that need it (RFC 4180), and neutralizing spreadsheet formulas.
fn csv_row(fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = if f.starts_with(['=', '+', '-', '@']) && f.parse::<f64>().is_err() {
            format!("'{f}")
        } else {
            (*f).to_owned()
        };
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
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
