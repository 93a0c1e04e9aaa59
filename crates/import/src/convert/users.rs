//! Users (the database's `users` collection, given to stores by their `storeId`): emails unique per
//! store (a later duplicate soft-deleted), bcrypt hashes kept as they are (login rehashes them),
//! an unknown role imported as cashier, no usable password imported inactive.
use std::collections::HashSet;

use tills_domain::{Email, Id};
use tills_storage::{ExistingKeys, ImportUser};

use super::{Claims, Conv, LegacyDoc, Refs, boolean, date, short, text, uid, unique};
use crate::report::{Action, Kind, Reason};

pub(super) fn convert(c: &mut Conv<'_>, docs: &[LegacyDoc], existing: &ExistingKeys) -> Refs {
    let docs = unique(c, docs, Kind::Users, None);
    let refs: Refs = docs.iter().map(|s| (s.key.clone(), uid(c.store, "users", &s.key))).collect();
    let ours: HashSet<Id> = refs.values().copied().collect();
    let mut emails = Claims::new(&existing.emails, &ours, &existing.held_by_tills);
    let kind = Kind::Users;
    for s in &docs {
        let d = &s.doc.doc;
        let id = refs[&s.key];
        let mut deleted = false;
        let raw_email = text(d, "email");
        let email = match raw_email.as_deref().map(|e| (e, Email::parse(e))) {
            Some((_, Ok(e))) => match emails.claim(e.as_str(), id, || format!("user {}", s.key)) {
                Ok(()) => e.as_str().to_owned(),
                Err(holder) => {
                    deleted = true;
                    c.entry(
                        s,
                        kind,
                        Action::Altered,
                        Reason::DuplicateEmail,
                        format!("email {} is {}'s; imported soft-deleted (cannot log in)", e.as_str(), holder.what),
                    );
                    e.as_str().to_owned()
                }
            },
            Some((raw, Err(e))) => {
                deleted = true;
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::InvalidField,
                    format!("email {raw:?}: {e}; imported soft-deleted (cannot log in)"),
                );
                raw.trim().to_lowercase()
            }
            None => {
                deleted = true;
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::MissingField,
                    "email is missing; imported soft-deleted".into(),
                );
                String::new()
            }
        };
        let role = match text(d, "role").map(|r| r.to_ascii_lowercase()).as_deref() {
            Some(r @ ("admin" | "manager" | "cashier")) => r.to_owned(),
            other => {
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    if other.is_some() { Reason::InvalidField } else { Reason::MissingField },
                    format!("role {:?} is not admin, manager or cashier; imported as cashier", other.unwrap_or("")),
                );
                "cashier".to_owned()
            }
        };
        let mut active = boolean(d, "active").unwrap_or(true);
        let password_hash = match text(d, "password") {
            Some(h) if is_password_hash(&h) => h,
            other => {
                active = false;
                c.entry(
                    s,
                    kind,
                    Action::Altered,
                    Reason::NoPassword,
                    format!(
                        "password is {}; imported inactive without a usable password (an admin sets one)",
                        if other.is_some() { "not a bcrypt hash" } else { "missing" }
                    ),
                );
                "!".to_owned()
            }
        };
        let name = c.name(s, kind, "name", || {
            email
                .split('@')
                .next()
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("User {}", short(&s.key)))
        });
        let updated = date(d.get("updatedAt")).unwrap_or(s.created);
        c.out.users.push(ImportUser {
            id,
            email,
            name,
            role,
            password_hash,
            active: active && !deleted,
            legacy_id: Some(s.key.clone()),
            created_at: s.created,
            updated_at: updated,
            deleted_at: deleted.then_some(updated),
        });
    }
    refs
}

/// A hash login accepts: bcrypt as the legacy system wrote it (`$2a$`, `$2b$`, `$2y$`; login
/// replaces it with argon2id), or argon2.
fn is_password_hash(h: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$argon2"].iter().any(|p| h.starts_with(p))
}
