use std::fmt;
use std::str::FromStr;

use crate::InvalidValue;

/// What a signed-in account may do. Platform admins belong to no store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    Admin,
    Manager,
    Cashier,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Cashier => "cashier",
        }
    }

    /// Parses a role a store user may have (never `platform_admin`).
    pub fn parse_store_role(input: &str) -> Result<Self, InvalidValue> {
        match input.trim() {
            "admin" => Ok(Role::Admin),
            "manager" => Ok(Role::Manager),
            "cashier" => Ok(Role::Cashier),
            _ => Err(InvalidValue::new("role must be one of admin, manager, cashier")),
        }
    }

    /// Manager and admin: catalog writes, stock, price overrides, discounts, voids, refunds.
    pub fn is_manager_or_above(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }
}

impl FromStr for Role {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "platform_admin" => Ok(Role::PlatformAdmin),
            other => Role::parse_store_role(other),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_roles_exclude_platform_admin() {
        assert!(Role::parse_store_role("platform_admin").is_err());
        assert_eq!("platform_admin".parse::<Role>().unwrap(), Role::PlatformAdmin);
        assert_eq!(Role::parse_store_role("manager").unwrap(), Role::Manager);
        assert!(Role::Manager.is_manager_or_above());
        assert!(!Role::Cashier.is_manager_or_above());
    }
}
