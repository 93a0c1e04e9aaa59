//! The caller's store: `GET|PATCH /api/v1/store`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tills_domain::ScaleFormat;
use tills_storage::{NewAudit, StoreRecord};

use crate::auth::StoreCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, JsonBytes, double_option};
use crate::openapi::{AdminOnly, Authenticated, BadBody, ErrorBody};
use crate::state::AppState;
use crate::time::parse_timezone;

/// A store with all its settings, as API.md shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreView {
    pub id: String,
    pub name: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Decimals of the currency's minor unit (ISO 4217): 2 for USD, 0 for JPY.
    pub currency_decimals: u8,
    /// IANA timezone: the store's days (reports, `date=`, `from`/`to` dates) are local days.
    pub timezone: String,
    pub prices_include_tax: bool,
    pub invoice_prefix: String,
    pub address: Option<String>,
    pub tax_id: Option<String>,
    pub receipt_footer: Option<String>,
    #[schema(value_type = Vec<crate::openapi::ScaleFormat>)]
    pub scale_barcodes: Vec<ScaleFormat>,
    /// A sale needs an open cash-drawer shift (`409 shift_required` otherwise).
    pub require_shift: bool,
    /// The over/short (minor units) a cashier may close a shift with; beyond it a manager.
    pub cash_tolerance: i64,
    /// How many hours a parked cart waits before it expires.
    pub parked_cart_hours: i32,
    #[schema(value_type = crate::openapi::StoreStatus)]
    pub status: &'static str,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&StoreRecord> for StoreView {
    fn from(s: &StoreRecord) -> Self {
        StoreView {
            id: s.id.to_string(),
            name: s.name.clone(),
            currency: s.currency.clone(),
            currency_decimals: s.currency_decimals,
            timezone: s.timezone.clone(),
            prices_include_tax: s.prices_include_tax,
            invoice_prefix: s.invoice_prefix.clone(),
            address: s.address.clone(),
            tax_id: s.tax_id.clone(),
            receipt_footer: s.receipt_footer.clone(),
            scale_barcodes: s.scale_barcodes.clone(),
            require_shift: s.require_shift,
            cash_tolerance: s.cash_tolerance,
            parked_cart_hours: s.parked_cart_hours,
            status: s.status.as_str(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// The caller's store
#[utoipa::path(
    get,
    path = "/api/v1/store",
    operation_id = "getOwnStore",
    tag = "store",
    responses(
        (status = 200, description = "The store and its settings", body = StoreView),
        Authenticated,
        (status = 403, description = "`forbidden`: a platform admin token, or the store is suspended", body = ErrorBody),
    )
)]
pub async fn get(State(state): State<AppState>, caller: StoreCaller) -> ApiResult<Json<StoreView>> {
    let store = state.store.get_store(&caller.store).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(StoreView::from(&store)))
}

/// `PATCH /store`: any setting but `id`, `status` and `currency`. A field sent as `null` is
/// cleared (for the optional texts).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorePatch {
    name: Option<String>,
    timezone: Option<String>,
    prices_include_tax: Option<bool>,
    /// At most 20 characters, no spaces.
    invoice_prefix: Option<String>,
    /// `null` clears it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    address: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    tax_id: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    receipt_footer: Option<Option<String>>,
    /// Replaces the list (at most 20 formats, no prefix a prefix of another).
    #[schema(value_type = Option<Vec<crate::openapi::ScaleFormat>>)]
    scale_barcodes: Option<Vec<ScaleFormat>>,
    /// A sale needs an open cash-drawer shift.
    require_shift: Option<bool>,
    /// Minor units, 0 to 1,000,000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    cash_tolerance: Option<i64>,
    /// 1 to 720.
    #[schema(minimum = 1, maximum = 720)]
    parked_cart_hours: Option<i32>,
}

