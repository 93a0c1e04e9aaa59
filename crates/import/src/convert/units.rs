//! Units (`{prefix}_units`): names unique ignoring case, as brands; and the units a pack needs
//! when the unit it names is gone: the store's unit of the pack's name, created when missing.

use tills_domain::{Id, name_key};
use tills_storage::{ExistingKeys, ImportNamed};

use super::{Conv, LegacyDoc, NameTable, Sorted, named, uid};
use crate::report::{Action, Kind, Reason};

pub(super) fn convert(c: &mut Conv<'_>, docs: &[LegacyDoc], existing: &ExistingKeys) -> NameTable {
    named(c, Kind::Units, docs, &existing.unit_names, &existing.held_by_tills)
}

/// The unit of a pack whose own unit is gone: the store's unit called `name`, or a new one
/// (reported as `created`).
pub(super) fn for_pack(c: &mut Conv<'_>, s: &Sorted<'_>, units: &mut NameTable, name: &str) -> Id {
    let key = name_key(name);
    if let Some(id) = units.by_name.get(&key) {
        return *id;
    }
    let id = uid(c.store, "units", &format!("name:{key}"));
    units.by_name.insert(key.clone(), id);
    c.out.units.push(ImportNamed {
        id,
        name: name.to_owned(),
        name_key: key,
        parent_id: None,
        legacy_id: None,
        created_at: s.created,
        updated_at: s.created,
    });
    c.entry(
        s,
        Kind::Units,
        Action::Created,
        Reason::OrphanReference,
        format!("unit {name:?} created for a pack of product {}", s.key),
    );
    id
}
