//! `tills import-legacy`: the legacy per-store MongoDB data into Tills' unified schema.
//!
//! The run, per store (docs/migration.md is the operator's guide):
//!
//! 1. [`read`] finds the databases and collections of the dump (mongodump BSON, gzipped or not,
//!    or mongoexport Extended JSON) and maps each `{prefix}_{collection}` to a store: the prefix
//!    lower-cased, or what `--store-map` says. Stores missing in Tills are created with
//!    `--create-stores`, or reported and left out.
//! 2. [`convert`] turns the store's documents into rows (deterministic ids, money in minor units,
//!    conflicts resolved by its documented rules), and lists every change in the report.
//! 3. The rows are written in batches (about 1000 documents, one transaction each) through
//!    [`tills_storage::ImportRepo`], whose `ON CONFLICT DO NOTHING` makes a second run, or a run
//!    after a `kill -9`, end in the same state as one uninterrupted run.
//! 4. The store's invoice counter is raised past its highest legacy number; at the end, each
//!    store's cached products are invalidated.
//!
//! `--verify` compares the source with the database per store and collection; `--dry-run`
//! converts and reports without writing.

pub mod convert;
pub mod decimal;
mod delta;
#[cfg(feature = "generate")]
pub mod generate;
mod layout;
mod progress;
pub mod read;
pub mod report;
mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bson::Bson;
use tills_domain::{Currency, StoreId};
use tills_storage::{ExistingKeys, ImportState, ImportWritten, NewStore, Store};

use self::convert::{Converted, LegacyDoc, StoreInput};
use self::delta::{Delta, Origins};
use self::layout::{MapLine, Part, Plan, read_store_map, split_collection};
use self::progress::Progress;
use self::read::SourceFile;
use self::report::{Action, Entry, Kind, KindStats, Reason, Report, StoreSummary, Timings, VerifyRow};
use self::write::{Brake, WriteError, Written, write_store};

/// `tills import-legacy`'s flags.
#[derive(clap::Args, Debug, Clone)]
pub struct ImportLegacyArgs {
    /// The dump: `DIR/<db>/<collection>.bson|.bson.gz|.json` (mongodump or mongoexport output).
    #[arg(long)]
    pub source: PathBuf,
    /// A CSV of `prefix,storeId,name,currency,timezone,invoicePrefix` (all but the first two
    /// optional). Without it a prefix names the store it lower-cases to.
    #[arg(long)]
    pub store_map: Option<PathBuf>,
    /// Create the stores that do not exist in Tills (otherwise they are reported and skipped).
    #[arg(long)]
    pub create_stores: bool,
    /// The currency of created stores (ISO 4217), unless the store map says otherwise.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Convert and report, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Compare source and target per store and collection; exit non-zero on a difference the
    /// report does not explain.
    #[arg(long)]
    pub verify: bool,
    /// Where to write the JSON report (default: import-report-<time>.json here).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Documents per transaction.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Batches written at once (3 measured fastest against PostgreSQL on the 2-core
    /// development machine; SQLite writes one at a time whatever this says).
    #[arg(long, default_value_t = 3)]
    pub jobs: usize,
    /// Only this store (its Tills id or its legacy prefix, any case); repeat for more. Other
    /// stores' data, cached products and invoice counters are not touched.
    #[arg(long = "store", value_name = "STORE")]
    pub stores: Vec<String>,
    /// Testing: stop (as if killed) after this many batches.
    #[arg(long, hide = true)]
    pub stop_after_batches: Option<u64>,
    /// Testing: wait this long after each batch, so that a test can kill the run midway.
    #[arg(long, hide = true)]
    pub pause_after_batch_ms: Option<u64>,
}

