//! Writes a generated legacy dump (tills_import::generate) for benchmarks:
//!
//! ```sh
//! cargo run --release -p tills-import --features generate --example legacy_dump -- \
//!     --out /tmp/fleet --stores 1000 --products 2000 --customers 200 --sales 1000 --lines 3-5
//! # the same stores some days later, 1 % of the documents changed:
//! cargo run --release -p tills-import --features generate --example legacy_dump -- \
//!     --out /tmp/fleet-later --stores 1000 --products 2000 --customers 200 --sales 1000 --lines 3-5 \
//!     --later --changed-percent 1
//! ```
//!
//! Then `tills import-legacy --source OUT/dump --store-map OUT/stores.csv --create-stores`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use tills_import::generate::{self, Scale, Spec};

#[derive(Parser)]
struct Args {
    /// Where to write (`OUT/dump`, `OUT/stores.csv`); emptied first.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 20)]
    stores: usize,
    #[arg(long, default_value_t = 5)]
    databases: usize,
    #[arg(long, default_value_t = 2000)]
    products: usize,
    #[arg(long, default_value_t = 200)]
    customers: usize,
    #[arg(long, default_value_t = 1000)]
    sales: usize,
    /// Lines per sale, `from-to`.
    #[arg(long, default_value = "3-5")]
    lines: String,
    /// Version 1: the same stores some days later.
    #[arg(long)]
    later: bool,
    /// With --later: the share of the other products, customers and (as new ones) sales that
    /// change, in percent.
    #[arg(long, default_value_t = 1)]
    changed_percent: u32,
    /// Every collection in mongodump's BSON (default: the formats mixed by database).
    #[arg(long)]
    bson: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let (from, to) = a.lines.split_once('-').ok_or("--lines: from-to, like 3-5")?;
    let spec = Spec {
        stores: a.stores,
        databases: a.databases,
        scale: Scale { products: a.products, customers: a.customers, sales: a.sales },
        lines: (from.trim().parse()?, to.trim().parse()?),
        version: u32::from(a.later),
        changed_percent: a.changed_percent,
    };
    let _ = std::fs::remove_dir_all(&a.out);
    let started = Instant::now();
    let dump = if a.bson {
        generate::generate(&a.out, &spec, |_, _| generate::Fmt::Bson)?
    } else {
        generate::generate(&a.out, &spec, generate::mixed_format)?
    };
    eprintln!(
        "{} documents of {} stores in {} ({:.1} s)",
        dump.documents(),
        dump.stores.len(),
        a.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
