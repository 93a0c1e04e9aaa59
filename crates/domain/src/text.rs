use std::fmt;

use crate::InvalidValue;

/// The key that makes names unique ignoring case: Unicode lower case, computed here rather than
/// by the database (SQLite's `lower()` folds ASCII only), so `Äpfel` and `äpfel` clash.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A trimmed display name of 1-200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let s = input.trim();
        let n = s.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(InvalidValue::new("must be 1-200 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive uniqueness key of this name.
    pub fn key(&self) -> String {
        name_key(&self.0)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An email address, trimmed and lower-cased. Checked for shape, not deliverability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let s = input.trim().to_lowercase();
        let bad = || InvalidValue::new("must be an email address such as ana@example.com");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number normalized to its digits with an optional leading `+`
/// (`"+49 (30) 1234-56"` becomes `+4930123456`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let s = input.trim();
        let plus = s.starts_with('+');
        let mut out = String::with_capacity(s.len());
        if plus {
            out.push('+');
        }
        for (i, c) in s.chars().enumerate() {
            match c {
                '0'..='9' => out.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '(' | ')' | '.' | '/' => {}
                _ => {
                    return Err(InvalidValue::new(
                        "a phone number holds digits, an optional leading '+', spaces, dashes, dots and brackets",
                    ));
                }
            }
        }
        let digits = out.len() - usize::from(plus);
        if !(3..=20).contains(&digits) {
            return Err(InvalidValue::new("a phone number has 3-20 digits"));
        }
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: at least 10 characters (at most 200, so hashing stays cheap).
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let n = input.chars().count();
        if n < 10 {
            return Err(InvalidValue::new("a password has at least 10 characters"));
        }
        if n > 200 {
            return Err(InvalidValue::new("a password has at most 200 characters"));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Cola  ").unwrap().as_str(), "Cola");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse(&"ä".repeat(200)).is_ok(), "counted in characters, not bytes");
    }

    #[test]
    fn name_keys_fold_unicode_case() {
        assert_eq!(Name::parse("Äpfel").unwrap().key(), Name::parse("äpfel").unwrap().key());
        assert_ne!(name_key("Apfel"), name_key("Äpfel"));
    }

    #[test]
    fn emails_are_lower_cased() {
        assert_eq!(Email::parse(" Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        for bad in ["", "ana", "@x.com", "ana@", "a b@x.com", "a@b@c", "a@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phones_keep_digits_and_plus() {
        assert_eq!(Phone::parse("+49 (30) 1234-56").unwrap().as_str(), "+4930123456");
        assert_eq!(Phone::parse("030 1234").unwrap().as_str(), "0301234");
        assert!(Phone::parse("12").is_err());
        assert!(Phone::parse("call me").is_err());
        assert!(Phone::parse("12+34").is_err());
    }

    #[test]
    fn passwords_need_ten_characters() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("long enough!").is_ok());
        assert_eq!(format!("{:?}", NewPassword::parse("long enough!").unwrap()), "NewPassword(***)");
    }
}
