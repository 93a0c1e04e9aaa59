//! The seeded catalog's shape, asked of the deployment before a run: how many products each
//! seeded store has. A bench that assumed it would scan barcodes that do not exist (and count
//! their 404s as the deployment's speed) whenever `--products-per-store` differed from the seed.

use anyhow::{Context, bail};
use hyper::header::HeaderValue;

use crate::barcode;
use crate::wire::{Call, Client};

/// The seed numbers products 1…N in every store: N is the largest `p` whose barcode scans.
/// Found with about 2·log2(N) scans (doubling, then halving).
pub async fn products_per_store(client: &mut Client, store: usize, token: &HeaderValue) -> anyhow::Result<usize> {
    const MOST: usize = 10_000_000;
    let mut exists = async |p: usize| -> anyhow::Result<bool> {
        let call = Call {
            method: hyper::Method::GET,
            path: format!("/api/v1/products/barcode/{}", barcode(store, p)),
            token,
            json: None,
        };
        match client.send(call).await {
            Ok(200) => Ok(true),
            Ok(404) => Ok(false),
            Ok(status) => bail!("scanning {}'s product {p} answered {status}", crate::store_id(store)),
            Err(e) => Err(anyhow::anyhow!("scanning {}'s product {p}: {e}", crate::store_id(store))),
        }
    };
    if !exists(1).await? {
        bail!("{} has no seeded products: seed the stores first with `tills seed`", crate::store_id(store));
    }
    // found exists, past does not.
    let (mut found, mut past) = (1, 2);
    while exists(past).await? {
        found = past;
        past = past.checked_mul(2).filter(|p| *p <= MOST).context("more products than the bench's barcodes")?;
    }
    while past - found > 1 {
        let mid = found + (past - found) / 2;
        if exists(mid).await? {
            found = mid;
        } else {
            past = mid;
        }
    }
    Ok(found)
}

/// The products per store to bench with: what the first and the last store hold (they must
/// agree), and what `--products-per-store` said if it said anything.
pub fn agree(first: usize, last: usize, stores: usize, given: Option<usize>) -> anyhow::Result<usize> {
    if first != last {
        bail!(
            "{} has {first} products and {} has {last}: seed every store with the same --products-per-store",
            crate::store_id(1),
            crate::store_id(stores)
        );
    }
    match given {
        Some(n) if n != first => bail!(
            "the seeded stores have {first} products each, not {n}: run with --products-per-store {first} \
             (or leave it out), or seed again"
        ),
        _ => Ok(first),
    }
}

#[cfg(test)]
mod tests {
    use super::agree;

    #[test]
    fn the_given_count_must_match_the_seed() {
        assert_eq!(agree(2000, 2000, 10, None).unwrap(), 2000);
        assert_eq!(agree(2000, 2000, 10, Some(2000)).unwrap(), 2000);
        let e = agree(2000, 2000, 10, Some(5000)).unwrap_err().to_string();
        assert!(e.contains("2000 products each, not 5000"), "{e}");
        let e = agree(2000, 30, 10, None).unwrap_err().to_string();
        assert!(e.contains("bench-0010 has 30"), "{e}");
    }
}