impl ImportLegacyArgs {
    /// The flags with their defaults, for a source folder.
    pub fn new(source: impl Into<PathBuf>) -> Self {
        ImportLegacyArgs {
            source: source.into(),
            store_map: None,
            create_stores: false,
            currency: "USD".into(),
            dry_run: false,
            verify: false,
            report: None,
            batch_size: 1000,
            jobs: 3,
            stores: Vec::new(),
            stop_after_batches: None,
            pause_after_batch_ms: None,
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    /// `--verify`'s verdict: false when a difference is not explained by the report.
    pub verified: Option<bool>,
    /// Where the report was written.
    pub report_path: Option<PathBuf>,
}

/// What the source holds per store and kind, read straight from the documents (for --verify).
#[derive(Debug, Clone, Copy, Default)]
struct SourceStats {
    count: i64,
    money: i64,
}

/// Runs `f`, adding the seconds it took to `total`.
fn timed<T>(total: &mut f64, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    *total += started.elapsed().as_secs_f64();
    out
}

/// The deployment's product cache, as the importer needs it: it runs as a process of its own,
/// so the caller (the server's `tills import-legacy`) hands it the server's cache.
#[async_trait::async_trait]
pub trait ProductCacheHook: Send + Sync {
    /// Drops every cached product of the store, on every instance.
    async fn invalidate_store(&self, store: &StoreId);
}

/// Runs an import. `show_progress`: draw the bar (or lines) on stderr. `cache`: the product
/// cache to invalidate for the stores whose catalog the run wrote.
pub async fn run(
    db: Arc<dyn Store>,
    args: &ImportLegacyArgs,
    show_progress: bool,
    cache: Option<&dyn ProductCacheHook>,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let currency = Currency::parse(&args.currency).map_err(|e| anyhow::anyhow!("--currency: {e}"))?;
    let store_map = match &args.store_map {
        Some(p) => read_store_map(p)?,
        None => HashMap::new(),
    };
    let databases = read::scan(&args.source)?;
    if databases.is_empty() {
        bail!("--source {}: no database folders with .bson, .bson.gz or .json exports", args.source.display());
    }
    let mut entries: Vec<Entry> = Vec::new();

    // Which legacy store goes where.
    let mut plans: BTreeMap<StoreId, Plan> = BTreeMap::new();
    let mut total_documents = 0u64;
    // Documents per file. A run of some stores (--store) counts only their files: a cutover of
    // one store does not read through the whole fleet's dump.
    let filtered = !args.stores.is_empty();
    let mut counts: HashMap<PathBuf, u64> = HashMap::new();
    let mut db_users: Vec<Option<SourceFile>> = Vec::new();
    let mut db_categories: Vec<Option<SourceFile>> = Vec::new();
    let mut db_prefixes: Vec<HashMap<String, StoreId>> = Vec::new();
    for (di, database) in databases.iter().enumerate() {
        for (path, why) in &database.ignored {
            entries.push(Entry {
                store: None,
                database: database.name.clone(),
                collection: path.display().to_string(),
                kind: None,
                legacy_id: None,
                action: Action::Skipped,
                reason: Reason::UnknownCollection,
                detail: format!("file not read: {why}"),
                count: None,
                amount_delta: None,
            });
        }
        let mut parts: BTreeMap<String, Part> = BTreeMap::new();
        let mut users = None;
        let mut categories = None;
        for (name, file) in &database.collections {
            let docs = if filtered { 0 } else { read::count(file)? };
            counts.insert(file.path.clone(), docs);
            total_documents += docs;
            if name == "users" {
                users = Some(file.clone());
                continue;
            }
            if name == "categories" {
                categories = Some(file.clone());
                continue;
            }
            match split_collection(name) {
                Some((prefix, kind)) => {
                    parts
                        .entry(prefix.to_owned())
                        .or_insert_with(|| Part { db: di, prefix: prefix.to_owned(), files: BTreeMap::new() })
                        .files
                        .insert(kind, (name.clone(), file.clone()));
                }
                None => entries.push(Entry {
                    store: None,
                    database: database.name.clone(),
                    collection: name.clone(),
                    kind: None,
                    legacy_id: None,
                    action: Action::Skipped,
                    reason: Reason::UnknownCollection,
                    detail: "not a {prefix}_{products|customers|categories|brands|units|sales|payments} \
                             collection, nor users: not imported"
                        .into(),
                    count: Some(docs),
                    amount_delta: None,
                }),
            }
        }
        let mut prefixes = HashMap::new();
        for (prefix, part) in parts {
            let mapped = store_map.get(&prefix.to_lowercase()).and_then(|m| m.store.clone());
            let store = match mapped.map(Ok).unwrap_or_else(|| StoreId::parse(&prefix.to_lowercase())) {
                Ok(s) => s,
                Err(e) => {
                    for (kind, (collection, file)) in &part.files {
                        entries.push(Entry {
                            store: None,
                            database: database.name.clone(),
                            collection: collection.clone(),
                            kind: Some(*kind),
                            legacy_id: None,
                            action: Action::Skipped,
                            reason: Reason::UnknownStore,
                            detail: format!(
                                "prefix {prefix:?} is not a store id ({e}); map it with --store-map: not imported"
                            ),
                            count: Some(counts.get(&file.path).copied().unwrap_or(0)),
                            amount_delta: None,
                        });
                    }
                    continue;
                }
            };
            prefixes.insert(prefix.to_lowercase(), store.clone());
            let docs: u64 = part.files.values().map(|(_, f)| counts.get(&f.path).copied().unwrap_or(0)).sum();
            let plan = plans.entry(store).or_default();
            plan.documents += docs;
            plan.parts.push(part);
        }
        db_users.push(users);
        db_categories.push(categories);
        db_prefixes.push(prefixes);
    }

    let mut timings = Timings::default();
    let brake = Arc::new(Brake {
        stop_after: args.stop_after_batches,
        pause: args.pause_after_batch_ms.map(Duration::from_millis),
        batches: AtomicU64::new(0),
    });

    // Per database: categories (own per store, and shared) and users, assigned to stores.
    let mut own_categories: HashMap<StoreId, Vec<LegacyDoc>> = HashMap::new();
    let mut shared_categories: Vec<Vec<LegacyDoc>> = Vec::new();
    let mut store_users: HashMap<StoreId, Vec<LegacyDoc>> = HashMap::new();
    let mut unreadable: HashMap<(StoreId, Kind), Vec<Entry>> = HashMap::new();
    for (di, database) in databases.iter().enumerate() {
        let dbname: Arc<str> = database.name.clone().into();
        let prefixes = &db_prefixes[di];
        let single_store = {
            let stores: HashSet<&StoreId> = prefixes.values().collect();
            (stores.len() == 1).then(|| stores.into_iter().next().cloned()).flatten()
        };
        let mut shared = Vec::new();
        // Categories: each prefix's collection, and a `categories` collection without prefix.
        let mut files: Vec<(Option<StoreId>, String, SourceFile)> = Vec::new();
        for plan in plans.iter() {
            for part in plan.1.parts.iter().filter(|p| p.db == di) {
                if let Some((name, file)) = part.files.get(&Kind::Categories) {
                    files.push((Some(plan.0.clone()), name.clone(), file.clone()));
                }
            }
        }
        if let Some(f) = &db_categories[di] {
            files.push((None, "categories".into(), f.clone()));
        }
        for (owner, name, file) in files {
            let collection: Arc<str> = name.clone().into();
            let (docs, bad) = timed(&mut timings.read, || read::read_all(&file))?;
            for doc in docs {
                let store_field = doc.get("storeId").cloned();
                let doc = LegacyDoc { database: dbname.clone(), collection: collection.clone(), doc };
                match (&owner, store_field.as_ref()) {
                    (_, Some(Bson::Null)) | (None, None) => shared.push(doc),
                    (Some(store), _) => own_categories.entry(store.clone()).or_default().push(doc),
                    (None, Some(v)) => {
                        let named = convert_store_field(v).and_then(|p| prefixes.get(&p).cloned());
                        match named {
                            Some(store) => own_categories.entry(store).or_default().push(doc),
                            None => entries.push(skip_doc(
                                &doc,
                                None,
                                Kind::Categories,
                                Reason::UnknownStore,
                                format!(
                                    "storeId {} names no store of database {}; not imported",
                                    decimal::describe(v),
                                    database.name
                                ),
                            )),
                        }
                    }
                }
            }
            for u in bad {
                let e = unreadable_entry(&database.name, &name, owner.as_ref(), Kind::Categories, u);
                match &owner {
                    Some(s) => unreadable.entry((s.clone(), Kind::Categories)).or_default().push(e),
                    None => entries.push(e),
                }
            }
        }
        // A shared category exported twice is copied once.
        let mut seen = HashSet::new();
        let mut once = Vec::with_capacity(shared.len());
        for doc in shared {
            if seen.insert(doc.key()) {
                once.push(doc);
            } else {
                entries.push(skip_doc(
                    &doc,
                    None,
                    Kind::Categories,
                    Reason::DuplicateDocument,
                    "a second shared category with this _id in the database; not imported".into(),
                ));
            }
        }
        shared_categories.push(once);

        if let Some(file) = &db_users[di] {
            let collection: Arc<str> = "users".into();
            let (docs, bad) = timed(&mut timings.read, || read::read_all(file))?;
            for doc in docs {
                let doc = LegacyDoc { database: dbname.clone(), collection: collection.clone(), doc };
                let named = doc.doc.get("storeId").and_then(convert_store_field);
                let store = match &named {
                    Some(p) => prefixes.get(p).cloned(),
                    None => single_store.clone(),
                };
                match store {
                    Some(s) => store_users.entry(s).or_default().push(doc),
                    None => {
                        let detail = match named {
                            Some(p) => {
                                format!("storeId {p:?} names no store of database {}; not imported", database.name)
                            }
                            None => {
                                format!("no storeId, and database {} holds several stores; not imported", database.name)
                            }
                        };
                        entries.push(skip_doc(&doc, None, Kind::Users, Reason::UnknownStore, detail));
                    }
                }
            }
            for u in bad {
                entries.push(unreadable_entry(&database.name, "users", None, Kind::Users, u));
            }
        }
    }

    // --store: only these stores, by Tills id or legacy prefix (any case). The whole dump was
    // read for shared categories and users, so that a store converts as in a run of all.
    let selected: Option<BTreeSet<StoreId>> = match args.stores.is_empty() {
        true => None,
        false => {
            let mut set = BTreeSet::new();
            for want in &args.stores {
                let w = want.trim().to_lowercase();
                let hits: Vec<StoreId> = plans
                    .iter()
                    .filter(|(id, plan)| id.as_str() == w || plan.parts.iter().any(|p| p.prefix.to_lowercase() == w))
                    .map(|(id, _)| id.clone())
                    .collect();
                if hits.is_empty() {
                    let known: Vec<&str> = plans.keys().take(12).map(StoreId::as_str).collect();
                    bail!(
                        "--store {want:?}: no store of the dump has this id or legacy prefix (its stores: {}{})",
                        known.join(", "),
                        if plans.len() > known.len() { ", …" } else { "" }
                    );
                }
                set.extend(hits);
            }
            plans.retain(|id, _| set.contains(id));
            for plan in plans.values_mut() {
                plan.documents = 0;
                for (_, file) in plan.parts.iter().flat_map(|p| p.files.values()) {
                    let docs = read::count(file)?;
                    counts.insert(file.path.clone(), docs);
                    plan.documents += docs;
                }
            }
            entries.retain(|e| e.store.as_deref().is_some_and(|s| set.iter().any(|id| id.as_str() == s)));
            total_documents = plans.values().map(|p| p.documents).sum::<u64>()
                + set.iter().map(|s| store_users.get(s).map_or(0, |u| u.len() as u64)).sum::<u64>();
            Some(set)
        }
    };
    let progress = Arc::new(Progress::new(total_documents, show_progress));

    // Store by store.
    let mut summaries = Vec::new();
    let mut sources: HashMap<(StoreId, Kind), SourceStats> = HashMap::new();
    let mut used_shared: HashSet<(Arc<str>, String)> = HashSet::new();
    let count_of = |f: &SourceFile| counts.get(&f.path).copied().unwrap_or(0);
    let mut done = 0u64;
    let mut inserted_total = ImportWritten::default();
    let mut stopped = false;
    let mut inflight: Option<Inflight> = None;
    // Stores are read, converted and classified ahead of the one being written (each on a
    // blocking thread), so that both cores work while the database writes.
    let mut queue: VecDeque<Job> = VecDeque::new();
    let mut upcoming = plans.iter();
    loop {
        while queue.len() < LOOKAHEAD
            && let Some((store, plan)) = upcoming.next()
        {
            let mapped =
                plan.parts.iter().find_map(|p| store_map.get(&p.prefix.to_lowercase())).cloned().unwrap_or_default();
            let part_names: Vec<String> =
                plan.parts.iter().map(|p| format!("{}/{}", databases[p.db].name, p.prefix)).collect();
            let users = store_users.remove(store).unwrap_or_default();
            let store_documents = plan.documents + users.len() as u64;

            // The store in Tills.
            let existing_store = db.get_store(store).await?;
            let mut missing = Vec::new();
            let (decimals, currency_code, create) = match &existing_store {
                Some(s) => (u32::from(s.currency_decimals), s.currency.clone(), None),
                None if args.create_stores => {
                    let c = match &mapped.currency {
                        Some(code) => Currency::parse(code).map_err(|e| anyhow::anyhow!("currency {code}: {e}"))?,
                        None => currency,
                    };
                    (u32::from(c.decimals()), c.code().to_owned(), Some(c))
                }
                None => {
                    for part in &plan.parts {
                        for (kind, (name, file)) in &part.files {
                            missing.push(Entry {
                                store: Some(store.to_string()),
                                database: databases[part.db].name.clone(),
                                collection: name.clone(),
                                kind: Some(*kind),
                                legacy_id: None,
                                action: Action::Skipped,
                                reason: Reason::StoreMissing,
                                detail: format!(
                                    "store {store} does not exist in Tills: create it, or run with --create-stores; \
                                 not imported"
                                ),
                                count: Some(count_of(file)),
                                amount_delta: None,
                            });
                        }
                    }
                    let n = users.len();
                    if n > 0 {
                        missing.push(Entry {
                            store: Some(store.to_string()),
                            database: part_names.join(", "),
                            collection: "users".into(),
                            kind: Some(Kind::Users),
                            legacy_id: None,
                            action: Action::Skipped,
                            reason: Reason::StoreMissing,
                            detail: format!("store {store} does not exist in Tills; its users are not imported"),
                            count: Some(n as u64),
                            amount_delta: None,
                        });
                    }
                    for kind in Kind::ALL {
                        missing.extend(unreadable.remove(&(store.clone(), kind)).unwrap_or_default());
                    }
                    queue.push_back(Job { store: store.clone(), store_documents, work: Work::Missing(missing) });
                    continue;
                }
            };
            // Read and convert the store's documents (off the async threads: meanwhile the previous
            // store's batches are being written), and classify them against what earlier runs wrote.
            let mut input = StoreInput::default();
            input.docs.insert(Kind::Categories, own_categories.remove(store).unwrap_or_default());
            input.docs.insert(Kind::Users, users);
            for part in &plan.parts {
                input.shared_categories.extend(shared_categories[part.db].iter().cloned());
            }
            let files: Vec<(Arc<str>, Kind, String, SourceFile)> = plan
                .parts
                .iter()
                .flat_map(|part| {
                    let dbname: Arc<str> = databases[part.db].name.clone().into();
                    part.files
                        .iter()
                        .filter(|(kind, _)| **kind != Kind::Categories)
                        .map(move |(kind, (name, file))| (dbname.clone(), *kind, name.clone(), file.clone()))
                })
                .collect();
            let task = {
                let (db, store, known) = (db.clone(), store.clone(), existing_store.is_some());
                tokio::spawn(async move {
                    let (mut existing, state) = match known {
                        true => (db.import_existing_keys(&store).await?, db.import_state(&store).await?),
                        false => (ExistingKeys::default(), ImportState::default()),
                    };
                    existing.held_by_tills = state.changed_in_tills.keys().copied().collect();
                    let id = store.clone();
                    tokio::task::spawn_blocking(move || prepare(id, decimals, input, files, existing, state))
                        .await
                        .map_err(|e| anyhow::anyhow!("reading store {store}: {e}"))?
                })
            };
            let stored = StoreJob { mapped, part_names, existing_store, currency_code, create, task };
            queue.push_back(Job { store: store.clone(), store_documents, work: Work::Import(Box::new(stored)) });
        }
        let Some(Job { store, store_documents, work }) = queue.pop_front() else { break };
        let store = &store;
        progress.message(store.to_string());
        let StoreJob { mapped, part_names, existing_store, currency_code, create, task } = match work {
            Work::Missing(missing) => {
                entries.extend(missing);
                done += store_documents;
                progress.set(done);
                continue;
            }
            Work::Import(job) => *job,
        };
        let prepared = task.await.map_err(|e| anyhow::anyhow!("reading store {store}: {e}"))??;
        let Prepared { converted, delta, sources: store_sources, unreadable: bad, read_seconds, convert_seconds } =
            prepared;
        timings.read += read_seconds;
        timings.convert += convert_seconds;
        let mut store_entries: Vec<Entry> = Vec::new();
        for kind in Kind::ALL {
            store_entries.extend(unreadable.remove(&(store.clone(), kind)).unwrap_or_default());
        }
        store_entries.extend(bad);
        for (kind, mut stats) in store_sources {
            stats.count += store_entries.iter().filter(|e| e.kind == Some(kind)).count() as i64;
            sources.insert((store.clone(), kind), stats);
        }
        used_shared.extend(converted.used_shared.iter().cloned());

        let mut summary = StoreSummary {
            store_id: store.to_string(),
            sources: part_names,
            currency: currency_code.clone(),
            created: false,
            invoice_counter: None,
            invoice_prefix: None,
            collections: BTreeMap::new(),
            inserted: ImportWritten::default(),
            cache_invalidated: false,
            active_admins: None,
        };
        store_entries.extend(converted.entries.iter().cloned());
        for kind in Kind::ALL {
            let source = sources.get(&(store.clone(), kind)).map_or(0, |s| s.count) as u64;
            let of_kind = |a: Action| -> u64 {
                store_entries.iter().filter(|e| e.kind == Some(kind) && e.action == a).map(Entry::documents).sum()
            };
            let skipped = of_kind(Action::Skipped);
            let counts = delta.counts.get(&kind).copied().unwrap_or_default();
            summary.collections.insert(
                kind,
                KindStats {
                    source,
                    imported: source.saturating_sub(skipped),
                    skipped,
                    altered: converted.altered.get(&kind).copied().unwrap_or(0),
                    copied: of_kind(Action::Copied),
                    created: of_kind(Action::Created),
                    unchanged: counts.unchanged,
                    updated: counts.updated,
                    kept: counts.kept,
                },
            );
        }
        let invoice_prefix =
            mapped.invoice_prefix.clone().or_else(|| converted.invoice_prefix.clone()).unwrap_or_else(|| "INV-".into());
        summary.invoice_prefix = Some(match &existing_store {
            Some(s) => s.invoice_prefix.clone(),
            None => invoice_prefix.clone(),
        });

        if args.dry_run {
            summary.invoice_counter = converted.max_invoice_seq;
            entries.extend(store_entries);
            entries.extend(delta.entries);
            summaries.push(summary);
            done += store_documents;
            progress.set(done);
            continue;
        }
        // The previous store's batches first: one store is written at a time.
        if let Some(previous) = inflight.take() {
            let end = previous.end;
            let (summary, halted) =
                finish(previous, &db, &mut timings, &mut inserted_total, &mut entries, cache).await?;
            stopped = halted;
            summaries.push(summary);
            done = end;
            progress.set(done);
            if stopped {
                break;
            }
        }
        if let Some(c) = create {
            let new = NewStore {
                id: store.clone(),
                name: mapped.name.clone().unwrap_or_else(|| store.to_string()),
                currency: c.code().to_owned(),
                currency_decimals: c.decimals(),
                timezone: mapped.timezone.clone().unwrap_or_else(|| "UTC".into()),
                prices_include_tax: false,
                invoice_prefix,
            };
            summary.created = db.import_store(&new).await?;
        }
        entries.extend(store_entries);
        let end = done + store_documents;
        // Documents settled without a write (unchanged, kept) are done already.
        progress.inc(delta.settled, end);
        let max_seq = converted.max_invoice_seq;
        let Delta { replace, entries: delta_entries, .. } = delta;
        let task = {
            let (db, store, progress, brake) = (db.clone(), store.clone(), progress.clone(), brake.clone());
            let (size, jobs) = (args.batch_size, args.jobs);
            tokio::spawn(async move {
                let started = Instant::now();
                let result = write_store(&db, &store, converted, replace, (size, jobs), (&progress, end), &brake).await;
                (result, started.elapsed().as_secs_f64())
            })
        };
        inflight = Some(Inflight { store: store.clone(), summary, delta_entries, max_seq, end, task });
    }
    if let Some(last) = inflight.take() {
        let end = last.end;
        let (summary, halted) = finish(last, &db, &mut timings, &mut inserted_total, &mut entries, cache).await?;
        stopped = halted;
        summaries.push(summary);
        done = end;
        progress.set(done);
    }
    if !stopped {
        progress.set(total_documents);
    }
    progress.finish();

    // Shared categories no store uses (a run of some stores cannot tell).
    for (di, shared) in shared_categories.iter().enumerate().filter(|_| selected.is_none()) {
        let dbname = databases[di].name.as_str();
        for doc in shared {
            let key = doc.key();
            if !used_shared.contains(&(Arc::from(dbname), key.clone())) {
                entries.push(skip_doc(
                    doc,
                    None,
                    Kind::Categories,
                    Reason::UnusedSharedCategory,
                    "a shared category (storeId null) that no product or category of any store uses: not imported"
                        .into(),
                ));
            }
        }
    }

    // Stores that have no admin to manage them (their legacy users are all cashiers).
    if !args.dry_run {
        for s in summaries.iter_mut() {
            let store = StoreId::parse(&s.store_id).map_err(|e| anyhow::anyhow!("{e}"))?;
            s.active_admins = Some(db.active_admins(&store).await?);
        }
    }
    let stores_without_admin =
        summaries.iter().filter(|s| s.active_admins == Some(0)).map(|s| s.store_id.clone()).collect();

    let verifying = Instant::now();
    let verify = if args.verify {
        // What the report explains, per store and kind: (documents, money).
        let mut explained: HashMap<(&str, Kind), (i64, i64)> = HashMap::new();
        for e in &entries {
            let (Some(store), Some(kind)) = (e.store.as_deref(), e.kind) else { continue };
            let x = explained.entry((store, kind)).or_default();
            x.0 += match (e.action, e.reason) {
                (Action::Skipped, _) => -(e.documents() as i64),
                (Action::Copied, _) => e.documents() as i64,
                // Imported before and still in Tills, though not in this dump (any more).
                (Action::Kept, Reason::GoneFromSource) => e.documents() as i64,
                // In this dump, gone from Tills.
                (Action::Kept, Reason::DeletedInTills) => -(e.documents() as i64),
                _ => 0,
            };
            x.1 += e.amount_delta.unwrap_or(0);
        }
        let mut rows = Vec::new();
        for s in &summaries {
            let store = StoreId::parse(&s.store_id).map_err(|e| anyhow::anyhow!("{e}"))?;
            let target = db.imported_totals(&store).await?;
            let explained = |kind: Kind, money: bool| -> i64 {
                let x = explained.get(&(s.store_id.as_str(), kind)).copied().unwrap_or_default();
                if money { x.1 } else { x.0 }
            };
            let source = |kind: Kind| sources.get(&(store.clone(), kind)).copied().unwrap_or_default();
            let mut row = |what: &str, kind: Kind, money: bool, target: i64| {
                let src = if money { source(kind).money } else { source(kind).count };
                let exp = explained(kind, money);
                rows.push(VerifyRow {
                    store: s.store_id.clone(),
                    what: what.to_owned(),
                    source: src,
                    explained: exp,
                    expected: src + exp,
                    target,
                    ok: src + exp == target,
                });
            };
            row("categories", Kind::Categories, false, target.categories);
            row("brands", Kind::Brands, false, target.brands);
            row("units", Kind::Units, false, target.units);
            row("products", Kind::Products, false, target.products);
            row("customers", Kind::Customers, false, target.customers);
            row("users", Kind::Users, false, target.users);
            row("sales", Kind::Sales, false, target.sales);
            row("sales total", Kind::Sales, true, target.sales_total);
            row("payments", Kind::Payments, false, target.payments);
            row("payments amount", Kind::Payments, true, target.payments_amount);
        }
        Some(rows)
    } else {
        None
    };
    let verified = verify.as_ref().map(|rows| rows.iter().all(|r| r.ok));
    timings.verify = verifying.elapsed().as_secs_f64();

    let seconds = started.elapsed().as_secs_f64();
    let skipped = entries.iter().filter(|e| e.action == Action::Skipped).map(Entry::documents).sum();
    let stats =
        |f: fn(&KindStats) -> u64| -> u64 { summaries.iter().flat_map(|s| s.collections.values()).map(f).sum() };
    let (altered, unchanged, updated, kept) =
        (stats(|k| k.altered), stats(|k| k.unchanged), stats(|k| k.updated), stats(|k| k.kept));
    let report = Report {
        source: args.source.display().to_string(),
        backend: db.backend().to_owned(),
        dry_run: args.dry_run,
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        seconds,
        documents: total_documents,
        documents_per_second: total_documents as f64 / seconds.max(1e-9),
        rows_inserted: inserted_total.total(),
        rows_updated: inserted_total.updated,
        timings,
        skipped,
        altered,
        unchanged,
        updated,
        kept,
        selected_stores: selected.iter().flatten().map(ToString::to_string).collect(),
        stores: summaries,
        stores_without_admin,
        entries,
        verify,
    };
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("import-report-{}.json", started_at.format("%Y%m%dT%H%M%SZ"))));
    let json = serde_json::to_vec_pretty(&report)?;
    std::fs::write(&report_path, json).with_context(|| format!("writing the report {}", report_path.display()))?;
    if stopped {
        bail!(
            "stopped after {} batches (--stop-after-batches); run again to finish",
            brake.batches.load(Ordering::Relaxed)
        );
    }
    Ok(Outcome { report, verified, report_path: Some(report_path) })
}

