//! Products: turning a request body into a valid [`ProductDraft`], given what exists.

use std::collections::HashSet;

use serde::Deserialize;
use tills_domain::{Barcode, Id, Money, Name, Quantity, TaxRate};
use tills_storage::{Pack, ProductDraft, ProductRecord, StoreId};

use crate::error::{ApiError, ApiResult};
use crate::http::store::double_option;
use crate::state::AppState;

/// The body of `POST /products` and `PATCH /products/{id}`: in a PATCH every field is optional,
/// and `null` clears an optional one.
///
/// On create `name` and `price` are required. A barcode (the product's own, an alternate or a
/// unit's) names one product in a store: a second use is `409 barcode_taken`.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductBody {
    #[schema(examples("Cola 330ml"))]
    pub name: Option<String>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<crate::openapi::Barcode>)]
    pub barcode: Option<Option<Barcode>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub sku: Option<Option<String>>,
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub price: Option<Money>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub cost: Option<Option<Money>>,
    /// Default 0.
    #[schema(value_type = Option<crate::openapi::TaxRate>)]
    pub tax_rate: Option<TaxRate>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub category_id: Option<Option<Id>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub brand_id: Option<Option<Id>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub unit_id: Option<Option<Id>>,
    /// Packs of the product (replaces the list); at most one per unit.
    pub units: Option<Vec<PackBody>>,
    /// Other codes printed on the same item (replaces the list).
    #[schema(value_type = Option<Vec<crate::openapi::Barcode>>)]
    pub alternate_barcodes: Option<Vec<Barcode>>,
    /// On create the opening stock; in a PATCH a stocktake (the difference is recorded).
    #[schema(value_type = Option<crate::openapi::Quantity>)]
    pub stock: Option<Quantity>,
    /// Default `active`.
    #[schema(value_type = Option<crate::openapi::ProductStatus>)]
    pub status: Option<String>,
    /// Default false.
    pub show_in_quick_products: Option<bool>,
}

/// A pack: `factor` base units sold under its own barcode; without `price` it costs the
/// product's price × factor.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackBody {
    #[schema(value_type = uuid::Uuid)]
    pub unit_id: Id,
    #[schema(value_type = Option<crate::openapi::Barcode>)]
    pub barcode: Option<Barcode>,
    /// How many base units the pack holds: a whole number ≥ 1.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub factor: i64,
    #[schema(value_type = Option<crate::openapi::Money>)]
    pub price: Option<Money>,
}

