use crate::InvalidValue;

/// An ISO 4217 currency with its number of minor-unit decimals (USD 2, JPY 0, KWD 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    code: iso_currency::Currency,
}

impl Currency {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let code = input.trim().to_ascii_uppercase();
        match iso_currency::Currency::from_code(&code) {
            Some(code) if code.exponent().is_some() => Ok(Self { code }),
            _ => Err(InvalidValue::new("currency must be an ISO 4217 code with minor units, such as USD, EUR or JPY")),
        }
    }

    /// Every code [`Currency::parse`] takes (upper case): ISO 4217 codes with minor units.
    pub fn codes() -> Vec<&'static str> {
        // Every three-letter code, tried (iso_currency's iterator is behind a feature).
        let letters = b'A'..=b'Z';
        let mut codes = Vec::new();
        for a in letters.clone() {
            for b in letters.clone() {
                for c in letters.clone() {
                    let code = [a, b, c];
                    let code = std::str::from_utf8(&code).unwrap_or_default();
                    if let Some(found) = iso_currency::Currency::from_code(code)
                        && found.exponent().is_some()
                    {
                        codes.push(found.code());
                    }
                }
            }
        }
        codes
    }

    pub fn code(&self) -> &'static str {
        self.code.code()
    }

    /// How many decimals the minor unit has: 2 for cents, 0 for yen.
    pub fn decimals(&self) -> u8 {
        self.code.exponent().unwrap_or(0) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_follow_iso_4217() {
        assert_eq!(Currency::parse("usd").unwrap().decimals(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().decimals(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().decimals(), 3);
        assert_eq!(Currency::parse(" eur ").unwrap().code(), "EUR");
        assert!(Currency::parse("XXX").is_err(), "no minor unit");
        assert!(Currency::parse("ABC").is_err());
    }
}
