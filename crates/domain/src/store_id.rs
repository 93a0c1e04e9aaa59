use std::fmt;

use crate::InvalidValue;

/// A store's id: a lowercase slug, `^[a-z0-9][a-z0-9_-]{0,63}$`.
///
/// Input is trimmed and lower-cased (`Downtown-01` and `downtown-01` are one store). Because it
/// can only hold `[a-z0-9_-]`, it is safe to quote inside SQL (`SET LOCAL tills.store_id = '…'`)
/// and inside a Redis key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreId(String);

impl StoreId {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let s = input.trim().to_lowercase();
        let mut chars = s.chars();
        let valid = match chars.next() {
            Some(first) => {
                (first.is_ascii_lowercase() || first.is_ascii_digit())
                    && s.len() <= 64
                    && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            }
            None => false,
        };
        if valid {
            Ok(Self(s))
        } else {
            Err(InvalidValue::new(
                "a store id is 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for StoreId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for StoreId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for StoreId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        StoreId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_space() {
        assert_eq!(StoreId::parse(" Downtown-01 ").unwrap().as_str(), "downtown-01");
    }

    #[test]
    fn rejects_bad_slugs() {
        for bad in ["", "-lead", "_lead", "has space", "semi;colon", "quo'te", "ü-store", &"a".repeat(65)] {
            assert!(StoreId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(StoreId::parse(&"a".repeat(64)).is_ok());
        assert!(StoreId::parse("0_a-b").is_ok());
    }
}