/// Builds the product a create (no `current`) or a PATCH asks for, and checks that every id it
/// references belongs to the caller's store.
pub async fn draft(
    state: &AppState,
    store: &StoreId,
    current: Option<&ProductRecord>,
    body: ProductBody,
) -> ApiResult<ProductDraft> {
    let name = match (&body.name, current) {
        (Some(n), _) => Name::parse(n).map_err(|e| ApiError::invalid("name", e))?,
        (None, Some(c)) => Name::parse(&c.name).map_err(|e| ApiError::invalid("name", e))?,
        (None, None) => return Err(ApiError::invalid("name", "name is required")),
    };
    let price = match (body.price, current) {
        (Some(p), _) => p.minor(),
        (None, Some(c)) => c.price,
        (None, None) => return Err(ApiError::invalid("price", "price is required (in minor units: 150 for 1.50)")),
    };
    let sku = pick(body.sku, current.map(|c| c.sku.clone())).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if sku.as_ref().is_some_and(|s| s.chars().count() > 64 || s.chars().any(char::is_control)) {
        return Err(ApiError::invalid("sku", "a sku is at most 64 characters"));
    }
    let status = match (&body.status, current) {
        (Some(s), _) => match s.as_str() {
            "active" => true,
            "inactive" => false,
            _ => return Err(ApiError::invalid("status", "status is active or inactive")),
        },
        (None, Some(c)) => c.active,
        (None, None) => true,
    };
    let units: Vec<Pack> = match body.units {
        Some(packs) => packs
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                if p.factor < 1 || p.factor > 1_000_000 {
                    return Err(ApiError::invalid(format!("units[{i}].factor"), "factor is a whole number from 1"));
                }
                Ok(Pack {
                    unit_id: p.unit_id,
                    barcode: p.barcode.map(|b| b.as_str().to_owned()),
                    factor: p.factor,
                    price: p.price.map(Money::minor),
                })
            })
            .collect::<ApiResult<_>>()?,
        None => current.map(|c| c.units.clone()).unwrap_or_default(),
    };
    let mut seen_units = HashSet::new();
    for (i, p) in units.iter().enumerate() {
        if !seen_units.insert(p.unit_id) {
            return Err(ApiError::invalid(format!("units[{i}].unitId"), "a product has at most one pack per unit"));
        }
    }
    let draft = ProductDraft {
        name_key: name.key(),
        name: name.into_string(),
        sku,
        price,
        cost: pick(body.cost, current.map(|c| c.cost.and_then(|v| Money::new(v).ok()))).map(Money::minor),
        tax_rate: body.tax_rate.map(|t| t.basis_points() as i32).or(current.map(|c| c.tax_rate)).unwrap_or(0),
        category_id: pick(body.category_id, current.map(|c| c.category_id)),
        brand_id: pick(body.brand_id, current.map(|c| c.brand_id)),
        unit_id: pick(body.unit_id, current.map(|c| c.unit_id)),
        barcode: pick(body.barcode.map(|b| b.map(|b| b.as_str().to_owned())), current.map(|c| c.barcode.clone())),
        alternate_barcodes: match body.alternate_barcodes {
            Some(codes) => codes.into_iter().map(|b| b.as_str().to_owned()).collect(),
            None => current.map(|c| c.alternate_barcodes.clone()).unwrap_or_default(),
        },
        units,
        active: status,
        show_in_quick_products: body
            .show_in_quick_products
            .or(current.map(|c| c.show_in_quick_products))
            .unwrap_or(false),
    };
    check_barcodes_distinct(&draft)?;
    check_refs(state, store, &draft).await?;
    Ok(draft)
}

/// A PATCH field: absent keeps the current value, `null` clears it.
fn pick<T>(patch: Option<Option<T>>, current: Option<Option<T>>) -> Option<T> {
    match patch {
        Some(v) => v,
        None => current.flatten(),
    }
}

/// One barcode may appear once among the product's own, its alternates and its packs'.
fn check_barcodes_distinct(d: &ProductDraft) -> ApiResult<()> {
    let mut seen = HashSet::new();
    let fields = d
        .barcode
        .iter()
        .map(|b| ("barcode".to_owned(), b))
        .chain(d.alternate_barcodes.iter().enumerate().map(|(i, b)| (format!("alternateBarcodes[{i}]"), b)))
        .chain(
            d.units
                .iter()
                .enumerate()
                .filter_map(|(i, u)| u.barcode.as_ref().map(|b| (format!("units[{i}].barcode"), b))),
        );
    for (field, code) in fields {
        if !seen.insert(code.clone()) {
            return Err(ApiError::Conflict {
                code: "barcode_taken",
                message: format!("barcode {code} is used twice in this product ({field})"),
            });
        }
    }
    Ok(())
}

async fn check_refs(state: &AppState, store: &StoreId, d: &ProductDraft) -> ApiResult<()> {
    let mut unit_ids: Vec<Id> = d.units.iter().map(|u| u.unit_id).collect();
    unit_ids.extend(d.unit_id);
    let missing = state.store.missing_refs(store, d.category_id, d.brand_id, &unit_ids).await?;
    if missing.category {
        return Err(ApiError::invalid("categoryId", "no such category in this store"));
    }
    if missing.brand {
        return Err(ApiError::invalid("brandId", "no such brand in this store"));
    }
    if let Some(u) = d.unit_id.filter(|u| missing.units.contains(u)) {
        let _ = u;
        return Err(ApiError::invalid("unitId", "no such unit in this store"));
    }
    if let Some(i) = d.units.iter().position(|p| missing.units.contains(&p.unit_id)) {
        return Err(ApiError::invalid(format!("units[{i}].unitId"), "no such unit in this store"));
    }
    Ok(())
}

/// The stock a body sets: on create the opening stock, in a PATCH a stocktake.
pub fn stock_of(body_stock: Option<Quantity>) -> Option<i64> {
    body_stock.map(Quantity::milli)
}
