//! The closed sets of the domain: a payment method, a sale's status, why stock moved, and why a
//! write was refused. Each is an enum written as text (`"cash"`, `"partially_refunded"`) in JSON,
//! in the database and in the API, from one list of names here.

use std::fmt;
use std::str::FromStr;

use crate::InvalidValue;

/// An enum of named values: `as_str`, `FromStr` (refusing other text with `$refusal`),
/// `Display`, `TryFrom<String>` (for database columns), serde as the same text, and with the
/// `openapi` feature a `utoipa::ToSchema` whose enum is those names.
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($refusal:tt) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in the order of the list.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(InvalidValue::new($refusal)),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

closed_set! {
    /// Whether a product sells: an inactive one stays in the catalog and scans, but a sale
    /// refuses it.
    pub enum ProductStatus ("status is active or inactive") {
        Active = "active",
        Inactive = "inactive",
    }
}

closed_set! {
    /// How a sale was paid (or a refund paid out).
    pub enum PaymentMethod ("method is cash, card, mobile or voucher") {
        Cash = "cash",
        Card = "card",
        Mobile = "mobile",
        Voucher = "voucher",
    }
}

closed_set! {
    /// Where a sale stands: as sold, voided (stock back, number kept), or refunded in part or whole.
    pub enum SaleStatus ("status is completed, voided, partially_refunded or refunded") {
        Completed = "completed",
        Voided = "voided",
        PartiallyRefunded = "partially_refunded",
        Refunded = "refunded",
    }
}

closed_set! {
    /// Why a product's stock moved: a sale, a void or a refund; an import; or by hand
    /// ([`AdjustReason`]).
    pub enum StockReason ("reason is sale, void, refund, damaged, received, stocktake, correction, other or import") {
        Sale = "sale",
        Void = "void",
        Refund = "refund",
        Damaged = "damaged",
        Received = "received",
        Stocktake = "stocktake",
        Correction = "correction",
        Other = "other",
        Import = "import",
    }
}

closed_set! {
    /// Why stock was adjusted by hand: the reasons a person may give.
    pub enum AdjustReason ("reason is damaged, received, stocktake, correction or other") {
        Damaged = "damaged",
        Received = "received",
        Stocktake = "stocktake",
        Correction = "correction",
        Other = "other",
    }
}

impl From<AdjustReason> for StockReason {
    fn from(r: AdjustReason) -> Self {
        match r {
            AdjustReason::Damaged => StockReason::Damaged,
            AdjustReason::Received => StockReason::Received,
            AdjustReason::Stocktake => StockReason::Stocktake,
            AdjustReason::Correction => StockReason::Correction,
            AdjustReason::Other => StockReason::Other,
        }
    }
}

closed_set! {
    /// Why a write that was valid in itself was refused by what already exists.
    pub enum Conflict ("not a conflict") {
        /// The change would leave the store without an active admin.
        LastAdmin = "last_admin",
        /// A void of a sale already voided.
        AlreadyVoided = "already_voided",
        /// A void of a sale with refunds.
        HasRefunds = "has_refunds",
        /// A refund of a voided sale.
        Voided = "voided",
        /// A sale's `clientRef` already names a refund.
        ClientRefOfRefund = "client_ref_of_refund",
        /// A refund's `clientRef` already names a sale, or another sale's refund.
        ClientRefTaken = "client_ref_taken",
        /// A category, brand or unit still used by a product (or a category by a child).
        InUse = "in_use",
        /// A shift is already open on this terminal.
        TerminalHasOpenShift = "terminal_has_open_shift",
        /// The cashier already has an open shift.
        CashierHasOpenShift = "cashier_has_open_shift",
        /// The shift is closed: it takes no cash movement and no second close.
        ShiftClosed = "shift_closed",
        /// The store requires an open shift to sell, and the cashier has none.
        ShiftRequired = "shift_required",
        /// A parked cart another terminal resumed first.
        CartTaken = "cart_taken",
        /// The counted cash is over or short beyond the store's tolerance, and nobody who may
        /// accept that approved.
        DifferenceNeedsManager = "difference_needs_manager",
    }
}

closed_set! {
    /// What a manager's approval at a cashier's terminal allows, once.
    pub enum ApprovalAction ("action is sale, void, refund, return or close_shift") {
        /// A sale with a price override or a discount.
        Sale = "sale",
        Void = "void",
        Refund = "refund",
        /// A return without a receipt.
        Return = "return",
        /// Closing a shift whose count is over or short beyond the store's tolerance.
        CloseShift = "close_shift",
    }
}

closed_set! {
    /// Where a cash-drawer shift stands.
    pub enum ShiftStatus ("status is open or closed") {
        Open = "open",
        Closed = "closed",
    }
}

closed_set! {
    /// Cash that moved in or out of a drawer without a sale, or the drawer opened for nothing.
    pub enum CashMovementKind ("kind is pay_in, pay_out or no_sale") {
        /// Cash put in (change from the safe, say).
        PayIn = "pay_in",
        /// Cash taken out (a delivery paid, cash to the safe).
        PayOut = "pay_out",
        /// The drawer opened without a sale: no amount.
        NoSale = "no_sale",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_reads_back_from_its_text_and_json() {
        for m in PaymentMethod::ALL {
            assert_eq!(m.as_str().parse::<PaymentMethod>().unwrap(), *m);
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::json!(m.as_str()));
        }
        for s in SaleStatus::ALL {
            assert_eq!(SaleStatus::try_from(s.to_string()).unwrap(), *s);
        }
        for r in AdjustReason::ALL {
            assert_eq!(StockReason::from(*r).as_str(), r.as_str());
        }
        assert_eq!(
            serde_json::from_str::<SaleStatus>("\"partially_refunded\"").unwrap(),
            SaleStatus::PartiallyRefunded
        );
        assert!("Cash".parse::<PaymentMethod>().is_err());
        assert_eq!(
            "sale".parse::<AdjustReason>().unwrap_err().0,
            "reason is damaged, received, stocktake, correction or other"
        );
    }
}
