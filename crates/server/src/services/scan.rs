//! The scan: a barcode to a product, a pack, or a scale label's item with its weight or price.

use tills_domain::{Embedded, decode_scale_label};
use tills_storage::{BarcodeMatch, StoreId, StoreRecord};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What a scan found.
#[derive(Debug, Clone)]
pub struct Scanned {
    pub found: BarcodeMatch,
    pub embedded: Option<Embedded>,
}

/// Resolves `code` in `store`: an exact barcode first; otherwise, when it is a valid EAN-13 of
/// one of the store's scale formats, the product whose barcode is the label's item code.
pub async fn scan(state: &AppState, store: &StoreId, settings: &StoreRecord, code: &str) -> ApiResult<Scanned> {
    if let Some(found) = state.store.find_by_barcode(store, code).await? {
        return Ok(Scanned { found, embedded: None });
    }
    let label =
        decode_scale_label(&settings.scale_barcodes, code, settings.currency_decimals).ok_or(ApiError::NotFound)?;
    let found = state.store.find_by_barcode(store, label.item_code.as_str()).await?.ok_or(ApiError::NotFound)?;
    Ok(Scanned { found, embedded: Some(label.embedded) })
}
