//! Customers (`{prefix}_customers`): phones normalized; a later duplicate phone, or none, imported
//! soft-deleted with a note.
use std::collections::HashSet;

use tills_domain::{Id, Phone, name_key};
use tills_storage::{ExistingKeys, ImportCustomer};

use super::{Claims, Conv, LegacyDoc, Refs, date, short, text, uid, unique};
use crate::report::{Action, Kind, Reason};

pub(super) fn convert(c: &mut Conv<'_>, docs: &[LegacyDoc], existing: &ExistingKeys) -> Refs {
    let docs = unique(c, docs, Kind::Customers, None);
    let refs: Refs = docs.iter().map(|s| (s.key.clone(), uid(c.store, "customers", &s.key))).collect();
    let ours: HashSet<Id> = refs.values().copied().collect();
    let mut phones = Claims::new(&existing.phones, &ours, &existing.held_by_tills);
    let kind = Kind::Customers;
    for s in &docs {
        let d = &s.doc.doc;
        let id = refs[&s.key];
        let raw_phone = text(d, "phone");
        let mut deleted = false;
        let mut note = None;
        let phone = match raw_phone.as_deref().map(|p| (p, Phone::parse(p))) {
            Some((_, Ok(p))) => match phones.claim(p.as_str(), id, || format!("customer {}", s.key)) {
                Ok(()) => p.as_str().to_owned(),
                Err(holder) => {
                    deleted = true;
                    note = Some(format!("Legacy duplicate: phone {} belongs to {}", p.as_str(), holder.what));
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::DuplicatePhone,
                        format!(
                            "phone {} is {}'s; imported soft-deleted (its sales keep it; merge by hand if needed)",
                            p.as_str(),
                            holder.what
                        ),
                    );
                    p.as_str().to_owned()
                }
            },
            Some((raw, Err(e))) => {
                deleted = true;
                note = Some(format!("Legacy phone: {raw}"));
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("phone {raw:?}: {e}; imported soft-deleted, the legacy phone in its note"),
                );
                String::new()
            }
            None => {
                deleted = true;
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::MissingField,
                    "phone is missing (Tills requires one); imported soft-deleted".into(),
                );
                String::new()
            }
        };
        let name = c.name(s, kind, "name", || {
            if phone.is_empty() { format!("Customer {}", short(&s.key)) } else { format!("Customer {phone}") }
        });
        let updated = date(d.get("updatedAt")).unwrap_or(s.created);
        c.out.customers.push(ImportCustomer {
            id,
            name_key: name_key(&name),
            name,
            phone,
            email: text(d, "email"),
            note,
            legacy_id: Some(s.key.clone()),
            created_at: s.created,
            updated_at: updated,
            // The document's own time, so that every run writes the same row.
            deleted_at: deleted.then_some(updated),
        });
    }
    refs
}
