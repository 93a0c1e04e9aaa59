//! The journal's key and its verification (docs/journal.md).
//!
//! [`JournalKey`] is the deployment's Ed25519 key: it signs closures (Z closes and day closes,
//! written by storage in the close's transaction) and its public key is served to auditors. It
//! comes from configuration (`TILLS_JOURNAL_KEY`, `TILLS_JOURNAL_KEY_FILE`), never the database.
//!
//! [`verify`] recomputes a store's chain from its entries and from the rows they describe, and
//! checks every closure's signature and sealed head: it names the first entry where anything
//! disagrees.

use std::collections::HashMap;

use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;
use tills_domain::{Id, StoreId};
use tills_storage::{
    GENESIS, JournalClosure, JournalEntry, JournalRange, JournalSigner, Store, chain_hash, closure_message, hex,
};

use crate::services::ServiceResult;

/// The deployment's journal key.
pub struct JournalKey {
    signing: SigningKey,
}

impl std::fmt::Debug for JournalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JournalKey({})", self.key_id())
    }
}

impl JournalKey {
    /// From a 32-byte seed written as 64 hex digits or in base64.
    pub fn from_seed_text(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0)).collect::<Vec<u8>>()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| "the journal key is 32 bytes as 64 hex digits or base64".to_owned())?
        };
        let seed: [u8; 32] =
            bytes.try_into().map_err(|_| "the journal key is 32 bytes as 64 hex digits or base64".to_owned())?;
        Ok(Self { signing: SigningKey::from_bytes(&seed) })
    }

    /// A fresh key (tests, demo, a first start without one configured).
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self { signing: SigningKey::from_bytes(&seed) }
    }

    /// The seed as 64 hex digits (to keep a generated key in a file).
    pub fn seed_hex(&self) -> String {
        hex(&self.signing.to_bytes())
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn public_hex(&self) -> String {
        hex(self.public_key().as_bytes())
    }
}

/// A key's id: the first 8 bytes of its public key, in hex.
pub fn key_id_of(public: &VerifyingKey) -> String {
    hex(&public.as_bytes()[..8])
}

impl JournalSigner for JournalKey {
    fn key_id(&self) -> String {
        key_id_of(&self.public_key())
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signing.sign(message).to_bytes().to_vec()
    }
}

/// What disagrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A row (sale, refund, shift, …) differs from what its entry recorded.
    ChangedRow,
    /// The row an entry records is gone.
    MissingRow,
    /// A sequence number is missing, or a money row has no entry.
    MissingEntry,
    /// An entry does not follow the one before it (moved, swapped or removed).
    Reordered,
    /// An entry's hash is not the hash of its content.
    AlteredEntry,
    /// A closure's signature does not verify with the journal's key.
    BadSignature,
    /// The chain at a closure's head is not the head the closure sealed.
    SealBroken,
}

/// The first disagreement (and the others found, up to a limit).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub kind: ProblemKind,
    /// The entry's sequence number (for a closure: the head it sealed).
    pub seq: Option<i64>,
    /// The entry's kind.
    pub entry_kind: Option<String>,
    /// The row's id (the sale, refund, … the entry records).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub ref_id: Option<Id>,
    /// The closure's number, for closure problems.
    pub closure: Option<i64>,
    pub detail: String,
}

/// A verification's result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub intact: bool,
    /// Entries checked.
    pub entries: i64,
    /// Closures whose signature and head were checked.
    pub closures: i64,
    /// The first and last sequence numbers checked.
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// The first disagreement, in the chain's order.
    pub first_problem: Option<Problem>,
    /// Every disagreement found (at most 100).
    pub problems: Vec<Problem>,
}

const PAGE: i64 = 500;
const MAX_PROBLEMS: usize = 100;

