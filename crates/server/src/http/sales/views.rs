//! What the sales endpoints answer: a sale, its lines, payments and refunds, a quote, a list row.

use serde::Serialize;
use tills_domain::{Id, PaymentMethod, Quantity, SaleStatus};
use tills_storage::{PaymentRecord, RefundRecord, SaleHeader, SaleLineRecord, SaleRecord};

use crate::services::checkout::PricedCart;

/// A line of a sale: its id (what a refund names) and its figures.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SoldLineView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    #[serde(flatten)]
    line: LineView,
}

/// A line's figures (a quote's line, or a sale's without its id); amounts in minor currency units.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineView {
    #[schema(value_type = Option<uuid::Uuid>)]
    product_id: Option<Id>,
    name: String,
    barcode: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    unit_id: Option<Id>,
    /// Base units per pack (1 without a pack).
    factor: i64,
    #[schema(value_type = crate::openapi::Quantity)]
    quantity: Quantity,
    /// The unit (or pack) price the line sold at.
    price: i64,
    discount: i64,
    /// Basis points.
    tax_rate: i32,
    tax: i64,
    /// Net, plus tax when prices exclude tax.
    total: i64,
}

/// The tax of the lines of one rate.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaxBandView {
    /// Basis points.
    rate: i64,
    /// What the tax is levied on.
    base: i64,
    tax: i64,
}

/// A payment of a sale, or a payout of a refund (with `refundId`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    #[schema(value_type = uuid::Uuid)]
    sale_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    refund_id: Option<Id>,
    method: PaymentMethod,
    /// Minor currency units.
    amount: i64,
    reference: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&PaymentRecord> for PaymentView {
    fn from(p: &PaymentRecord) -> Self {
        PaymentView {
            id: p.id,
            sale_id: p.sale_id,
            refund_id: p.refund_id,
            method: p.method,
            amount: p.amount,
            reference: p.reference.clone(),
            created_at: p.created_at,
        }
    }
}

/// A refund of some of a sale's lines.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    #[schema(value_type = uuid::Uuid)]
    sale_id: Id,
    client_ref: Option<String>,
    restock: bool,
    total: i64,
    #[schema(value_type = Option<uuid::Uuid>)]
    created_by: Option<Id>,
    created_at: chrono::DateTime<chrono::Utc>,
    lines: Vec<RefundLine>,
    payments: Vec<PaymentView>,
}

impl From<&RefundRecord> for RefundView {
    fn from(r: &RefundRecord) -> Self {
        RefundView {
            id: r.id,
            sale_id: r.sale_id,
            client_ref: r.client_ref.clone(),
            restock: r.restock,
            total: r.total,
            created_by: r.created_by,
            created_at: r.created_at,
            lines: r
                .lines
                .iter()
                .map(|l| RefundLine {
                    line_id: l.sale_line_id,
                    quantity: Quantity::from_milli(l.quantity_milli).unwrap_or_default(),
                    amount: l.amount,
                })
                .collect(),
            payments: r.payments.iter().map(PaymentView::from).collect(),
        }
    }
}

/// A line of a refund.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundLine {
    #[schema(value_type = uuid::Uuid)]
    pub line_id: Id,
    #[schema(value_type = crate::openapi::Quantity)]
    pub quantity: Quantity,
    /// What this line returns: its total × refunded ÷ sold quantity, rounded half up.
    pub amount: i64,
}

/// `POST /sales/{id}/refunds` answers the refund with the sale as it is after it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RefundWithSale {
    #[serde(flatten)]
    pub refund: RefundView,
    pub sale: SaleView,
}

impl RefundWithSale {
    pub fn new(sale: &SaleRecord, refund: &RefundRecord) -> Self {
        RefundWithSale { refund: RefundView::from(refund), sale: SaleView::from(sale) }
    }
}

/// A sale as API.md shows it (plus its refunds). Amounts in minor currency units:
/// `subtotal` = Σ gross, `discountTotal` = Σ discounts, `taxTotal` = Σ line tax, `total` = Σ
/// line totals.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaleView {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    /// `invoicePrefix` + a gapless counter (`INV-000042`).
    invoice_number: String,
    status: SaleStatus,
    client_ref: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    customer_id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    cashier_id: Option<Id>,
    note: Option<String>,
    lines: Vec<SoldLineView>,
    subtotal: i64,
    discount_total: i64,
    tax_total: i64,
    tax_breakdown: Vec<TaxBandView>,
    total: i64,
    paid: i64,
    change: i64,
    payments: Vec<PaymentView>,
    refunds: Vec<RefundView>,
    offline: bool,
    sold_at: chrono::DateTime<chrono::Utc>,
    created_at: chrono::DateTime<chrono::Utc>,
    /// The cash-drawer shift it was sold in.
    #[schema(value_type = Option<uuid::Uuid>)]
    shift_id: Option<Id>,
}

