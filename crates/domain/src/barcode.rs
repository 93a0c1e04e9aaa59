//! Barcodes as shops print them: product codes, and in-store scale labels (EAN-13 with an
//! embedded weight or price).

use std::fmt;

use crate::{InvalidValue, Money, Quantity};

/// A barcode: 1-64 printable ASCII characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Barcode(String);

impl Barcode {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        if input.is_empty() || input.len() > 64 || !input.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(InvalidValue::new("a barcode is 1-64 printable ASCII characters without spaces"));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Barcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Barcode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Barcode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Barcode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Whether a scale label carries the weight or the price of the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleKind {
    Weight,
    Price,
}

/// One of a store's in-store barcode formats: an EAN-13 made of `prefix`, `item_digits` digits
/// naming the item, a value of `12 - len(prefix) - item_digits` digits and a check digit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScaleFormat {
    pub prefix: String,
    pub item_digits: u8,
    pub kind: ScaleKind,
    pub decimals: u8,
}

/// What a scale label says: the product's barcode (prefix + item digits) and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleMatch {
    pub item_code: Barcode,
    pub embedded: Embedded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedded {
    Weight(Quantity),
    Price(Money),
}

impl ScaleFormat {
    /// Checks the format against the store's currency (a price label cannot be more precise
    /// than the currency's minor unit).
    pub fn validate(&self, currency_decimals: u8) -> Result<(), InvalidValue> {
        if self.prefix.is_empty() || !self.prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new("prefix is one or more digits"));
        }
        if self.item_digits == 0 {
            return Err(InvalidValue::new("itemDigits is at least 1"));
        }
        let used = self.prefix.len() + usize::from(self.item_digits);
        if used > 11 {
            return Err(InvalidValue::new("prefix and itemDigits leave no room for a value in 12 digits"));
        }
        match self.kind {
            ScaleKind::Weight if self.decimals > 3 => Err(InvalidValue::new("a weight label has at most 3 decimals")),
            ScaleKind::Price if self.decimals > currency_decimals => {
                Err(InvalidValue::new("a price label has at most as many decimals as the store's currency"))
            }
            _ => Ok(()),
        }
    }

    /// Decodes `code` when it is a valid EAN-13 of this format.
    pub fn decode(&self, code: &str, currency_decimals: u8) -> Option<ScaleMatch> {
        if !is_valid_ean13(code) || !code.starts_with(&self.prefix) {
            return None;
        }
        let item_end = self.prefix.len() + usize::from(self.item_digits);
        if item_end > 11 {
            return None;
        }
        let item_code = Barcode::parse(&code[..item_end]).ok()?;
        let value: i64 = code[item_end..12].parse().ok()?;
        let embedded = match self.kind {
            ScaleKind::Weight => {
                let scale = 10i64.checked_pow(3u32.checked_sub(u32::from(self.decimals))?)?;
                Embedded::Weight(Quantity::from_milli(value.checked_mul(scale)?).ok()?)
            }
            ScaleKind::Price => {
                let scale = 10i64.checked_pow(u32::from(currency_decimals.checked_sub(self.decimals)?))?;
                Embedded::Price(Money::new(value.checked_mul(scale)?).ok()?)
            }
        };
        Some(ScaleMatch { item_code, embedded })
    }
}

/// Finds the first of `formats` that decodes `code`.
pub fn decode_scale_label(formats: &[ScaleFormat], code: &str, currency_decimals: u8) -> Option<ScaleMatch> {
    formats.iter().find_map(|f| f.decode(code, currency_decimals))
}

/// True when `code` is 13 digits whose last is the EAN-13 check digit of the first twelve.
pub fn is_valid_ean13(code: &str) -> bool {
    let bytes = code.as_bytes();
    if bytes.len() != 13 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    u32::from(bytes[12] - b'0') == check_digit(&bytes[..12])
}

/// Twelve digits completed with their EAN-13 check digit (the demo's and the bench's barcodes).
/// Panics unless given twelve ASCII digits: callers build them from numbers.
pub fn ean13(twelve: &str) -> String {
    assert!(twelve.len() == 12 && twelve.bytes().all(|b| b.is_ascii_digit()), "ean13 takes twelve digits");
    format!("{twelve}{}", check_digit(twelve.as_bytes()))
}

fn check_digit(twelve: &[u8]) -> u32 {
    let sum: u32 = twelve.iter().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weight_format() -> ScaleFormat {
        ScaleFormat { prefix: "21".into(), item_digits: 5, kind: ScaleKind::Weight, decimals: 3 }
    }

    #[test]
    fn barcodes_are_printable_ascii() {
        assert!(Barcode::parse("5449000000996").is_ok());
        assert!(Barcode::parse("ABC-123/x").is_ok());
        for bad in ["", "has space", "tab\t", "ümlaut", &"1".repeat(65)] {
            assert!(Barcode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ean13_check_digit() {
        assert!(is_valid_ean13("5449000000996"));
        assert!(!is_valid_ean13("5449000000995"));
        // API.md's example label "2112345005357" shows the layout; its valid check digit is 5.
        assert!(is_valid_ean13("2112345005355"));
        assert!(!is_valid_ean13("2112345005357"));
        assert!(!is_valid_ean13("211234500535"));
    }

    #[test]
    fn weight_label_decodes_exactly() {
        let m = weight_format().decode("2112345005355", 2).unwrap();
        assert_eq!(m.item_code.as_str(), "2112345");
        assert_eq!(m.embedded, Embedded::Weight(Quantity::from_milli(535).unwrap()));
        assert!(weight_format().decode("2112345005358", 2).is_none(), "bad check digit");
        assert!(weight_format().decode("2212345005352", 2).is_none(), "other prefix");
    }

    #[test]
    fn price_label_decodes_to_minor_units() {
        let f = ScaleFormat { prefix: "22".into(), item_digits: 4, kind: ScaleKind::Price, decimals: 2 };
        // 22 1234 012345 + check: 123.45 in a 2-decimal currency.
        let body = "221234012345";
        let code = (0..10).map(|d| format!("{body}{d}")).find(|c| is_valid_ean13(c)).unwrap();
        assert_eq!(f.decode(&code, 2).unwrap().embedded, Embedded::Price(Money::new(12345).unwrap()));
        // A 2-decimal label cannot be read for a 0-decimal currency.
        assert!(f.decode(&code, 0).is_none());
        assert!(f.validate(0).is_err());
        assert!(f.validate(2).is_ok());
    }

    #[test]
    fn formats_must_leave_room_for_a_value() {
        let mut f = weight_format();
        f.item_digits = 10;
        assert!(f.validate(2).is_err());
        f.item_digits = 5;
        f.prefix = "2a".into();
        assert!(f.validate(2).is_err());
    }
}
