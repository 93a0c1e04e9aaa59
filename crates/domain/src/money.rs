//! Money and quantities: integers only.
//!
//! Money is an amount in the store's minor currency unit (cents for USD, yen for JPY).
//! A quantity is exact to a thousandth (`0.535` kg is 535 milli-units). Neither is ever a float.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

use crate::InvalidValue;

/// A non-negative amount of money in minor units, bounded so that sums and products of a sale
/// can never overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    /// 10^13 minor units: a hundred billion dollars. Large enough for any sale.
    pub const MAX: i64 = 10_000_000_000_000;
    pub const ZERO: Money = Money(0);

    pub fn new(minor: i64) -> Result<Self, InvalidValue> {
        if minor < 0 {
            Err(InvalidValue::new("money must not be negative"))
        } else if minor > Self::MAX {
            Err(InvalidValue::new("amount is too large"))
        } else {
            Ok(Self(minor))
        }
    }

    pub fn minor(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number of minor currency units (cents), not negative")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Money::new(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                i64::try_from(v).map_err(|_| E::custom("amount is too large")).and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                // `150.0` is the integer 150 in JSON (and to JSON Schema's `integer`); `1.5` is not.
                if v.is_finite() && v.fract() == 0.0 && v.abs() <= Money::MAX as f64 {
                    return self.visit_i64(v as i64);
                }
                Err(E::custom("money is a whole number of minor currency units (150 for 1.50), never a fraction"))
            }
        }
        d.deserialize_any(V)
    }
}

/// An exact quantity in thousandths of a unit. May be negative (a stock delta).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(i64);

impl Quantity {
    /// One billion units: beyond any shelf.
    pub const MAX_MILLI: i64 = 1_000_000_000_000;
    pub const ONE: Quantity = Quantity(1000);
    pub const ZERO: Quantity = Quantity(0);

    pub fn from_milli(milli: i64) -> Result<Self, InvalidValue> {
        if milli.abs() > Self::MAX_MILLI { Err(InvalidValue::new("quantity is too large")) } else { Ok(Self(milli)) }
    }

    pub fn from_whole(units: i64) -> Result<Self, InvalidValue> {
        units.checked_mul(1000).ok_or_else(|| InvalidValue::new("quantity is too large")).and_then(Self::from_milli)
    }

    /// Parses a decimal such as `"0.535"`, `"-3"` or `"12.5"`: at most 3 decimals, exactly.
    pub fn parse_decimal(input: &str) -> Result<Self, InvalidValue> {
        let s = input.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let bad = || InvalidValue::new("a quantity is a number with at most 3 decimals");
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 3 {
            return Err(InvalidValue::new("a quantity has at most 3 decimals"));
        }
        if whole.len() > 13 {
            return Err(InvalidValue::new("quantity is too large"));
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac_milli: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<3}").parse().map_err(|_| bad())? };
        let milli = whole * 1000 + frac_milli;
        Self::from_milli(if neg { -milli } else { milli })
    }

    pub fn milli(self) -> i64 {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, frac) = (abs / 1000, abs % 1000);
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let frac = format!("{frac:03}");
            write!(f, "{sign}{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.serialize_i64(self.0 / 1000)
        } else {
            // The shortest decimal form of this f64 is exactly the 3-decimal quantity.
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number with at most 3 decimals")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Quantity::from_whole(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                i64::try_from(v).map_err(|_| E::custom("quantity is too large")).and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                if !v.is_finite() {
                    return Err(E::custom("quantity is not a number"));
                }
                // JSON numbers arrive as the f64 nearest to the text; its shortest decimal
                // form gives the text back exactly for every quantity Tills accepts.
                Quantity::parse_decimal(&format!("{v}")).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A tax rate in basis points: 1900 is 19 %. 0-10000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TaxRate(u16);

impl TaxRate {
    pub fn new(bp: i64) -> Result<Self, InvalidValue> {
        if (0..=10_000).contains(&bp) {
            Ok(Self(bp as u16))
        } else {
            Err(InvalidValue::new("a tax rate is 0-10000 basis points (1900 = 19 %)"))
        }
    }

    pub fn basis_points(self) -> i64 {
        i64::from(self.0)
    }
}

impl serde::Serialize for TaxRate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for TaxRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        TaxRate::new(v).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_whole_and_not_negative() {
        assert_eq!(serde_json::from_str::<Money>("150").unwrap().minor(), 150);
        assert!(serde_json::from_str::<Money>("-1").is_err());
        assert!(serde_json::from_str::<Money>("1.5").is_err());
        assert!(serde_json::from_str::<Money>("\"150\"").is_err());
        assert!(serde_json::from_str::<Money>("99999999999999999999").is_err());
        assert!(Money::new(Money::MAX + 1).is_err());
    }

    #[test]
    fn quantities_are_exact_to_three_decimals() {
        let q: Quantity = serde_json::from_str("0.535").unwrap();
        assert_eq!(q.milli(), 535);
        assert_eq!(serde_json::from_str::<Quantity>("2").unwrap().milli(), 2000);
        assert_eq!(serde_json::from_str::<Quantity>("-3").unwrap().milli(), -3000);
        assert_eq!(serde_json::from_str::<Quantity>("1.1").unwrap().milli(), 1100);
        assert_eq!(serde_json::from_str::<Quantity>("0.001").unwrap().milli(), 1);
        assert_eq!(serde_json::from_str::<Quantity>("123456.789").unwrap().milli(), 123_456_789);
        assert!(serde_json::from_str::<Quantity>("0.0001").is_err());
        assert!(serde_json::from_str::<Quantity>("1e30").is_err());
        assert_eq!(serde_json::to_string(&q).unwrap(), "0.535");
        assert_eq!(serde_json::to_string(&Quantity::from_milli(2000).unwrap()).unwrap(), "2");
        assert_eq!(Quantity::from_milli(-1500).unwrap().to_string(), "-1.5");
    }

    #[test]
    fn every_milli_quantity_round_trips_through_json() {
        for milli in (0..100_000).step_by(7).chain([999_999_999, 123_456_789_012]) {
            let q = Quantity::from_milli(milli).unwrap();
            let text = serde_json::to_string(&q).unwrap();
            assert_eq!(serde_json::from_str::<Quantity>(&text).unwrap(), q, "{text}");
        }
    }

    #[test]
    fn decimal_parsing() {
        assert_eq!(Quantity::parse_decimal("12.500").unwrap().milli(), 12_500);
        assert!(Quantity::parse_decimal("1.2345").is_err());
        assert!(Quantity::parse_decimal("abc").is_err());
        assert!(Quantity::parse_decimal(".5").is_err());
    }

    #[test]
    fn tax_rates_in_basis_points() {
        assert_eq!(serde_json::from_str::<TaxRate>("1900").unwrap().basis_points(), 1900);
        assert!(serde_json::from_str::<TaxRate>("10001").is_err());
        assert!(serde_json::from_str::<TaxRate>("-1").is_err());
    }
}
