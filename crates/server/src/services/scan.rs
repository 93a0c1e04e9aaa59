//! The scan: a barcode to a product, a pack, or a scale label's item with its weight or price.

use tills_domain::{Embedded, decode_scale_label};
use tills_storage::{StoreId, StoreRecord};

use crate::cache::{CachedMatch, ProductCache};
use crate::services::{ServiceError, ServiceResult};

/// What a scan found.
#[derive(Debug, Clone)]
pub struct Scanned {
    pub found: std::sync::Arc<CachedMatch>,
    pub embedded: Option<Embedded>,
}

/// Resolves `code` in `store`: an exact barcode first; otherwise, when it is a valid EAN-13 of
/// one of the store's scale formats, the product whose barcode is the label's item code.
///
/// Both lookups go through the product cache; a scale label is cached by its item code, so every
/// label of one weighed product shares one entry.
pub async fn scan(cache: &ProductCache, store: &StoreId, settings: &StoreRecord, code: &str) -> ServiceResult<Scanned> {
    if let (Some(found), _) = cache.get_product_by_barcode(store, code).await? {
        return Ok(Scanned { found, embedded: None });
    }
    let label =
        decode_scale_label(&settings.scale_barcodes, code, settings.currency_decimals).ok_or(ServiceError::NotFound)?;
    let (found, _) = cache.get_product_by_barcode(store, label.item_code.as_str()).await?;
    Ok(Scanned { found: found.ok_or(ServiceError::NotFound)?, embedded: Some(label.embedded) })
}