fn line_view(l: &SaleLineRecord) -> SoldLineView {
    SoldLineView { id: l.id, line: line_figures(l) }
}

fn line_figures(l: &SaleLineRecord) -> LineView {
    LineView {
        product_id: l.product_id,
        name: l.name.clone(),
        barcode: l.barcode.clone(),
        unit_id: l.unit_id,
        factor: l.factor,
        quantity: Quantity::from_milli(l.quantity_milli).unwrap_or_default(),
        price: l.price,
        discount: l.discount,
        tax_rate: l.tax_rate,
        tax: l.tax,
        total: l.total,
    }
}

/// Groups lines by tax rate; the base is what the tax is levied on (a line's total less its tax,
/// whether prices include tax or not).
fn breakdown(lines: impl Iterator<Item = (i64, i64, i64)>) -> Vec<TaxBandView> {
    let mut bands: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    for (rate, total, tax) in lines {
        let b = bands.entry(rate).or_default();
        b.0 += total - tax;
        b.1 += tax;
    }
    bands.into_iter().map(|(rate, (base, tax))| TaxBandView { rate, base, tax }).collect()
}

impl From<&SaleRecord> for SaleView {
    fn from(s: &SaleRecord) -> Self {
        let h = &s.header;
        SaleView {
            id: h.id,
            invoice_number: h.invoice_number.clone(),
            status: h.status,
            client_ref: h.client_ref.clone(),
            customer_id: h.customer_id,
            cashier_id: h.cashier_id,
            note: h.note.clone(),
            lines: s.lines.iter().map(line_view).collect(),
            subtotal: h.subtotal,
            discount_total: h.discount_total,
            tax_total: h.tax_total,
            tax_breakdown: breakdown(s.lines.iter().map(|l| (i64::from(l.tax_rate), l.total, l.tax))),
            total: h.total,
            paid: h.paid,
            change: h.change,
            payments: s.payments.iter().map(PaymentView::from).collect(),
            refunds: s.refunds.iter().map(RefundView::from).collect(),
            offline: h.offline,
            sold_at: h.sold_at,
            created_at: h.created_at,
            shift_id: h.shift_id,
        }
    }
}

impl From<&PricedCart> for QuoteView {
    fn from(priced: &PricedCart) -> Self {
        let t = &priced.totals;
        let lines = priced
            .lines
            .iter()
            .zip(&t.lines)
            .map(|(l, lt)| LineView {
                product_id: Some(l.product.id),
                name: l.product.name.clone(),
                barcode: l.barcode.clone(),
                unit_id: l.unit_id,
                factor: l.factor,
                quantity: Quantity::from_milli(l.quantity_milli).unwrap_or_default(),
                price: l.price,
                discount: lt.discount,
                tax_rate: l.product.tax_rate,
                tax: lt.tax,
                total: lt.total,
            })
            .collect();
        QuoteView {
            lines,
            subtotal: t.subtotal,
            discount_total: t.discount_total,
            tax_total: t.tax_total,
            tax_breakdown: t
                .tax_breakdown
                .iter()
                .map(|b| TaxBandView { rate: b.rate, base: b.base, tax: b.tax })
                .collect(),
            total: t.total,
        }
    }
}

/// What a sale would be now.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteView {
    lines: Vec<LineView>,
    subtotal: i64,
    discount_total: i64,
    tax_total: i64,
    tax_breakdown: Vec<TaxBandView>,
    total: i64,
}

/// A sale in a list: the sale without its lines, payments and refunds.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaleSummary {
    #[schema(value_type = uuid::Uuid)]
    id: Id,
    invoice_number: String,
    status: SaleStatus,
    client_ref: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    customer_id: Option<Id>,
    #[schema(value_type = Option<uuid::Uuid>)]
    cashier_id: Option<Id>,
    subtotal: i64,
    discount_total: i64,
    tax_total: i64,
    total: i64,
    paid: i64,
    change: i64,
    offline: bool,
    sold_at: chrono::DateTime<chrono::Utc>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<SaleHeader> for SaleSummary {
    fn from(h: SaleHeader) -> Self {
        SaleSummary {
            id: h.id,
            invoice_number: h.invoice_number,
            status: h.status,
            client_ref: h.client_ref,
            customer_id: h.customer_id,
            cashier_id: h.cashier_id,
            subtotal: h.subtotal,
            discount_total: h.discount_total,
            tax_total: h.tax_total,
            total: h.total,
            paid: h.paid,
            change: h.change,
            offline: h.offline,
            sold_at: h.sold_at,
            created_at: h.created_at,
        }
    }
}
