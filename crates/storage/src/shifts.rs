//! Cash-drawer shifts: opened with a float, cash moved in and out, closed with a count (the Z).
//!
//! At most one open shift per terminal and per cashier (partial unique indexes). A close runs in
//! one transaction that holds the shift's row: it reads the shift's sales, refunds, voids and
//! movements, lets the caller's rule compute the figures from them, takes the store's next Z
//! number and freezes the report in the row. A closed shift, and any cash movement, never
//! changes again (triggers, for every role).

use async_trait::async_trait;
use tills_domain::{CashMovementKind, Conflict, Id, PaymentMethod, ShiftStatus, StoreId};

use crate::audit::{NewAudit, insert_audit};
use crate::backend::{PgStore, SqliteStore, for_each_backend};
use crate::journal::{self, JournalSigner};
use crate::sales::DaySale;
use crate::{Result, StorageError, Timestamp};

/// A shift as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftRecord {
    pub id: Id,
    pub terminal: String,
    pub cashier_id: Id,
    pub opening_float: i64,
    pub opened_at: Timestamp,
    pub status: ShiftStatus,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<Id>,
    pub z_number: Option<i64>,
    pub expected_cash: Option<i64>,
    pub counted_cash: Option<i64>,
    /// Counted − expected: above 0 over, below 0 short.
    pub difference: Option<i64>,
    /// Count per denomination (minor units → count), when given.
    pub denominations: Option<serde_json::Value>,
    pub note: Option<String>,
    /// Who accepted a difference beyond the store's tolerance.
    pub approved_by: Option<Id>,
    /// The figures at the close, as they were then.
    pub report: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct NewShift {
    pub id: Id,
    pub terminal: String,
    pub cashier_id: Id,
    pub opening_float: i64,
    pub audit: NewAudit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CashMovementRecord {
    pub id: Id,
    pub shift_id: Id,
    pub kind: CashMovementKind,
    pub amount: i64,
    pub reason: String,
    pub created_by: Option<Id>,
    pub approved_by: Option<Id>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewCashMovement {
    pub id: Id,
    pub kind: CashMovementKind,
    pub amount: i64,
    pub reason: String,
    pub created_by: Option<Id>,
    pub approved_by: Option<Id>,
    pub audit: NewAudit,
}

/// What happened in a shift, for its X and Z reports.
#[derive(Debug, Clone, Default)]
pub struct ShiftActivity {
    /// The sales made in the shift (voided ones included, with their status).
    pub sales: Vec<DaySale>,
    /// (method, amount) taken for the shift's sales that are not voided.
    pub payments: Vec<(PaymentMethod, i64)>,
    /// (refund total, its payouts) of the refunds made in the shift.
    pub refunds: Vec<RefundPaid>,
    /// The totals of the sales voided in the shift.
    pub voids: Vec<i64>,
    pub movements: Vec<CashMovementRecord>,
}

/// What a close records besides the figures.
#[derive(Debug, Clone)]
pub struct ShiftClose {
    pub closed_by: Option<Id>,
    pub counted_cash: i64,
    pub denominations: Option<serde_json::Value>,
    pub note: Option<String>,
    pub approved_by: Option<Id>,
    pub audit: NewAudit,
}

/// The figures a close freezes: the expected cash and the report.
#[derive(Debug, Clone)]
pub struct Closing {
    pub expected_cash: i64,
    pub report: serde_json::Value,
}

/// The rule that turns a shift's activity into its figures, run inside the close's transaction.
/// It may refuse the close (an error is returned as it is).
pub type CloseRule<'a> = &'a (dyn Fn(&ShiftRecord, &ShiftActivity) -> Result<Closing> + Send + Sync);

#[derive(Debug, Clone, Default)]
pub struct ShiftFilter {
    pub status: Option<ShiftStatus>,
    pub cashier_id: Option<Id>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Keyset for newest-first order: (opened_at, id).
    pub before: Option<(Timestamp, Id)>,
    pub limit: i64,
}

#[async_trait]
pub trait ShiftRepo {
    /// Opens a shift: `Conflict(TerminalHasOpenShift | CashierHasOpenShift)` when one is open.
    async fn open_shift(&self, store: &StoreId, shift: NewShift) -> Result<ShiftRecord>;
    async fn get_shift(&self, store: &StoreId, id: Id) -> Result<Option<ShiftRecord>>;
    /// The cashier's open shift, if any.
    async fn open_shift_of(&self, store: &StoreId, cashier: Id) -> Result<Option<ShiftRecord>>;
    /// Newest first.
    async fn list_shifts(&self, store: &StoreId, filter: &ShiftFilter) -> Result<Vec<ShiftRecord>>;
    /// Records a pay-in, pay-out or no-sale in an open shift (`Conflict(ShiftClosed)` otherwise).
    async fn add_cash_movement(&self, store: &StoreId, shift: Id, m: NewCashMovement) -> Result<CashMovementRecord>;
    async fn shift_activity(&self, store: &StoreId, shift: Id) -> Result<ShiftActivity>;
    /// Closes an open shift with the figures `rule` computes from its activity, read while the
    /// shift's row is held: no sale can join it meanwhile. `Conflict(ShiftClosed)` when it was
    /// closed already.
    /// The close appends its journal entry and seals the chain's head with a `z` closure signed
    /// by `signer`, in the same transaction.
    async fn close_shift(
        &self,
        store: &StoreId,
        id: Id,
        close: ShiftClose,
        rule: CloseRule<'_>,
        signer: &dyn JournalSigner,
    ) -> Result<ShiftRecord>;
}

#[derive(sqlx::FromRow)]
struct ShiftRow {
    id: Id,
    terminal: String,
    cashier_id: Id,
    opening_float: i64,
    opened_at: Timestamp,
    #[sqlx(try_from = "String")]
    status: ShiftStatus,
    closed_at: Option<Timestamp>,
    closed_by: Option<Id>,
    z_number: Option<i64>,
    expected_cash: Option<i64>,
    counted_cash: Option<i64>,
    difference: Option<i64>,
    denominations: Option<String>,
    note: Option<String>,
    approved_by: Option<Id>,
    report: Option<String>,
}

fn json_column(text: Option<String>) -> Result<Option<serde_json::Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(StorageError::corrupt)).transpose()
}

