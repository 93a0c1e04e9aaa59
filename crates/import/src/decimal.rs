//! Exact decimal conversion: legacy numbers (doubles, Decimal128, numeric strings) to integers
//! in a fixed number of decimals (money in minor units, quantities in thousandths, tax in basis
//! points).
//!
//! Every value is read as decimal text and scaled in integers, never through float arithmetic.
//! A double is read as its shortest round-trip decimal text (what the legacy user typed: `19.99`,
//! not `19.989999999999998436805981327779591083526611328125`); a Decimal128 as its exact
//! decimal text; a string as written. Rounding is half away from zero ("half up", as the money
//! rules say).

use bson::Bson;
use tills_domain::pricing::div_round_half_up;

/// A value scaled to integers, and whether digits were rounded away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaled {
    pub value: i64,
    pub rounded: bool,
}

/// Why a value could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberError {
    /// Not a number at all (text, a date, an object…).
    NotANumber(String),
    /// NaN, an infinity, or beyond what can be stored.
    Unrepresentable(String),
}

impl std::fmt::Display for NumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NumberError::NotANumber(s) => write!(f, "{s} is not a number"),
            NumberError::Unrepresentable(s) => write!(f, "{s} cannot be represented"),
        }
    }
}

/// The decimal text of a BSON number or numeric string; None for a value that is not one.
pub fn decimal_text(v: &Bson) -> Option<String> {
    match v {
        Bson::Double(f) => Some(if f.is_finite() { format!("{f}") } else { f.to_string() }),
        Bson::Int32(i) => Some(i.to_string()),
        Bson::Int64(i) => Some(i.to_string()),
        Bson::Decimal128(d) => Some(d.to_string()),
        Bson::String(s) => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Scales a BSON number (or numeric string) to `decimals` places; `limit` bounds the result's
/// magnitude.
pub fn scale_bson(v: &Bson, decimals: u32, limit: i64) -> Result<Scaled, NumberError> {
    match decimal_text(v) {
        Some(text) => scale(&text, decimals, limit),
        None => Err(NumberError::NotANumber(describe(v))),
    }
}

/// A short description of a BSON value for the report.
pub fn describe(v: &Bson) -> String {
    let s = match v {
        Bson::String(s) => format!("{s:?}"),
        other => serde_json::Value::from(other.clone()).to_string(),
    };
    if s.chars().count() > 80 { format!("{}…", s.chars().take(80).collect::<String>()) } else { s }
}

/// Scales decimal text (`"12.5"`, `"-3"`, `"1.25E+3"`, `"0.125"`) to `decimals` places, rounding
/// half away from zero.
pub fn scale(text: &str, decimals: u32, limit: i64) -> Result<Scaled, NumberError> {
    let nan = || NumberError::NotANumber(format!("{text:?}"));
    let too_big = || NumberError::Unrepresentable(format!("{text:?}"));
    let s = text.trim();
    let lower = s.to_ascii_lowercase();
    if lower.contains("nan") || lower.contains("inf") {
        return Err(NumberError::Unrepresentable(format!("{text:?}")));
    }
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => {
            let exp: i64 = s[i + 1..].parse().map_err(|_| nan())?;
            (&s[..i], exp)
        }
        None => (s, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (whole.is_empty() && frac.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(nan());
    }
    // digits × 10^(exponent − len(frac)), as an integer with its power of ten.
    let digits: String = format!("{whole}{frac}");
    let digits = digits.trim_start_matches('0');
    let mut power = exponent - frac.len() as i64 + i64::from(decimals);
    if digits.is_empty() {
        return Ok(Scaled { value: 0, rounded: false });
    }
    // Trailing zeros carry no value: move them into the power (keeps long texts in range).
    let significant = digits.trim_end_matches('0');
    power += (digits.len() - significant.len()) as i64;
    if significant.len() > 36 {
        return Err(too_big());
    }
    let n: i128 = significant.parse().map_err(|_| nan())?;
    let (value, rounded) = if power >= 0 {
        if power > 30 {
            return Err(too_big());
        }
        (n.checked_mul(10i128.pow(power as u32)).ok_or_else(too_big)?, false)
    } else if -power > 37 {
        (0, true)
    } else {
        let den = 10i128.pow((-power) as u32);
        (div_round_half_up(n, den), n % den != 0)
    };
    if value > i128::from(limit) {
        return Err(too_big());
    }
    let value = value as i64;
    Ok(Scaled { value: if negative { -value } else { value }, rounded })
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: i64 = 10_000_000_000_000;

    fn s(t: &str, d: u32) -> (i64, bool) {
        let x = scale(t, d, L).unwrap();
        (x.value, x.rounded)
    }

    #[test]
    fn scales_exactly_and_rounds_half_up() {
        assert_eq!(s("12.5", 2), (1250, false));
        assert_eq!(s("12.50", 2), (1250, false));
        assert_eq!(s("0.125", 2), (13, true));
        assert_eq!(s("0.124", 2), (12, true));
        assert_eq!(s("-0.125", 2), (-13, true), "halves away from zero");
        assert_eq!(s("19.99", 2), (1999, false));
        assert_eq!(s("100", 0), (100, false));
        assert_eq!(s("99.5", 0), (100, true));
        assert_eq!(s("1.25E+3", 2), (125_000, false));
        assert_eq!(s("125E-2", 2), (125, false));
        assert_eq!(s("+7", 2), (700, false));
        assert_eq!(s(".5", 2), (50, false));
        assert_eq!(s("5.", 2), (500, false));
        assert_eq!(s("0.0000000000000000000000000000000000000000001", 2), (0, true));
        assert_eq!(s("000012.3400000", 3), (12_340, false));
        assert_eq!(s("19", 2), (1900, false), "19 % is 1900 basis points");
        assert_eq!(s("7.125", 2), (713, true));
        assert_eq!(s("2.5", 3), (2500, false));
    }

    #[test]
    fn refuses_what_is_not_a_number_or_too_large() {
        assert!(matches!(scale("abc", 2, L), Err(NumberError::NotANumber(_))));
        assert!(matches!(scale("", 2, L), Err(NumberError::NotANumber(_))));
        assert!(matches!(scale("12,50", 2, L), Err(NumberError::NotANumber(_))));
        assert!(matches!(scale("$5", 2, L), Err(NumberError::NotANumber(_))));
        assert!(matches!(scale("NaN", 2, L), Err(NumberError::Unrepresentable(_))));
        assert!(matches!(scale("-Infinity", 2, L), Err(NumberError::Unrepresentable(_))));
        assert!(matches!(scale("1E+40", 2, L), Err(NumberError::Unrepresentable(_))));
        assert!(matches!(scale("100000000000.01", 2, L), Err(NumberError::Unrepresentable(_))), "beyond the limit");
    }

    #[test]
    fn reads_doubles_as_their_shortest_text_and_decimal128_exactly() {
        let x = scale_bson(&Bson::Double(19.99), 2, L).unwrap();
        assert_eq!(x, Scaled { value: 1999, rounded: false });
        // 2.675 is 2.67499999… in binary; the user typed 2.675, which rounds half up to 2.68.
        assert_eq!(scale_bson(&Bson::Double(2.675), 2, L).unwrap().value, 268);
        assert_eq!(scale_bson(&Bson::Double(0.1 + 0.2), 2, L).unwrap(), Scaled { value: 30, rounded: true });
        let d: bson::Decimal128 = "12.345".parse().unwrap();
        assert_eq!(scale_bson(&Bson::Decimal128(d), 2, L).unwrap(), Scaled { value: 1235, rounded: true });
        let d: bson::Decimal128 = "1.5E+3".parse().unwrap();
        assert_eq!(scale_bson(&Bson::Decimal128(d), 2, L).unwrap().value, 150_000);
        assert_eq!(scale_bson(&Bson::String(" 3.10 ".into()), 2, L).unwrap().value, 310);
        assert_eq!(scale_bson(&Bson::Int32(4), 3, L).unwrap().value, 4000);
        assert!(scale_bson(&Bson::Boolean(true), 2, L).is_err());
        assert!(scale_bson(&Bson::Double(f64::NAN), 2, L).is_err());
    }
}