/// A `storeId` field as the prefix it names (lower-cased).
fn convert_store_field(v: &Bson) -> Option<String> {
    match v {
        Bson::String(s) if !s.trim().is_empty() => Some(s.trim().to_lowercase()),
        _ => None,
    }
}

fn skip_doc(doc: &LegacyDoc, store: Option<&StoreId>, kind: Kind, reason: Reason, detail: String) -> Entry {
    Entry {
        store: store.map(ToString::to_string),
        database: doc.database.to_string(),
        collection: doc.collection.to_string(),
        kind: Some(kind),
        legacy_id: Some(doc.key()),
        action: Action::Skipped,
        reason,
        detail,
        count: None,
        amount_delta: None,
    }
}

fn unreadable_entry(
    database: &str,
    collection: &str,
    store: Option<&StoreId>,
    kind: Kind,
    u: read::Unreadable,
) -> Entry {
    Entry {
        store: store.map(ToString::to_string),
        database: database.to_owned(),
        collection: collection.to_owned(),
        kind: Some(kind),
        legacy_id: None,
        action: Action::Skipped,
        reason: Reason::UnreadableDocument,
        detail: format!("document {} of the file cannot be read: {}", u.position, u.error),
        count: None,
        amount_delta: None,
    }
}

/// A store's documents, read, converted and classified.
struct Prepared {
    /// The rows to insert.
    converted: Converted,
    /// The rows to write over, and what became of the rest.
    delta: Delta,
    /// What the source holds per kind (documents read; unreadable ones are added by the caller).
    sources: Vec<(Kind, SourceStats)>,
    unreadable: Vec<Entry>,
    read_seconds: f64,
    convert_seconds: f64,
}

