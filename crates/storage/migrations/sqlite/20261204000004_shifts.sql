-- Shifts: a cashier's cash-drawer session on one terminal, from the opening float to the Z close
-- (see the PostgreSQL migration of the same name). SQLite's one writer serializes a sale and its
-- shift's close; triggers keep a closed shift and every cash movement as they were written.

ALTER TABLE stores ADD COLUMN require_shift INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stores ADD COLUMN cash_tolerance INTEGER NOT NULL DEFAULT 0 CHECK (cash_tolerance >= 0);
ALTER TABLE stores ADD COLUMN parked_cart_hours INTEGER NOT NULL DEFAULT 24
    CHECK (parked_cart_hours BETWEEN 1 AND 720);

CREATE TABLE shifts (
    store_id      TEXT NOT NULL REFERENCES stores (id),
    id            BLOB NOT NULL,
    terminal      TEXT NOT NULL,
    cashier_id    BLOB NOT NULL,
    opening_float INTEGER NOT NULL CHECK (opening_float >= 0),
    opened_at     TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    closed_at     TEXT,
    closed_by     BLOB,
    z_number      INTEGER,
    expected_cash INTEGER,
    counted_cash  INTEGER,
    difference    INTEGER,
    denominations TEXT,
    note          TEXT,
    approved_by   BLOB,
    report        TEXT,
    PRIMARY KEY (store_id, id),
    CONSTRAINT shifts_store_z UNIQUE (store_id, z_number)
) STRICT;
CREATE UNIQUE INDEX shifts_open_terminal ON shifts (store_id, terminal) WHERE status = 'open';
CREATE UNIQUE INDEX shifts_open_cashier ON shifts (store_id, cashier_id) WHERE status = 'open';
CREATE INDEX shifts_store_opened ON shifts (store_id, opened_at, id);

CREATE TABLE z_counters (
    store_id    TEXT PRIMARY KEY REFERENCES stores (id),
    last_number INTEGER NOT NULL
) STRICT;

CREATE TABLE cash_movements (
    store_id    TEXT NOT NULL,
    id          BLOB NOT NULL,
    shift_id    BLOB NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('pay_in', 'pay_out', 'no_sale')),
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    reason      TEXT NOT NULL,
    created_by  BLOB,
    approved_by BLOB,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, shift_id) REFERENCES shifts (store_id, id)
) STRICT;
CREATE INDEX cash_movements_store_shift ON cash_movements (store_id, shift_id, created_at);

ALTER TABLE sales ADD COLUMN shift_id BLOB;
ALTER TABLE sales ADD COLUMN void_shift_id BLOB;
CREATE INDEX sales_store_shift ON sales (store_id, shift_id) WHERE shift_id IS NOT NULL;
CREATE INDEX sales_store_void_shift ON sales (store_id, void_shift_id) WHERE void_shift_id IS NOT NULL;
ALTER TABLE refunds ADD COLUMN shift_id BLOB;
CREATE INDEX refunds_store_shift ON refunds (store_id, shift_id) WHERE shift_id IS NOT NULL;

CREATE TRIGGER shifts_closed_no_update BEFORE UPDATE ON shifts WHEN OLD.status = 'closed'
BEGIN
    SELECT RAISE(ABORT, 'a closed shift never changes');
END;
CREATE TRIGGER shifts_no_delete BEFORE DELETE ON shifts
BEGIN
    SELECT RAISE(ABORT, 'a closed shift never changes');
END;
CREATE TRIGGER cash_movements_no_update BEFORE UPDATE ON cash_movements
BEGIN
    SELECT RAISE(ABORT, 'cash movements never change');
END;
CREATE TRIGGER cash_movements_no_delete BEFORE DELETE ON cash_movements
BEGIN
    SELECT RAISE(ABORT, 'cash movements never change');
END;
