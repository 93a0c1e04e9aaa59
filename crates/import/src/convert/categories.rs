//! Categories: a store's own (`{prefix}_categories`) and the shared ones (`storeId: null`) it
//! uses, copied into it; parents before children, cycles cut; names unique ignoring case.
use std::collections::{HashMap, HashSet};

use tills_domain::{Id, name_key};
use tills_storage::{ExistingKeys, ImportNamed};

use super::{Claims, Conv, Refs, Sorted, date, reference, short, sorted, uid, unique};
use crate::convert::LegacyDoc;
use crate::report::{Action, Kind, Reason};

pub(super) fn convert(
    c: &mut Conv<'_>,
    own: &[LegacyDoc],
    shared: &[LegacyDoc],
    products: &[Sorted<'_>],
    existing: &ExistingKeys,
) -> Refs {
    let own = unique(c, own, Kind::Categories, None);
    // Shared categories come once each (the caller reports duplicates for the database).
    let shared = sorted(shared);
    let own_keys: HashSet<&str> = own.iter().map(|s| s.key.as_str()).collect();
    let shared_by_key: HashMap<&str, &Sorted<'_>> = shared.iter().map(|s| (s.key.as_str(), s)).collect();
    let parent_of = |s: &Sorted<'_>| reference(&s.doc.doc, "parentId");

    // Shared categories the store uses: those its products or categories name, and their parents.
    let mut used: HashSet<&str> = HashSet::new();
    let mut stack: Vec<String> = products
        .iter()
        .filter_map(|p| reference(&p.doc.doc, "categoryId"))
        .chain(own.iter().filter_map(parent_of))
        .collect();
    while let Some(k) = stack.pop() {
        if own_keys.contains(k.as_str()) {
            continue;
        }
        if let Some((key, s)) = shared_by_key.get_key_value(k.as_str())
            && used.insert(*key)
            && let Some(p) = parent_of(s)
        {
            stack.push(p);
        }
    }
    let mut all: Vec<(&Sorted<'_>, bool)> = own.iter().map(|s| (s, false)).collect();
    for s in &shared {
        if used.contains(s.key.as_str()) && !own_keys.contains(s.key.as_str()) {
            all.push((s, true));
            c.out.used_shared.push((s.doc.database.clone(), s.key.clone()));
        }
    }
    all.sort_by(|a, b| a.0.created.cmp(&b.0.created).then_with(|| a.0.key.cmp(&b.0.key)));

    let refs: Refs = all.iter().map(|(s, _)| (s.key.clone(), uid(c.store, "categories", &s.key))).collect();
    let ours: HashSet<Id> = refs.values().copied().collect();
    let mut claims = Claims::new(&existing.category_names, &ours, &existing.held_by_tills);
    let mut rows: Vec<(ImportNamed, Option<String>)> = Vec::new();
    for (s, is_shared) in &all {
        let id = refs[&s.key];
        if *is_shared {
            c.entry(
                s,
                Kind::Categories,
                Action::Copied,
                Reason::SharedCategory,
                "a shared category (storeId null) this store uses: copied into the store".into(),
            );
        }
        let name = c.name(s, Kind::Categories, "name", || format!("Category {}", short(&s.key)));
        let name = c.unique_name(s, Kind::Categories, &mut claims, name, id);
        let parent_key = parent_of(s);
        let parent = match &parent_key {
            Some(k) if refs.contains_key(k) => Some(k.clone()),
            Some(k) => {
                c.entry(
                    s,
                    Kind::Categories,
                    Action::Altered,
                    Reason::OrphanReference,
                    format!("parentId {k} names no category of this store; imported without a parent"),
                );
                None
            }
            None => None,
        };
        let created = s.created;
        rows.push((
            ImportNamed {
                id,
                name: name.clone(),
                name_key: name_key(&name),
                parent_id: None,
                legacy_id: Some(s.key.clone()),
                created_at: created,
                updated_at: date(s.doc.doc.get("updatedAt")).unwrap_or(created),
            },
            parent,
        ));
    }

    // Parents before children; a cycle is broken at its latest member.
    let index: HashMap<String, usize> =
        rows.iter().enumerate().map(|(i, r)| (r.0.legacy_id.clone().unwrap_or_default(), i)).collect();
    let mut state = vec![0u8; rows.len()]; // 0 new, 1 on the path, 2 placed
    let mut order = Vec::with_capacity(rows.len());
    for start in 0..rows.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match state[i] {
                2 => break,
                1 => {
                    // A cycle: `path` from i onwards. Cut the latest member's parent.
                    let pos = path.iter().position(|&p| p == i).unwrap_or(0);
                    let cut = *path[pos..].iter().max().unwrap_or(&i);
                    let key = rows[cut].0.legacy_id.clone().unwrap_or_default();
                    let s = all.iter().find(|(s, _)| s.key == key).map(|(s, _)| *s);
                    if let Some(s) = s {
                        c.entry(
                            s,
                            Kind::Categories,
                            Action::Altered,
                            Reason::ParentCycle,
                            "its parents lead back to itself; imported without a parent".into(),
                        );
                    }
                    rows[cut].1 = None;
                    break;
                }
                _ => {
                    state[i] = 1;
                    path.push(i);
                    at = rows[i].1.as_ref().and_then(|p| index.get(p).copied());
                }
            }
        }
        // Place the path's members, deepest ancestor first (cuts may have shortened it).
        for &i in path.iter().rev() {
            place(i, &rows, &index, &mut state, &mut order);
        }
    }
    for i in order {
        let (mut row, parent) = rows[i].clone();
        row.parent_id = parent.and_then(|p| refs.get(&p).copied());
        c.out.categories.push(row);
    }
    refs
}

fn place(
    i: usize,
    rows: &[(ImportNamed, Option<String>)],
    index: &HashMap<String, usize>,
    state: &mut [u8],
    order: &mut Vec<usize>,
) {
    if state[i] == 2 {
        return;
    }
    if let Some(p) = rows[i].1.as_ref().and_then(|p| index.get(p).copied())
        && p != i
        && state[p] != 2
    {
        state[i] = 1;
        place(p, rows, index, state, order);
    }
    state[i] = 2;
    order.push(i);
}