/// Reads a store's collections and converts them (blocking: file IO and CPU).
fn prepare(
    store: StoreId,
    decimals: u32,
    mut input: StoreInput,
    files: Vec<(Arc<str>, Kind, String, SourceFile)>,
    existing: ExistingKeys,
    state: ImportState,
) -> anyhow::Result<Prepared> {
    let reading = Instant::now();
    let mut unreadable = Vec::new();
    for (database, kind, name, file) in files {
        let collection: Arc<str> = name.clone().into();
        let (docs, bad) = read::read_all(&file)?;
        unreadable.extend(bad.into_iter().map(|u| unreadable_entry(&database, &name, Some(&store), kind, u)));
        input.docs.entry(kind).or_default().extend(docs.into_iter().map(|doc| LegacyDoc {
            database: database.clone(),
            collection: collection.clone(),
            doc,
        }));
    }
    let read_seconds = reading.elapsed().as_secs_f64();
    // What the source holds, straight from the documents.
    let sources = Kind::ALL
        .iter()
        .map(|&kind| {
            let docs = input.docs.get(&kind).map(Vec::as_slice).unwrap_or(&[]);
            let field = match kind {
                Kind::Sales => Some("total"),
                Kind::Payments => Some("amount"),
                _ => None,
            };
            let money = field.map_or(0, |f| {
                docs.iter()
                    .filter_map(|d| d.doc.get(f))
                    .filter_map(|v| decimal::scale_bson(v, decimals, tills_domain::Money::MAX).ok())
                    .map(|x| x.value)
                    .sum()
            });
            (kind, SourceStats { count: docs.len() as i64, money })
        })
        .collect();
    let converting = Instant::now();
    let mut converted = convert::convert(&store, decimals, &input, &existing);
    // A store an earlier run imported: what changed since, and what did not.
    let delta = if state.rows.is_empty() {
        Delta::default()
    } else {
        let origins: Origins = input
            .docs
            .iter()
            .flat_map(|(kind, docs)| {
                docs.iter().map(|d| ((*kind, d.key()), (d.database.clone(), d.collection.clone())))
            })
            .chain(
                input
                    .shared_categories
                    .iter()
                    .map(|d| ((Kind::Categories, d.key()), (d.database.clone(), d.collection.clone()))),
            )
            .collect();
        delta::classify(&store, &mut converted, &state, &origins)
    };
    let convert_seconds = converting.elapsed().as_secs_f64();
    Ok(Prepared { converted, delta, sources, unreadable, read_seconds, convert_seconds })
}