/// Verifies a store's journal within `range` (all of it when both ends are open).
pub async fn verify(
    db: &dyn Store,
    store: &StoreId,
    range: &JournalRange,
    keys: &[VerifyingKey],
) -> ServiceResult<Verification> {
    let whole = range.from.is_none() && range.to.is_none();
    let closures = db.journal_closures(store, range).await?;
    let wanted: std::collections::HashSet<i64> = closures.iter().map(|c| c.head_seq).collect();
    let mut sealed: HashMap<i64, Vec<u8>> = HashMap::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut count = 0i64;
    let (mut first_seq, mut last_seq) = (None, None);
    // What the next entry should be and follow.
    let mut expected: Option<(i64, Vec<u8>)> = if whole { Some((1, GENESIS.to_vec())) } else { None };
    let mut after = 0i64;
    loop {
        let page = db.journal_entries(store, range, after, PAGE).await?;
        if page.is_empty() {
            break;
        }
        if expected.is_none()
            && let Some(first) = page.first()
        {
            // A range starts after the entry before it, as stored (its own check is its range's).
            expected = Some(match first.seq {
                1 => (1, GENESIS.to_vec()),
                n => match db.journal_entry(store, n - 1).await? {
                    Some(prev) => (n, prev.hash),
                    None => (n, first.prev_hash.clone()),
                },
            });
        }
        let rebuilt = db.journal_rebuild(store, &page).await?;
        for (e, fresh) in page.iter().zip(rebuilt) {
            count += 1;
            first_seq.get_or_insert(e.seq);
            last_seq = Some(e.seq);
            if let Some((seq, prev)) = &expected {
                if e.seq != *seq {
                    let mut p = problem(
                        ProblemKind::MissingEntry,
                        e,
                        format!("entry {seq} is missing: the next entry is {}", e.seq),
                    );
                    p.seq = Some(*seq);
                    problems.push(p);
                } else if e.prev_hash != *prev {
                    problems.push(problem(
                        ProblemKind::Reordered,
                        e,
                        format!("entry {} does not follow entry {}: moved, swapped or rewritten", e.seq, e.seq - 1),
                    ));
                }
            }
            let own = chain_hash(&e.prev_hash, e.seq, &e.content);
            if own[..] != e.hash[..] {
                problems.push(problem(
                    ProblemKind::AlteredEntry,
                    e,
                    format!("entry {}'s hash is not the hash of its content", e.seq),
                ));
            }
            match fresh {
                None => problems.push(problem(
                    ProblemKind::MissingRow,
                    e,
                    format!("the {} that entry {} records is gone", e.kind, e.seq),
                )),
                Some(c) if c != e.content => problems.push(problem(
                    ProblemKind::ChangedRow,
                    e,
                    format!("the {} that entry {} records differs from it now", e.kind, e.seq),
                )),
                Some(_) => {}
            }
            // The chain as it should continue: from what this entry's hash should be.
            let recomputed = expected
                .as_ref()
                .map(|(_, prev)| chain_hash(prev, e.seq, &e.content).to_vec())
                .unwrap_or_else(|| own.to_vec());
            if wanted.contains(&e.seq) {
                sealed.insert(e.seq, recomputed.clone());
            }
            expected = Some((e.seq + 1, recomputed));
            after = e.seq;
        }
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    let mut closures_checked = 0;
    for c in &closures {
        closures_checked += 1;
        if let Some(p) = check_closure(db, store, c, keys, &sealed).await? {
            problems.push(p);
        }
    }
    if whole {
        for row in db.journal_unjournaled(store).await? {
            problems.push(Problem {
                kind: ProblemKind::MissingEntry,
                seq: None,
                entry_kind: Some(row.kind.to_owned()),
                ref_id: Some(row.id),
                closure: None,
                detail: format!("the {} {} has no journal entry", row.kind, row.id.simple()),
            });
        }
    }
    // First in the chain's order (rows without an entry last).
    problems.sort_by_key(|p| (p.seq.is_none(), p.seq.unwrap_or(i64::MAX)));
    problems.truncate(MAX_PROBLEMS);
    Ok(Verification {
        intact: problems.is_empty(),
        entries: count,
        closures: closures_checked,
        first_seq,
        last_seq,
        first_problem: problems.first().cloned(),
        problems,
    })
}

/// Journals every row of the store written before the journal existed (`tills journal adopt`),
/// `batch` rows a transaction, oldest first; answers how many.
pub async fn adopt(db: &dyn Store, store: &StoreId, batch: usize) -> ServiceResult<usize> {
    let mut total = 0;
    loop {
        match db.journal_adopt(store, batch).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

fn problem(kind: ProblemKind, e: &JournalEntry, detail: String) -> Problem {
    Problem { kind, seq: Some(e.seq), entry_kind: Some(e.kind.clone()), ref_id: e.ref_id, closure: None, detail }
}

async fn check_closure(
    db: &dyn Store,
    store: &StoreId,
    c: &JournalClosure,
    keys: &[VerifyingKey],
    sealed: &HashMap<i64, Vec<u8>>,
) -> ServiceResult<Option<Problem>> {
    let at = |kind, detail: String| Problem {
        kind,
        seq: Some(c.head_seq),
        entry_kind: None,
        ref_id: c.shift_id,
        closure: Some(c.seq),
        detail,
    };
    let key = keys.iter().find(|k| key_id_of(k) == c.key_id);
    let signed = match (key, Signature::from_slice(&c.signature)) {
        (Some(key), Ok(sig)) => key.verify(closure_message(store, c).as_bytes(), &sig).is_ok(),
        _ => false,
    };
    if !signed {
        return Ok(Some(at(
            ProblemKind::BadSignature,
            format!("closure {}'s signature does not verify with key {}", c.seq, c.key_id),
        )));
    }
    let head = match sealed.get(&c.head_seq) {
        Some(h) => Some(h.clone()),
        None if c.head_seq == 0 => Some(GENESIS.to_vec()),
        // A head outside the range: the entry as stored.
        None => db.journal_entry(store, c.head_seq).await?.map(|e| e.hash),
    };
    if head.as_deref() != Some(&c.head_hash[..]) {
        return Ok(Some(at(
            ProblemKind::SealBroken,
            format!("the chain at entry {} is not the head closure {} sealed", c.head_seq, c.seq),
        )));
    }
    Ok(None)
}
