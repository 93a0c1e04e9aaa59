//! Brands (`{prefix}_brands`): names unique ignoring case (a later `ACME` after `Acme` is
//! renamed `ACME (2)`), a missing name a placeholder.

use tills_storage::ExistingKeys;

use super::{Conv, LegacyDoc, NameTable, named};
use crate::report::Kind;

pub(super) fn convert(c: &mut Conv<'_>, docs: &[LegacyDoc], existing: &ExistingKeys) -> NameTable {
    named(c, Kind::Brands, docs, &existing.brand_names, &existing.held_by_tills)
}