/// A store whose batches are being written.
struct Inflight {
    store: StoreId,
    summary: StoreSummary,
    /// Its documents updated or kept (refused replacements turn from updated to kept).
    delta_entries: Vec<Entry>,
    max_seq: Option<i64>,
    /// Documents done once it is written.
    end: u64,
    task: tokio::task::JoinHandle<(Result<Written, WriteError>, f64)>,
}

/// Waits for a store's batches, then raises its invoice counter and drops its cached products
/// when its catalog changed. Returns its summary and whether the run stopped.
async fn finish(
    f: Inflight,
    db: &Arc<dyn Store>,
    timings: &mut Timings,
    inserted: &mut ImportWritten,
    entries: &mut Vec<Entry>,
    cache: Option<&dyn ProductCacheHook>,
) -> anyhow::Result<(StoreSummary, bool)> {
    let Inflight { store, mut summary, mut delta_entries, max_seq, end: _, task } = f;
    let (result, seconds) = task.await.map_err(|e| anyhow::anyhow!("writing store {store}: {e}"))?;
    timings.write += seconds;
    let (written, stopped) = match result {
        Ok(w) => (w, false),
        Err(WriteError::Stopped(w)) => (w, true),
        Err(WriteError::Failed(e)) => return Err(e.context(format!("importing store {store}"))),
    };
    summary.inserted = written.rows;
    inserted.add(&written.rows);
    // Replacements the database refused: not written, the next run tries again.
    for (kind, legacy_id, why) in &written.refused {
        if let Some(e) = delta_entries
            .iter_mut()
            .find(|e| e.kind == Some(*kind) && e.action == Action::Updated && e.legacy_id.as_deref() == Some(legacy_id))
        {
            e.action = Action::Kept;
            e.reason = Reason::NotWritten;
            e.detail = format!(
                "changed in the legacy system, but the change could not be written ({why}); Tills' row stays as it was"
            );
        }
        if let Some(k) = summary.collections.get_mut(kind) {
            k.updated = k.updated.saturating_sub(1);
            k.kept += 1;
        }
    }
    entries.extend(delta_entries);
    if !stopped && let Some(n) = max_seq {
        summary.invoice_counter = Some(db.raise_invoice_counter(&store, n).await?);
    }
    // Its cached products, on every instance of the deployment.
    if written.catalog
        && let Some(cache) = cache
    {
        cache.invalidate_store(&store).await;
        summary.cache_invalidated = true;
    }
    Ok((summary, stopped))
}

/// How many stores are read, converted and classified ahead of the one being written.
const LOOKAHEAD: usize = 2;

/// A store on its way: its documents being read and converted, or nothing to do (the store is
/// not in Tills and --create-stores was not given).
struct Job {
    store: StoreId,
    store_documents: u64,
    work: Work,
}

enum Work {
    /// Entries saying why the store's documents were not imported.
    Missing(Vec<Entry>),
    Import(Box<StoreJob>),
}

struct StoreJob {
    mapped: MapLine,
    part_names: Vec<String>,
    existing_store: Option<tills_storage::StoreRecord>,
    currency_code: String,
    create: Option<Currency>,
    task: tokio::task::JoinHandle<anyhow::Result<Prepared>>,
}