impl TryFrom<ShiftRow> for ShiftRecord {
    type Error = StorageError;
    fn try_from(r: ShiftRow) -> Result<Self> {
        Ok(ShiftRecord {
            id: r.id,
            terminal: r.terminal,
            cashier_id: r.cashier_id,
            opening_float: r.opening_float,
            opened_at: r.opened_at,
            status: r.status,
            closed_at: r.closed_at,
            closed_by: r.closed_by,
            z_number: r.z_number,
            expected_cash: r.expected_cash,
            counted_cash: r.counted_cash,
            difference: r.difference,
            denominations: json_column(r.denominations)?,
            note: r.note,
            approved_by: r.approved_by,
            report: json_column(r.report)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MovementRow {
    id: Id,
    shift_id: Id,
    #[sqlx(try_from = "String")]
    kind: CashMovementKind,
    amount: i64,
    reason: String,
    created_by: Option<Id>,
    approved_by: Option<Id>,
    created_at: Timestamp,
}

impl From<MovementRow> for CashMovementRecord {
    fn from(r: MovementRow) -> Self {
        CashMovementRecord {
            id: r.id,
            shift_id: r.shift_id,
            kind: r.kind,
            amount: r.amount,
            reason: r.reason,
            created_by: r.created_by,
            approved_by: r.approved_by,
            created_at: r.created_at,
        }
    }
}

const INSERT_SHIFT: &str = "INSERT INTO shifts (store_id, id, terminal, cashier_id, opening_float, opened_at, status) \
     VALUES ($1, $2, $3, $4, $5, $6, 'open')";
const SELECT_SHIFT: &str = "SELECT id, terminal, cashier_id, opening_float, opened_at, status, closed_at, closed_by, \
     z_number, expected_cash, counted_cash, difference, denominations, note, approved_by, report \
     FROM shifts WHERE store_id = $1 AND id = $2";
const OPEN_SHIFT_OF: &str = "SELECT id, terminal, cashier_id, opening_float, opened_at, status, closed_at, closed_by, \
     z_number, expected_cash, counted_cash, difference, denominations, note, approved_by, report \
     FROM shifts WHERE store_id = $1 AND cashier_id = $2 AND status = 'open'";
const OPEN_SHIFT_ON: &str = "SELECT id FROM shifts WHERE store_id = $1 AND terminal = $2 AND status = 'open'";
const LIST_SHIFTS: &str = "SELECT id, terminal, cashier_id, opening_float, opened_at, status, closed_at, closed_by, \
     z_number, expected_cash, counted_cash, difference, denominations, note, approved_by, report \
     FROM shifts WHERE store_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR cashier_id = $3) \
     AND ($4 IS NULL OR opened_at >= $4) AND ($5 IS NULL OR opened_at < $5) \
     AND ($6 IS NULL OR opened_at < $6 OR (opened_at = $6 AND id < $7)) \
     ORDER BY opened_at DESC, id DESC LIMIT $8";
const INSERT_MOVEMENT: &str = "INSERT INTO cash_movements (store_id, id, shift_id, kind, amount, reason, created_by, \
     approved_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const SHIFT_MOVEMENTS: &str = "SELECT id, shift_id, kind, amount, reason, created_by, approved_by, created_at \
     FROM cash_movements WHERE store_id = $1 AND shift_id = $2 ORDER BY created_at, id";
const SHIFT_SALES: &str = "SELECT invoice_number, invoice_seq, status, subtotal, discount_total, tax_total, total, \
     change FROM sales WHERE store_id = $1 AND shift_id = $2";
const SHIFT_PAYMENTS: &str = "SELECT p.method, p.amount FROM payments p \
     JOIN sales s ON s.store_id = p.store_id AND s.id = p.sale_id \
     WHERE p.store_id = $1 AND s.shift_id = $2 AND s.status <> 'voided' AND p.refund_id IS NULL";
const SHIFT_REFUNDS: &str = "SELECT id, total FROM refunds WHERE store_id = $1 AND shift_id = $2";
const SHIFT_REFUND_PAYMENTS: &str = "SELECT p.refund_id, p.method, p.amount FROM payments p \
     JOIN refunds r ON r.store_id = p.store_id AND r.id = p.refund_id WHERE p.store_id = $1 AND r.shift_id = $2";
/// Returns without a receipt count as refunds.
const SHIFT_RETURNS: &str = "SELECT id, total FROM returns WHERE store_id = $1 AND shift_id = $2";
const SHIFT_RETURN_PAYOUTS: &str = "SELECT p.return_id, p.method, p.amount FROM return_payouts p \
     JOIN returns r ON r.store_id = p.store_id AND r.id = p.return_id WHERE p.store_id = $1 AND r.shift_id = $2";
const SHIFT_VOIDS: &str = "SELECT total FROM sales WHERE store_id = $1 AND void_shift_id = $2";
const NEXT_Z: &str = "INSERT INTO z_counters (store_id, last_number) VALUES ($1, 1) \
     ON CONFLICT (store_id) DO UPDATE SET last_number = z_counters.last_number + 1 RETURNING last_number";
const CLOSE_SHIFT: &str = "UPDATE shifts SET status = 'closed', closed_at = $3, closed_by = $4, z_number = $5, \
     expected_cash = $6, counted_cash = $7, difference = $8, denominations = $9, note = $10, approved_by = $11, \
     report = $12 WHERE store_id = $1 AND id = $2 AND status = 'open'";

impl PgStore {
    /// Holds the shift's row: sales that claim it wait for the close, and the close for them.
    const LOCK_SHIFT: &'static str = "SELECT id, terminal, cashier_id, opening_float, opened_at, status, closed_at, \
         closed_by, z_number, expected_cash, counted_cash, difference, denominations, note, approved_by, report \
         FROM shifts WHERE store_id = $1 AND id = $2 FOR UPDATE";
}

impl SqliteStore {
    /// A write transaction already holds SQLite's one write lock.
    const LOCK_SHIFT: &'static str = SELECT_SHIFT;
}

/// The payouts of each refund, joined to its total.
/// A refund's total and its payouts by method.
type RefundPaid = (i64, Vec<(PaymentMethod, i64)>);

fn refunds_with_payouts(refunds: Vec<(Id, i64)>, payouts: Vec<(Id, String, i64)>) -> Result<Vec<RefundPaid>> {
    refunds
        .into_iter()
        .map(|(id, total)| {
            let mine = payouts.iter().filter(|p| p.0 == id).map(|p| Ok((method(&p.1)?, p.2)));
            Ok((total, mine.collect::<Result<_>>()?))
        })
        .collect()
}

fn method(text: &str) -> Result<PaymentMethod> {
    text.parse().map_err(|e: tills_domain::InvalidValue| StorageError::Corrupt(format!("payments.method: {e}")))
}

macro_rules! impl_shift_repo {
    ($backend:ty, $db:ty) => {
        impl $backend {
            pub(crate) async fn load_shift(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                id: Id,
            ) -> Result<Option<ShiftRecord>> {
                let row: Option<ShiftRow> =
                    sqlx::query_as(SELECT_SHIFT).bind(store.as_str()).bind(id).fetch_optional(&mut **tx).await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn read_activity(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                shift: Id,
            ) -> Result<ShiftActivity> {
                let sales: Vec<DaySale> =
                    sqlx::query_as(SHIFT_SALES).bind(store.as_str()).bind(shift).fetch_all(&mut **tx).await?;
                let payments: Vec<(String, i64)> =
                    sqlx::query_as(SHIFT_PAYMENTS).bind(store.as_str()).bind(shift).fetch_all(&mut **tx).await?;
                let mut refunds: Vec<(Id, i64)> =
                    sqlx::query_as(SHIFT_REFUNDS).bind(store.as_str()).bind(shift).fetch_all(&mut **tx).await?;
                let mut payouts: Vec<(Id, String, i64)> =
                    sqlx::query_as(SHIFT_REFUND_PAYMENTS).bind(store.as_str()).bind(shift).fetch_all(&mut **tx).await?;
                let returns: Vec<(Id, i64)> =
                    sqlx::query_as(SHIFT_RETURNS).bind(store.as_str()).bind(shift).fetch_all(&mut **tx).await?;
                let return_payouts: Vec<(Id, String, i64)> =
                    sqlx::query_as(SHIFT_RETURN_PAYOUTS).bind(store.as_str()).bind(shift).fetch_all(&mut **tx).await?;
                refunds.extend(returns);
                payouts.extend(return_payouts);
                let voids: Vec<i64> =
                    sqlx::query_scalar(SHIFT_VOIDS).bind(store.as_str()).bind(shift).fetch_all(&mut **tx).await?;
                let movements: Vec<MovementRow> =
                    sqlx::query_as(SHIFT_MOVEMENTS).bind(store.as_str()).bind(shift).fetch_all(&mut **tx).await?;
                Ok(ShiftActivity {
                    sales,
                    payments: payments.into_iter().map(|(m, a)| Ok((method(&m)?, a))).collect::<Result<_>>()?,
                    refunds: refunds_with_payouts(refunds, payouts)?,
                    voids,
                    movements: movements.into_iter().map(Into::into).collect(),
                })
            }
        }

        #[async_trait]
        impl ShiftRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn open_shift(&self, store: &StoreId, s: NewShift) -> Result<ShiftRecord> {
                let mut tx = self.scoped(store, true).await?;
                // Named conflicts first; the unique indexes stop a race between two opens.
                if sqlx::query_scalar::<_, Id>(OPEN_SHIFT_ON)
                    .bind(store.as_str())
                    .bind(&s.terminal)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some()
                {
                    return Err(StorageError::Conflict(Conflict::TerminalHasOpenShift));
                }
                let mine: Option<ShiftRow> = sqlx::query_as(OPEN_SHIFT_OF)
                    .bind(store.as_str())
                    .bind(s.cashier_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if mine.is_some() {
                    return Err(StorageError::Conflict(Conflict::CashierHasOpenShift));
                }
                sqlx::query(INSERT_SHIFT)
                    .bind(store.as_str())
                    .bind(s.id)
                    .bind(&s.terminal)
                    .bind(s.cashier_id)
                    .bind(s.opening_float)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await
                    .map_err(open_conflict)?;
                insert_audit!(tx, store, &s.audit)?;
                let row: ShiftRow =
                    sqlx::query_as(SELECT_SHIFT).bind(store.as_str()).bind(s.id).fetch_one(&mut *tx).await?;
                let record: ShiftRecord = row.try_into()?;
                let content = journal::shift_open_content(&record);
                Self::append_journal(&mut tx, store, journal::kind::SHIFT_OPEN, Some(s.id), &content, record.opened_at)
                    .await?;
                tx.commit().await?;
                Ok(record)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn get_shift(&self, store: &StoreId, id: Id) -> Result<Option<ShiftRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<ShiftRow> =
                    sqlx::query_as(SELECT_SHIFT).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn open_shift_of(&self, store: &StoreId, cashier: Id) -> Result<Option<ShiftRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<ShiftRow> =
                    sqlx::query_as(OPEN_SHIFT_OF).bind(store.as_str()).bind(cashier).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn list_shifts(&self, store: &StoreId, f: &ShiftFilter) -> Result<Vec<ShiftRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<ShiftRow> = sqlx::query_as(LIST_SHIFTS)
                    .bind(store.as_str())
                    .bind(f.status.map(ShiftStatus::as_str))
                    .bind(f.cashier_id)
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.before.map(|b| b.0))
                    .bind(f.before.map(|b| b.1))
                    .bind(f.limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn add_cash_movement(
                &self,
                store: &StoreId,
                shift: Id,
                m: NewCashMovement,
            ) -> Result<CashMovementRecord> {
                let now = tills_domain::now();
                let mut tx = self.scoped(store, true).await?;
                let held: Option<ShiftRow> =
                    sqlx::query_as(Self::LOCK_SHIFT).bind(store.as_str()).bind(shift).fetch_optional(&mut *tx).await?;
                match held {
                    None => return Err(StorageError::NotFound),
                    Some(s) if s.status != ShiftStatus::Open => {
                        return Err(StorageError::Conflict(Conflict::ShiftClosed));
                    }
                    Some(_) => {}
                }
                sqlx::query(INSERT_MOVEMENT)
                    .bind(store.as_str())
                    .bind(m.id)
                    .bind(shift)
                    .bind(m.kind.as_str())
                    .bind(m.amount)
                    .bind(&m.reason)
                    .bind(m.created_by)
                    .bind(m.approved_by)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(tx, store, &m.audit)?;
                let record = CashMovementRecord {
                    id: m.id,
                    shift_id: shift,
                    kind: m.kind,
                    amount: m.amount,
                    reason: m.reason,
                    created_by: m.created_by,
                    approved_by: m.approved_by,
                    created_at: now,
                };
                let content = journal::movement_content(&record);
                Self::append_journal(&mut tx, store, journal::kind::CASH_MOVEMENT, Some(m.id), &content, now).await?;
                tx.commit().await?;
                Ok(record)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn shift_activity(&self, store: &StoreId, shift: Id) -> Result<ShiftActivity> {
                let mut tx = self.scoped(store, false).await?;
                let activity = Self::read_activity(&mut tx, store, shift).await?;
                tx.commit().await?;
                Ok(activity)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn close_shift(
                &self,
                store: &StoreId,
                id: Id,
                c: ShiftClose,
                rule: CloseRule<'_>,
                signer: &dyn JournalSigner,
            ) -> Result<ShiftRecord> {
                let mut tx = self.scoped(store, true).await?;
                let held: Option<ShiftRow> =
                    sqlx::query_as(Self::LOCK_SHIFT).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                let shift: ShiftRecord = held.ok_or(StorageError::NotFound)?.try_into()?;
                if shift.status != ShiftStatus::Open {
                    return Err(StorageError::Conflict(Conflict::ShiftClosed));
                }
                let activity = Self::read_activity(&mut tx, store, id).await?;
                let closing = rule(&shift, &activity)?;
                let z: i64 = sqlx::query_scalar(NEXT_Z).bind(store.as_str()).fetch_one(&mut *tx).await?;
                let done = sqlx::query(CLOSE_SHIFT)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(tills_domain::now())
                    .bind(c.closed_by)
                    .bind(z)
                    .bind(closing.expected_cash)
                    .bind(c.counted_cash)
                    .bind(c.counted_cash - closing.expected_cash)
                    .bind(c.denominations.as_ref().map(|d| d.to_string()))
                    .bind(c.note.as_deref())
                    .bind(c.approved_by)
                    .bind(closing.report.to_string())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::Conflict(Conflict::ShiftClosed));
                }
                let mut audit = c.audit;
                audit.detail["zNumber"] = serde_json::json!(z);
                insert_audit!(tx, store, &audit)?;
                let row: ShiftRow =
                    sqlx::query_as(SELECT_SHIFT).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                let record: ShiftRecord = row.try_into()?;
                let content = journal::shift_close_content(&record);
                let at = record.closed_at.unwrap_or_else(tills_domain::now);
                Self::append_journal(&mut tx, store, journal::kind::SHIFT_CLOSE, Some(id), &content, at).await?;
                Self::write_closure(&mut tx, store, "z", Some((id, z)), signer).await?;
                tx.commit().await?;
                Ok(record)
            }
        }
    };
}

/// A second open shift that slipped past the checks (two opens at once) hits a unique index.
fn open_conflict(e: sqlx::Error) -> StorageError {
    let text = match &e {
        sqlx::Error::Database(db) => format!("{} {}", db.constraint().unwrap_or(""), db.message()),
        _ => String::new(),
    };
    if text.contains("shifts_open_terminal") || text.contains("shifts.terminal") {
        StorageError::Conflict(Conflict::TerminalHasOpenShift)
    } else if text.contains("shifts_open_cashier") || text.contains("shifts.cashier_id") {
        StorageError::Conflict(Conflict::CashierHasOpenShift)
    } else {
        e.into()
    }
}

for_each_backend!(impl_shift_repo);