/// Change the store's settings (admin)
///
/// Any setting but `id`, `status` and `currency`, which answer `400 invalid_input`.
#[utoipa::path(
    patch,
    path = "/api/v1/store",
    operation_id = "updateOwnStore",
    tag = "store",
    request_body = StorePatch,
    responses(
        (status = 200, description = "The store as it is now", body = StoreView),
        AdminOnly,
        BadBody,
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: StoreCaller,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<StoreView>> {
    caller.require_admin()?;
    // Fields that exist but may not be changed here get a clear answer.
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(&body) {
        for fixed in ["id", "status", "currency", "currencyDecimals"] {
            if map.contains_key(fixed) {
                return Err(ApiError::invalid(fixed, format!("{fixed} cannot be changed here")));
            }
        }
    }
    let body = strip_store_id(&body);
    let ApiJson(patch) = ApiJson::<StorePatch>(crate::extract::parse_json(&body)?);
    let mut store = state.store.get_store(&caller.store).await?.ok_or(ApiError::NotFound)?;
    let mut changed = Vec::new();
    if let Some(name) = patch.name {
        store.name = tills_domain::Name::parse(&name).map_err(|e| ApiError::invalid("name", e))?.into_string();
        changed.push("name");
    }
    if let Some(tz) = patch.timezone {
        parse_timezone(tz.trim()).map_err(|e| ApiError::invalid("timezone", e))?;
        store.timezone = tz.trim().to_owned();
        changed.push("timezone");
    }
    if let Some(v) = patch.prices_include_tax {
        store.prices_include_tax = v;
        changed.push("pricesIncludeTax");
    }
    if let Some(prefix) = patch.invoice_prefix {
        store.invoice_prefix = parse_invoice_prefix(&prefix)?;
        changed.push("invoicePrefix");
    }
    for (field, value, target) in [
        ("address", patch.address, &mut store.address),
        ("taxId", patch.tax_id, &mut store.tax_id),
        ("receiptFooter", patch.receipt_footer, &mut store.receipt_footer),
    ] {
        if let Some(value) = value {
            let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            if value.as_ref().is_some_and(|v| v.chars().count() > 1000) {
                return Err(ApiError::invalid(field, "at most 1000 characters"));
            }
            *target = value;
            changed.push(field);
        }
    }
    if let Some(v) = patch.require_shift {
        store.require_shift = v;
        changed.push("requireShift");
    }
    if let Some(v) = patch.cash_tolerance {
        if !(0..=1_000_000).contains(&v) {
            return Err(ApiError::invalid("cashTolerance", "a tolerance is 0 to 1,000,000 minor units"));
        }
        store.cash_tolerance = v;
        changed.push("cashTolerance");
    }
    if let Some(v) = patch.parked_cart_hours {
        if !(1..=720).contains(&v) {
            return Err(ApiError::invalid("parkedCartHours", "parked carts wait 1 to 720 hours"));
        }
        store.parked_cart_hours = v;
        changed.push("parkedCartHours");
    }
    if let Some(formats) = patch.scale_barcodes {
        validate_scale_formats(&formats, store.currency_decimals)?;
        store.scale_barcodes = formats;
        changed.push("scaleBarcodes");
    }
    let audit = NewAudit::new("store.settings")
        .by(caller.actor(), None)
        .target(&caller.store)
        .detail(serde_json::json!({"changed": changed}));
    let saved = state.store.save_store(&store, audit).await?;
    state.access.forget_store(&caller.store).await;
    Ok(Json(StoreView::from(&saved)))
}

/// The store id in a PATCH body is ignored (and counted) like everywhere else.
fn strip_store_id(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut map)) if map.contains_key("storeId") || map.contains_key("store_id") => {
            crate::isolation::note_store_id_in_body(body);
            map.remove("storeId");
            map.remove("store_id");
            serde_json::to_vec(&map).unwrap_or_default()
        }
        _ => body.to_vec(),
    }
}

pub fn parse_invoice_prefix(prefix: &str) -> ApiResult<String> {
    let p = prefix.trim();
    if p.chars().count() > 20 || p.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::invalid("invoicePrefix", "an invoice prefix is at most 20 characters without spaces"));
    }
    Ok(p.to_owned())
}

fn validate_scale_formats(formats: &[ScaleFormat], currency_decimals: u8) -> ApiResult<()> {
    if formats.len() > 20 {
        return Err(ApiError::invalid("scaleBarcodes", "at most 20 formats"));
    }
    for (i, f) in formats.iter().enumerate() {
        f.validate(currency_decimals).map_err(|e| ApiError::invalid(format!("scaleBarcodes[{i}]"), e))?;
        for (j, g) in formats.iter().enumerate().take(i) {
            if f.prefix.starts_with(&g.prefix) || g.prefix.starts_with(&f.prefix) {
                return Err(ApiError::invalid(
                    format!("scaleBarcodes[{i}].prefix"),
                    format!("overlaps the prefix of scaleBarcodes[{j}]"),
                ));
            }
        }
    }
    Ok(())
}
