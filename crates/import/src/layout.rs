//! The dump's layout: which legacy collection is which store's, and the operator's store map.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use tills_domain::{Currency, StoreId};

use crate::read::SourceFile;
use crate::report::Kind;

/// A line of `--store-map`.
#[derive(Debug, Clone, Default)]
pub(crate) struct MapLine {
    pub(crate) store: Option<StoreId>,
    pub(crate) name: Option<String>,
    pub(crate) currency: Option<String>,
    pub(crate) timezone: Option<String>,
    pub(crate) invoice_prefix: Option<String>,
}

fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur).trim().to_owned()),
            _ => cur.push(ch),
        }
    }
    out.push(cur.trim().to_owned());
    out
}

pub(crate) fn read_store_map(path: &Path) -> anyhow::Result<HashMap<String, MapLine>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut map = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f = csv_fields(line);
        if n == 0 && f[0].eq_ignore_ascii_case("prefix") {
            continue;
        }
        let get = |i: usize| f.get(i).filter(|s| !s.is_empty()).cloned();
        let prefix = get(0).with_context(|| format!("{}:{}: no prefix", path.display(), n + 1))?;
        let store = match get(1) {
            Some(s) => Some(
                StoreId::parse(&s).map_err(|e| anyhow::anyhow!("{}:{}: storeId {s:?}: {e}", path.display(), n + 1))?,
            ),
            None => None,
        };
        if let Some(c) = get(3) {
            Currency::parse(&c).map_err(|e| anyhow::anyhow!("{}:{}: currency {c:?}: {e}", path.display(), n + 1))?;
        }
        map.insert(
            prefix.to_lowercase(),
            MapLine { store, name: get(2), currency: get(3), timezone: get(4), invoice_prefix: get(5) },
        );
    }
    Ok(map)
}

/// The legacy collection kinds, by the suffix of `{prefix}_{suffix}`.
pub(crate) fn split_collection(name: &str) -> Option<(&str, Kind)> {
    let (prefix, suffix) = name.rsplit_once('_')?;
    let kind = match suffix.to_ascii_lowercase().as_str() {
        "products" => Kind::Products,
        "customers" => Kind::Customers,
        "categories" => Kind::Categories,
        "brands" => Kind::Brands,
        "units" => Kind::Units,
        "sales" => Kind::Sales,
        "payments" => Kind::Payments,
        _ => return None,
    };
    (!prefix.is_empty()).then_some((prefix, kind))
}

/// One legacy store folded into a Tills store.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) db: usize,
    pub(crate) prefix: String,
    pub(crate) files: BTreeMap<Kind, (String, SourceFile)>,
}

#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) parts: Vec<Part>,
    /// Source documents, for the progress bar.
    pub(crate) documents: u64,
}
